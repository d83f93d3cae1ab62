import type { Config } from '../config/config.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory-broker.js';

/** Thrown when the configured broker cannot be used; the message is one line for the operator. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/**
 * The one place that chooses where rooms live. Without `REDIS_URL`: the in-process MemoryBroker.
 * With it: refused until the Redis broker ships, so an operator who asked for a shared fleet never
 * gets isolated single-process rooms by surprise.
 */
export async function createBroker(
  config: Pick<Config, 'redisUrl'>,
  now: () => number = Date.now,
): Promise<Broker> {
  if (config.redisUrl !== null) {
    throw new BrokerUnavailableError(
      'REDIS_URL is set, but this release has no Redis broker yet; unset REDIS_URL to run a single instance',
    );
  }
  return new MemoryBroker(now);
}
