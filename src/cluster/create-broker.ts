import type { Config } from '../config/config.js';
import type { Broker } from './broker.js';
import { MemoryBroker } from './memory-broker.js';
import { RedisBroker } from './redis-broker.js';

/** Thrown when the configured broker cannot be reached at start-up; the message is one line. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/**
 * The one place that chooses where rooms live: the in-process MemoryBroker, or with `REDIS_URL` the
 * RedisBroker shared by every instance. An unreachable Redis stops start-up instead of silently
 * running a single isolated instance.
 */
export async function createBroker(
  config: Pick<Config, 'redisUrl' | 'redisKeyPrefix'>,
  options: { now?: () => number; onError?: (error: unknown, context: string) => void } = {},
): Promise<Broker> {
  if (config.redisUrl === null) return new MemoryBroker(options.now);
  try {
    return await RedisBroker.connect({
      url: config.redisUrl,
      prefix: config.redisKeyPrefix,
      ...(options.now ? { now: options.now } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
  } catch (error) {
    throw new BrokerUnavailableError(
      `cannot reach Redis at ${redactCredentials(config.redisUrl)}: ${(error as Error).message}`,
    );
  }
}

/** `redis://user:secret@host` → `redis://user:***@host`, for error messages and logs. */
export function redactCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
