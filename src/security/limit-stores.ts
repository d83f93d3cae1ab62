import type { AuthGate } from './auth-failure-tracker.js';

/** A value now (in-process stores) or later (stores shared through Redis). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Token buckets keyed by client; `take` is false when the message must be dropped. Every store
 * decides at once, in-process: a message never waits for Redis (a fleet syncs its counts in the
 * background), so a client is never refused for the latency of a shared store.
 */
export interface MessageRateStore {
  take(key: string): boolean;
}

/** Concurrent connections per key. `release` exactly once for each acquire that returned true. */
export interface ConnectionCapStore {
  tryAcquire(key: string): MaybePromise<boolean>;
  release(key: string): void;
  /** Connections currently counted for `key`. */
  count(key: string): MaybePromise<number>;
}

/** Failed logins and token checks, IP blocks and per-username throttling. */
export interface AuthFailureStore {
  checkIp(ipKey: string): MaybePromise<AuthGate>;
  checkUsername(username: string): MaybePromise<AuthGate>;
  /** Resolves true when this failure just blocked the IP. */
  recordFailure(ipKey: string, username?: string): MaybePromise<boolean>;
  recordSuccess(username: string): MaybePromise<void>;
}

/** The three limit stores the transports use; in-process by default, Redis-backed in a fleet. */
export interface LimitStores {
  readonly ipRate: MessageRateStore;
  readonly userRate: MessageRateStore;
  readonly connections: ConnectionCapStore;
  readonly authFailures: AuthFailureStore;
}
