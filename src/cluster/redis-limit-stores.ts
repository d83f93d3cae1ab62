import type { Result } from 'ioredis';
import {
  type AuthFailureTracker,
  type AuthGate,
  USERNAME_BASE_DELAY_SECONDS,
  USERNAME_MAX_DELAY_SECONDS,
} from '../security/auth-failure-tracker.js';
import type { AuthFailureStore, ConnectionCapStore, LimitStores } from '../security/limit-stores.js';
import type { RateLimiter } from '../security/token-bucket.js';
import type { FleetState } from './instance-registry.js';
import type { RedisCommands } from './redis-link.js';
import { redisLoginAdmission } from './redis-login-admission.js';
import { SharedRateLimits } from './redis-rate-sync.js';

// KEYS[1] per-instance counts of one client; ARGV: instance id, max, this instance's count with the
// new connection. Sets this instance's count to what it holds, or to one less when refused.
const ACQUIRE_CONNECTION = `
local fields = redis.call('HGETALL', KEYS[1])
local held = tonumber(ARGV[3])
local total = held
for i = 1, #fields, 2 do
  if fields[i] ~= ARGV[1] then total = total + tonumber(fields[i + 1]) end
end
local ok = 1
if total > tonumber(ARGV[2]) then
  ok = 0
  held = held - 1
end
if held > 0 then redis.call('HSET', KEYS[1], ARGV[1], held) else redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], 86400)
return ok
`;

// KEYS[1] failures, KEYS[2] block or throttle; ARGV: max failures, window ms, block ms,
// base delay ms, max delay ms, mode ('ip': block at the limit; 'user': throttle with backoff)
const RECORD_FAILURE = `
if ARGV[6] == 'ip' then
  if redis.call('PTTL', KEYS[2]) > 0 then return 0 end
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
  if n >= tonumber(ARGV[1]) then
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
local u = redis.call('INCR', KEYS[1])
if u == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local excess = u - tonumber(ARGV[1])
if excess >= 0 then
  local delay = math.min(tonumber(ARGV[5]), tonumber(ARGV[4]) * 2 ^ math.min(excess, 10))
  redis.call('SET', KEYS[2], '1', 'PX', math.floor(delay))
end
return 0
`;

declare module 'ioredis' {
  // ioredis' documented way to type commands added with `defineCommand`.
  interface RedisCommander<Context> {
    limitAcquireConnection(
      countsKey: string,
      instanceId: string,
      max: number,
      heldWithNew: number,
    ): Result<number, Context>;
    limitRecordFailure(
      failuresKey: string,
      gateKey: string,
      maxFailures: number,
      windowMs: number,
      blockMs: number,
      baseDelayMs: number,
      maxDelayMs: number,
      mode: 'ip' | 'user',
    ): Result<number, Context>;
  }
}

export interface RedisLimitStoresOptions {
  readonly redis: RedisCommands;
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
  /** The in-process tables: rate buckets always decide; auth falls back to them when Redis fails. */
  readonly local: {
    readonly ipRate: RateLimiter;
    readonly userRate: RateLimiter;
    readonly authFailures: AuthFailureTracker;
  };
  readonly onError: (error: unknown, context: string) => void;
}

/** The shared stores, their background rate sync and their part in the fleet's repairs. */
export interface RedisLimits {
  readonly stores: LimitStores;
  readonly rates: SharedRateLimits;
  readonly fleetState: FleetState;
}

/**
 * Limit stores shared by every instance through Redis. Message rates: local buckets synced in the
 * background (`SharedRateLimits`). Connection caps: each instance writes how many connections of a
 * client it holds into the client's hash (always the absolute count, so a write that failed during
 * an outage is corrected by the next one or by `repair`); a dead instance's counts are dropped by the
 * survivors. Auth failures: one Lua script per IP and one per username (each on its own hash slot).
 * When Redis fails, caps and auth decisions fall back to this instance's own counts.
 */
