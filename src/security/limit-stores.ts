import type { AuthGate, LoginOutcome } from './auth-failure-tracker.js';

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
  /**
   * Admits one login from `ipKey` before its password is checked, counting it in advance: refused
   * while the IP is blocked or while its failures plus its logins still being checked reach the
   * limit, so concurrent logins cannot check more passwords than `AUTH_MAX_FAILURES`. Every admitted
   * login must be ended with `endLogin` exactly once; a shared store forgets an unended one after a
   * minute (a crashed instance).
   */
  beginLogin(ipKey: string): MaybePromise<AuthGate>;
  /**
   * Ends an admitted login: `failed` counts as `recordFailure(ipKey, username)` (resolves true when
   * it just blocked the IP), `succeeded` as `recordSuccess(username)`, `abandoned` gives the place back.
   */
  endLogin(ipKey: string, username: string, outcome: LoginOutcome): MaybePromise<boolean>;
  /** Lifts the block of `ipKey` and forgets its failures (an operator's `users unblock`). */
  unblock(ipKey: string): MaybePromise<void>;
}

/** The three limit stores the transports use; in-process by default, Redis-backed in a fleet. */
export interface LimitStores {
  readonly ipRate: MessageRateStore;
  readonly userRate: MessageRateStore;
  readonly connections: ConnectionCapStore;
  readonly authFailures: AuthFailureStore;
}
