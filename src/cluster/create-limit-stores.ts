import type { Config } from '../config/config.js';
import type { AuthFailureTracker } from '../security/auth-failure-tracker.js';
import type { ConnectionCounter } from '../security/connection-counter.js';
import type { LimitStores } from '../security/limit-stores.js';
import type { RateLimiter } from '../security/token-bucket.js';
import type { Broker } from './broker.js';
import { RedisBroker } from './redis-broker.js';
import { createRedisLimitStores } from './redis-limit-stores.js';

/** The in-process stores every instance has (and falls back to when Redis fails). */
export interface LocalLimitStores {
  readonly ipRate: RateLimiter;
  readonly userRate: RateLimiter;
  readonly connections: ConnectionCounter;
  readonly authFailures: AuthFailureTracker;
}

/**
 * Where limits are counted: with the Redis broker, in Redis, so the fleet enforces one limit per
 * client; otherwise in this process.
 */
export function createLimitStores(
  config: Pick<
    Config,
    | 'rateLimitPerMinute'
    | 'rateLimitBurst'
    | 'maxConnectionsPerIp'
    | 'authMaxFailures'
    | 'authFailureWindow'
    | 'authBlockSeconds'
  >,
  broker: Broker,
  local: LocalLimitStores,
  now: () => number,
  onError: (error: unknown, context: string) => void,
): LimitStores {
  if (!(broker instanceof RedisBroker)) return local;
  return createRedisLimitStores({
    redis: broker.client,
    prefix: broker.prefix,
    instanceId: broker.instanceId,
    rate: { perMinute: config.rateLimitPerMinute, burst: config.rateLimitBurst },
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    auth: {
      maxFailures: config.authMaxFailures,
      windowSeconds: config.authFailureWindow,
      blockSeconds: config.authBlockSeconds,
    },
    local,
    now,
    onError,
  });
}
