import type { Redis, Result } from 'ioredis';
import {
  type AuthFailureTracker,
  type AuthGate,
  USERNAME_BASE_DELAY_SECONDS,
  USERNAME_MAX_DELAY_SECONDS,
} from '../security/auth-failure-tracker.js';
import type { ConnectionCounter } from '../security/connection-counter.js';
import type {
  AuthFailureStore,
  ConnectionCapStore,
  LimitStores,
  MessageRateStore,
} from '../security/limit-stores.js';
import type { RateLimiter } from '../security/token-bucket.js';
import { redisLoginAdmission } from './redis-login-admission.js';

// KEYS[1] bucket hash; ARGV: capacity, refill per ms, now (ms), ttl (ms)
const TAKE_TOKEN = `
local b = redis.call('HMGET', KEYS[1], 't', 'u')
local cap = tonumber(ARGV[1])
local now = tonumber(ARGV[3])
local tokens = tonumber(b[1]) or cap
local updated = tonumber(b[2]) or now
if now > updated then
  tokens = math.min(cap, tokens + (now - updated) * tonumber(ARGV[2]))
  updated = now
end
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(updated))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ok
`;

// KEYS[1] per-instance counts of one client; ARGV: instance id, max, instance key prefix
// Counts held by instances whose liveness key is gone (crashed) are dropped before counting.
const ACQUIRE_CONNECTION = `
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local instance = fields[i]
  if instance ~= ARGV[1] and redis.call('EXISTS', ARGV[3] .. instance) == 0 then
    redis.call('HDEL', KEYS[1], instance)
  else
    total = total + tonumber(fields[i + 1])
  end
end
if total >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], 86400)
return 1
`;

// KEYS[1] per-instance counts; ARGV: instance id
const RELEASE_CONNECTION = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n
`;

// KEYS: ip failures, ip block, username failures, username throttle
// ARGV: max failures, window ms, block ms, base delay ms, max delay ms, has username (1/0)
const RECORD_FAILURE = `
local blocked = 0
if redis.call('PTTL', KEYS[2]) <= 0 then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  if n >= tonumber(ARGV[1]) then
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
    redis.call('DEL', KEYS[1])
    blocked = 1
  end
end
if ARGV[6] == '1' then
  local u = redis.call('INCR', KEYS[3])
  if u == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
  local excess = u - tonumber(ARGV[1])
  if excess >= 0 then
    local delay = math.min(tonumber(ARGV[5]), tonumber(ARGV[4]) * 2 ^ math.min(excess, 10))
    redis.call('SET', KEYS[4], '1', 'PX', math.floor(delay))
  end