export function createRedisLimitStores(options: RedisLimitStoresOptions): RedisLimits {
  const { redis, instanceId } = options;
  redis.defineCommand('limitAcquireConnection', { numberOfKeys: 1, lua: ACQUIRE_CONNECTION });
  redis.defineCommand('limitRecordFailure', { numberOfKeys: 2, lua: RECORD_FAILURE });
  const key = (suffix: string) => `${options.prefix}limits:${suffix}`;
  const countsKey = (client: string) => key(`conn:${client}`);
  const indexKey = (id: string) => `${options.prefix}instance:${id}:conns`;

  /** Connections this instance holds per client: the truth its Redis counts are rewritten from. */
  const held = new Map<string, number>();
  /** Clients whose count in Redis may be wrong (a write failed); rewritten by `repair`. */
  const dirty = new Set<string>();
  const write = (client: string): Promise<void> => {
    const n = held.get(client) ?? 0;
    const done =
      n > 0
        ? Promise.all([
            redis.hset(countsKey(client), instanceId, n),
            redis.sadd(indexKey(instanceId), client),
          ])
        : Promise.all([redis.hdel(countsKey(client), instanceId), redis.srem(indexKey(instanceId), client)]);
    return done.then(
      () => undefined,
      (error: unknown) => {
        dirty.add(client);
        options.onError(error, 'connection count');
      },
    );
  };
  const adjust = (client: string, delta: number) => {
    const n = (held.get(client) ?? 0) + delta;
    if (n > 0) held.set(client, n);
    else held.delete(client);
    return n;
  };

  const connections: ConnectionCapStore = {
    async tryAcquire(client: string) {
      const n = adjust(client, 1);
      try {
        const [ok] = await Promise.all([
          redis.limitAcquireConnection(countsKey(client), instanceId, options.maxConnectionsPerIp, n),
          redis.sadd(indexKey(instanceId), client),
        ]);
        if (ok === 1) return true;
        adjust(client, -1);
        // Another acquire of this client may have been in flight: write the count as it is now.
        void write(client);
        return false;
      } catch (error) {
        options.onError(error, 'connection cap');
        dirty.add(client);
        if ((held.get(client) ?? 0) <= options.maxConnectionsPerIp) return true;
        adjust(client, -1);
        return false;
      }
    },
    release(client: string) {
      adjust(client, -1);
      void write(client);
    },
    async count(client: string) {
      try {
        const counts = await redis.hgetall(countsKey(client));
        counts[instanceId] = String(held.get(client) ?? 0);
        return Object.values(counts).reduce((sum, n) => sum + Number(n), 0);
      } catch (error) {
        options.onError(error, 'connection count');
        return held.get(client) ?? 0;
      }
    },
  };

  const fleetState: FleetState = {
    async reapInstance(deadId: string) {
      const index = indexKey(deadId);
      const clients = await redis.smembers(index);
      await Promise.all(clients.map((client) => redis.hdel(countsKey(client), deadId)));
      await redis.del(index);
    },
    async repair() {
      const stale = await redis.smembers(indexKey(instanceId));
      const clients = new Set([...stale, ...dirty, ...held.keys()]);
      dirty.clear();
      await Promise.all([...clients].map(write));
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
  const ipKeys = (ip: string) => [key(`{ip:${ip}}:fail`), key(`{ip:${ip}}:block`)] as const;
  const userKeys = (user: string) => [key(`{user:${user}}:fail`), key(`{user:${user}}:throttle`)] as const;
  const record = (keys: readonly [string, string], mode: 'ip' | 'user') =>
    redis.limitRecordFailure(
      keys[0],
      keys[1],
      options.auth.maxFailures,
      options.auth.windowSeconds * 1000,
      options.auth.blockSeconds * 1000,
      USERNAME_BASE_DELAY_SECONDS * 1000,
      USERNAME_MAX_DELAY_SECONDS * 1000,
      mode,
    );
  const local = options.local.authFailures;
  const authFailures: AuthFailureStore = {
    checkIp: (ipKey) => gate(ipKeys(ipKey)[1], () => local.checkIp(ipKey)),
    async unblock(ipKey) {
      local.unblock(ipKey);
      await redis.del(...ipKeys(ipKey));
    },
    checkUsername: (username) =>
      gate(userKeys(username.toLowerCase())[1], () => local.checkUsername(username)),
    async recordFailure(ipKey, username) {
      try {
        const [blocked] = await Promise.all([
          record(ipKeys(ipKey), 'ip'),
          username === undefined ? 0 : record(userKeys(username.toLowerCase()), 'user'),
        ]);
        return blocked === 1;
      } catch (error) {
        options.onError(error, 'auth failure record');
        return local.recordFailure(ipKey, username);
      }
    },
    async recordSuccess(username) {
      local.recordSuccess(username);
      await redis
        .del(...userKeys(username.toLowerCase()))
        .catch((error: unknown) => options.onError(error, 'auth success record'));
    },
    ...redisLoginAdmission({
      redis,
      ipKeys: (ip) => {
        const [fail, block] = ipKeys(ip);
        return { fail, block, pending: key(`{ip:${ip}}:pending`) };
      },
      maxFailures: options.auth.maxFailures,
      local: options.local.authFailures,
      onError: options.onError,
      recordFailure: (ipKey, username) => authFailures.recordFailure(ipKey, username),
      recordSuccess: (username) => authFailures.recordSuccess(username),
    }),
  };

  const rates = new SharedRateLimits({
    redis,
    prefix: options.prefix,
    perMinute: options.rate.perMinute,
    burst: options.rate.burst,
    local: options.local,
    onError: options.onError,
  });
  return {
    stores: { ipRate: rates.ipRate, userRate: rates.userRate, connections, authFailures },
    rates,
    fleetState,
  };
}
