import type { Result } from 'ioredis';
import type { AuthFailureTracker, AuthGate, LoginOutcome } from '../security/auth-failure-tracker.js';
import type { AuthFailureStore, MaybePromise } from '../security/limit-stores.js';
import type { RedisCommands } from './redis-link.js';

// KEYS: ip block, ip failures, ip pending logins; ARGV: max failures, pending ttl ms
// Returns 0 when the login is admitted (and counted as pending), else the ms to wait.
const BEGIN_LOGIN = `
local blocked = redis.call('PTTL', KEYS[1])
if blocked > 0 then return blocked end
local failures = tonumber(redis.call('GET', KEYS[2])) or 0
local pending = tonumber(redis.call('GET', KEYS[3])) or 0
if failures + pending >= tonumber(ARGV[1]) then return 1000 end
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 0
`;

// KEYS: ip pending logins
const END_LOGIN = `
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n
`;

/** An unended login (its instance crashed) stops counting after this long. */
const PENDING_LOGIN_TTL_MS = 60_000;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    limitBeginLogin(
      ipBlockKey: string,
      ipFailuresKey: string,
      ipPendingKey: string,
      maxFailures: number,
      pendingTtlMs: number,
    ): Result<number, Context>;
    limitEndLogin(ipPendingKey: string): Result<number, Context>;
  }
}

export interface RedisLoginAdmissionOptions {
  readonly redis: RedisCommands;
  /**
   * An IP's keys: its failure count and block (the failure store's own) and its pending logins, all
   * with one hash tag so the admission script runs on one Cluster shard.
   */
  readonly ipKeys: (ipKey: string) => {
    readonly fail: string;
    readonly block: string;
    readonly pending: string;
  };
  readonly maxFailures: number;
  /** The in-process store, used whenever Redis does not answer. */
  readonly local: AuthFailureTracker;
  readonly onError: (error: unknown, context: string) => void;
  /** The shared store's own failure and success records, which an ended login goes through. */
  readonly recordFailure: (ipKey: string, username: string) => MaybePromise<boolean>;
  readonly recordSuccess: (username: string) => MaybePromise<void>;
}

/**
 * `beginLogin`/`endLogin` of the Redis failure store: the pending count of an IP lives beside its
 * failure count and block (one Lua script admits atomically), so logins sent at once to different
 * instances cannot check more passwords than the limit either. A login admitted by the local
 * fallback (Redis down) is ended locally.
 */
export function redisLoginAdmission(
  options: RedisLoginAdmissionOptions,
): Pick<AuthFailureStore, 'beginLogin' | 'endLogin'> {
  const { redis, ipKeys } = options;
  redis.defineCommand('limitBeginLogin', { numberOfKeys: 3, lua: BEGIN_LOGIN });
  redis.defineCommand('limitEndLogin', { numberOfKeys: 1, lua: END_LOGIN });
  const locallyBegun = new Map<string, number>();
  return {
    async beginLogin(ipKey: string): Promise<AuthGate> {
      try {
        const keys = ipKeys(ipKey);
        const waitMs = await redis.limitBeginLogin(
          keys.block,
          keys.fail,
          keys.pending,
          options.maxFailures,
          PENDING_LOGIN_TTL_MS,
        );
        return waitMs > 0
          ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
          : { allowed: true };
      } catch (error) {
        options.onError(error, 'login admission');
        const gate = options.local.beginLogin(ipKey);
        if (gate.allowed) locallyBegun.set(ipKey, (locallyBegun.get(ipKey) ?? 0) + 1);
        return gate;
      }
    },
    async endLogin(ipKey: string, username: string, outcome: LoginOutcome): Promise<boolean> {
      const local = locallyBegun.get(ipKey) ?? 0;
      if (local > 0) {
        if (local === 1) locallyBegun.delete(ipKey);
        else locallyBegun.set(ipKey, local - 1);
        return options.local.endLogin(ipKey, username, outcome);
      }
      await redis
        .limitEndLogin(ipKeys(ipKey).pending)
        .catch((error: unknown) => options.onError(error, 'login end'));
      if (outcome === 'failed') return options.recordFailure(ipKey, username);
      if (outcome === 'succeeded') await options.recordSuccess(username);
      return false;
    },
  };
}