end
return blocked
`;

declare module 'ioredis' {
  // ioredis' documented way to type commands added with `defineCommand`.
  interface RedisCommander<Context> {
    limitTakeToken(
      bucketKey: string,
      capacity: number,
      refillPerMs: number,
      now: number,
      ttlMs: number,
    ): Result<number, Context>;
    limitAcquireConnection(
      countsKey: string,
      instanceId: string,
      max: number,
      instanceKeyPrefix: string,
    ): Result<number, Context>;
    limitReleaseConnection(countsKey: string, instanceId: string): Result<number, Context>;
    limitRecordFailure(
      ipFailuresKey: string,
      ipBlockKey: string,
      userFailuresKey: string,
      userThrottleKey: string,
      maxFailures: number,
      windowMs: number,
      blockMs: number,
      baseDelayMs: number,
      maxDelayMs: number,
      hasUsername: '0' | '1',
    ): Result<number, Context>;
  }
}

export interface RedisLimitStoresOptions {
  readonly redis: Redis;
  /** Deployment prefix; limit keys live under `${prefix}limits:`. */
  readonly prefix: string;
  readonly instanceId: string;
  readonly rate: { readonly perMinute: number; readonly burst: number };
  readonly maxConnectionsPerIp: number;
  readonly auth: {
    readonly maxFailures: number;
    readonly windowSeconds: number;
    readonly blockSeconds: number;
  };
  /** The in-process stores, used whenever Redis does not answer (limits then hold per instance). */
  readonly local: {
    readonly ipRate: RateLimiter;
    readonly userRate: RateLimiter;
    readonly connections: ConnectionCounter;
    readonly authFailures: AuthFailureTracker;
  };
  readonly now: () => number;
  readonly onError: (error: unknown, context: string) => void;
}

/**
 * Limit stores shared by every instance through Redis, each one Lua script per decision so the
 * fleet counts as one. When Redis fails, each decision falls back to the instance's own in-process
 * store: limits keep holding, per instance, until Redis is back.
 */
export function createRedisLimitStores(options: RedisLimitStoresOptions): LimitStores {
  options.redis.defineCommand('limitTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  options.redis.defineCommand('limitAcquireConnection', { numberOfKeys: 1, lua: ACQUIRE_CONNECTION });
  options.redis.defineCommand('limitReleaseConnection', { numberOfKeys: 1, lua: RELEASE_CONNECTION });
  options.redis.defineCommand('limitRecordFailure', { numberOfKeys: 4, lua: RECORD_FAILURE });
  const redis = options.redis;
  const key = (suffix: string) => `${options.prefix}limits:${suffix}`;

  const refillPerMs = options.rate.perMinute / 60_000;
  const bucketTtlMs = Math.ceil(options.rate.burst / refillPerMs) + 1000;
  const rateStore = (kind: string, local: RateLimiter): MessageRateStore => ({
    async take(client: string) {
      try {
        const ok = await redis.limitTakeToken(
          key(`rate:${kind}:${client}`),
          options.rate.burst,
          refillPerMs,
          options.now(),
          bucketTtlMs,
        );
        return ok === 1;
      } catch (error) {
        options.onError(error, `rate limit (${kind})`);
        return local.take(client);
      }
    },
  });

  // Acquisitions granted by the local fallback are released locally, the others in Redis.
  const locallyHeld = new Map<string, number>();
  const connections: ConnectionCapStore = {
    async tryAcquire(client: string) {
      try {
        const ok = await redis.limitAcquireConnection(
          key(`conn:${client}`),
          options.instanceId,
          options.maxConnectionsPerIp,
          `${options.prefix}instance:`,
        );
        return ok === 1;
      } catch (error) {
        options.onError(error, 'connection cap');
        const ok = options.local.connections.tryAcquire(client);
        if (ok) locallyHeld.set(client, (locallyHeld.get(client) ?? 0) + 1);
        return ok;
      }
    },
    release(client: string) {
      const held = locallyHeld.get(client) ?? 0;
      if (held > 0) {
        if (held === 1) locallyHeld.delete(client);
        else locallyHeld.set(client, held - 1);
        options.local.connections.release(client);
        return;
      }
      redis
        .limitReleaseConnection(key(`conn:${client}`), options.instanceId)
        .catch((error: unknown) => options.onError(error, 'connection release'));
    },
    async count(client: string) {
      const held = locallyHeld.get(client) ?? 0;
      try {
        const counts = await redis.hvals(key(`conn:${client}`));
        return held + counts.reduce((sum, n) => sum + Number(n), 0);
      } catch (error) {
        options.onError(error, 'connection count');
        return options.local.connections.count(client);
      }
    },
  };

  const gate = async (redisKey: string, fallback: () => AuthGate): Promise<AuthGate> => {
    try {
      const ttl = await redis.pttl(redisKey);
      return ttl > 0
        ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) }
        : { allowed: true };
    } catch (error) {
      options.onError(error, 'auth failure check');
      return fallback();
    }
  };
  const authFailures: AuthFailureStore = {
    checkIp: (ipKey) => gate(key(`block:ip:${ipKey}`), () => options.local.authFailures.checkIp(ipKey)),
    checkUsername: (username) =>
      gate(key(`throttle:user:${username.toLowerCase()}`), () =>
        options.local.authFailures.checkUsername(username),
      ),
    async recordFailure(ipKey, username) {
      const user = username?.toLowerCase() ?? '';
      try {
        const blocked = await redis.limitRecordFailure(
          key(`fail:ip:${ipKey}`),
          key(`block:ip:${ipKey}`),
          key(`fail:user:${user}`),
          key(`throttle:user:${user}`),
          options.auth.maxFailures,
          options.auth.windowSeconds * 1000,
          options.auth.blockSeconds * 1000,
          USERNAME_BASE_DELAY_SECONDS * 1000,
          USERNAME_MAX_DELAY_SECONDS * 1000,
          username === undefined ? '0' : '1',
        );
        return blocked === 1;
      } catch (error) {
        options.onError(error, 'auth failure record');
        return options.local.authFailures.recordFailure(ipKey, username);
      }
    },
    async recordSuccess(username) {
      options.local.authFailures.recordSuccess(username);
      const user = username.toLowerCase();
      await redis
        .del(key(`fail:user:${user}`), key(`throttle:user:${user}`))
        .catch((error: unknown) => options.onError(error, 'auth success record'));
    },
    ...redisLoginAdmission({
      redis,
      key,
      maxFailures: options.auth.maxFailures,
      local: options.local.authFailures,
      onError: options.onError,
      recordFailure: (ipKey, username) => authFailures.recordFailure(ipKey, username),
      recordSuccess: (username) => authFailures.recordSuccess(username),
    }),
  };

  return {
    ipRate: rateStore('ip', options.local.ipRate),
    userRate: rateStore('user', options.local.userRate),
    connections,
    authFailures,
  };
}
