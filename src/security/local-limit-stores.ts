import type { Config } from '../config/config.js';
import { AuthFailureTracker } from './auth-failure-tracker.js';
import { ConnectionCounter } from './connection-counter.js';
import type { LimitStores } from './limit-stores.js';
import { RateLimiter } from './token-bucket.js';

/** Most keys each in-process table tracks at once (a flood of new addresses cannot grow it further). */
const TRACKING_TABLE_MAX_KEYS = 100_000;

/** The settings the limits are made of. */
export type LimitConfig = Pick<
  Config,
  | 'rateLimitPerMinute'
  | 'rateLimitBurst'
  | 'maxConnectionsPerIp'
  | 'authMaxFailures'
  | 'authFailureWindow'
  | 'authBlockSeconds'
>;

/**
 * The in-process limit tables every instance has: its limits when it runs alone, and its fallback
 * when the shared (Redis) stores fail. Synchronous, so the message hot path allocates no promise.
 */
export interface LocalLimitStores extends LimitStores {
  readonly ipRate: RateLimiter;
  readonly userRate: RateLimiter;
  readonly connections: ConnectionCounter;
  readonly authFailures: AuthFailureTracker;
  /** Drops entries that no longer limit anyone (full buckets, expired windows and blocks). */
  sweep(): void;
}

/** Builds the in-process limit tables from the configuration. */
export function createLocalLimitStores(config: LimitConfig, now: () => number): LocalLimitStores {
  const rate = {
    perMinute: config.rateLimitPerMinute,
    burst: config.rateLimitBurst,
    maxKeys: TRACKING_TABLE_MAX_KEYS,
    now,
  };
  const ipRate = new RateLimiter(rate);
  const userRate = new RateLimiter(rate);
  const authFailures = new AuthFailureTracker({
    maxFailures: config.authMaxFailures,
    windowSeconds: config.authFailureWindow,
    blockSeconds: config.authBlockSeconds,
    maxEntries: TRACKING_TABLE_MAX_KEYS,
    now,
  });
  return {
    ipRate,
    userRate,
    connections: new ConnectionCounter(config.maxConnectionsPerIp),
    authFailures,
    sweep() {
      ipRate.sweep();
      userRate.sweep();
      authFailures.sweep();
    },
  };
}
