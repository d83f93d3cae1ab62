import type { Result } from 'ioredis';
import type { MessageRateStore } from '../security/limit-stores.js';
import type { RateLimiter } from '../security/token-bucket.js';
import type { RedisCommands } from './redis-link.js';

/** How often each instance reports what it admitted and learns what the fleet has left. */
export const RATE_SYNC_MS = 250;
/** Exhausted clients one instance learns about per sync (the busiest abusers come first by score). */
const HOT_PULL_MAX = 1000;

// KEYS[1] fleet bucket hash; ARGV: capacity, refill per ms, tokens used, ttl ms
// → {tokens left (may be below zero, down to -capacity), Redis time ms}
const REPORT_USE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[1])
local b = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(b[1]) or cap
local updated = tonumber(b[2]) or now
if now > updated then
  tokens = math.min(cap, tokens + (now - updated) * tonumber(ARGV[2]))
  updated = now
end
tokens = math.max(-cap, tokens - tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(updated))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {tostring(tokens), now}
`;

// KEYS[1] exhausted-clients zset (score: Redis time ms when one token is back); ARGV: max
// → {Redis time ms, member, score, member, score, ...} of clients still exhausted
const PULL_HOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local hot = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
table.insert(hot, 1, now)
return hot
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    rateReportUse(
      bucketKey: string,
      capacity: number,
      refillPerMs: number,
      used: number,
      ttlMs: number,
    ): Result<[string, number], Context>;
    ratePullHot(hotKey: string, max: number): Result<[number, ...string[]], Context>;
  }
}

export interface SharedRateLimitsOptions {
  readonly redis: RedisCommands;
  /** Deployment prefix; buckets live under `${prefix}limits:rate:`. */
  readonly prefix: string;
  readonly perMinute: number;
  readonly burst: number;
  /** This instance's buckets: they decide every message; the sync only corrects them. */
  readonly local: { readonly ipRate: RateLimiter; readonly userRate: RateLimiter };
  readonly syncMs?: number;
  readonly onError: (error: unknown, context: string) => void;
}

/**
 * Per-IP and per-user message rates shared by a fleet without a Redis round trip per message. Each
 * message is decided at once by this instance's own token bucket. Every `syncMs` the instance
 * reports how many tokens each client used to a fleet-wide bucket in Redis and sets its own bucket
 * to what the fleet has left; clients the fleet has exhausted are published in one sorted set that
 * every instance reads, so they are refused even where they have not sent yet.
 * Overshoot: between two syncs each of N instances may spend what the fleet had left plus its own
 * refill, so a client spread over N instances gets at most (N - 1) x burst + N x rate x syncMs more
 * than the limit; the excess (up to one burst) is then owed, and refused until refilled.
 * When Redis fails the local buckets go on deciding alone (limits per instance) until it is back.
 */
export class SharedRateLimits {
  readonly ipRate: MessageRateStore;
  readonly userRate: MessageRateStore;
  readonly #options: SharedRateLimitsOptions;
  readonly #kinds: RateKind[];
  readonly #refillPerMs: number;
  readonly #ttlMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(options: SharedRateLimitsOptions) {
    this.#options = options;
    this.#refillPerMs = options.perMinute / 60_000;
    this.#ttlMs = Math.ceil((2 * options.burst) / this.#refillPerMs) + 1000;
    options.redis.defineCommand('rateReportUse', { numberOfKeys: 1, lua: REPORT_USE });
    options.redis.defineCommand('ratePullHot', { numberOfKeys: 1, lua: PULL_HOT });
    const ip = new RateKind('ip', options.local.ipRate);
    const user = new RateKind('user', options.local.userRate);
    this.#kinds = [ip, user];
    this.ipRate = ip;
    this.userRate = user;
  }

  /** Starts the background sync. */
  start(): void {
    this.#timer = setInterval(() => void this.sync(), this.#options.syncMs ?? RATE_SYNC_MS);
    this.#timer.unref();
  }

  /** Stops the sync after one last report of what was used. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.sync();
  }

  /** Reports use and reads back the fleet's buckets once; never overlaps itself. */
  sync(): Promise<void> {
    this.#running ??= this.#sync()
      .catch((error: unknown) => this.#options.onError(error, 'rate limit sync'))
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #sync(): Promise<void> {
    const { redis, burst } = this.#options;
    const hotKey = this.#key('hot');
    const reports: Promise<void>[] = [];
    for (const kind of this.#kinds) {
      const batch = kind.swap();
      for (const [client, used] of batch) {
        const bucketKey = this.#key(`${kind.name}:${client}`);
        reports.push(
          redis.rateReportUse(bucketKey, burst, this.#refillPerMs, used, this.#ttlMs).then(
            async ([left, now]) => {
              const tokens = Number(left);
              kind.limiter.setTokens(client, tokens - kind.unreported(client));
              if (tokens < 1) {
                const recoversAt = now + Math.ceil((1 - tokens) / this.#refillPerMs);
                await redis.zadd(hotKey, recoversAt, `${kind.name}:${client}`);
              }
            },
            (error: unknown) => {
              kind.restore(client, used);
              throw error;
            },
          ),
        );
      }
    }
    const settled = await Promise.allSettled(reports);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [now, ...hot] = await redis.ratePullHot(hotKey, HOT_PULL_MAX);
    for (let i = 0; i + 1 < hot.length; i += 2) {
      const member = hot[i]!;
      const colon = member.indexOf(':');
      const kind = this.#kinds.find((k) => k.name === member.slice(0, colon));
      const tokens = 1 - (Number(hot[i + 1]) - Number(now)) * this.#refillPerMs;
      kind?.limiter.setTokens(member.slice(colon + 1), tokens, true);
    }
  }

  #key(suffix: string): string {
    return `${this.#options.prefix}limits:rate:${suffix}`;
  }
}

/** One kind of client (IP or user): its local buckets and the tokens used since the last report. */
class RateKind implements MessageRateStore {
  readonly name: string;
  readonly limiter: RateLimiter;
  #used = new Map<string, number>();

  constructor(name: string, limiter: RateLimiter) {
    this.name = name;
    this.limiter = limiter;
  }

  take(client: string): boolean {
    if (!this.limiter.take(client)) return false;
    this.#used.set(client, (this.#used.get(client) ?? 0) + 1);
    return true;
  }

  /** The use to report now; counting starts afresh. */
  swap(): Map<string, number> {
    const batch = this.#used;
    this.#used = new Map();
    return batch;
  }

  /** Tokens used since the batch being reported was taken. */
  unreported(client: string): number {
    return this.#used.get(client) ?? 0;
  }

  /** A report failed: counts it again with the next one. */
  restore(client: string, used: number): void {
    this.#used.set(client, (this.#used.get(client) ?? 0) + used);
  }
}
