import type { Result } from 'ioredis';
import type { RedisCommands, RedisLink } from './redis-link.js';

// Times come from Redis (TIME), so instances with skewed clocks agree on who is dead.
// KEYS[1] instances zset (member: instance id, score: deadline ms); ARGV: id, ttl ms. 1 when new.
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
`;

// KEYS[1] instances zset; ARGV: most ids to return. The ids whose deadline has passed.
const EXPIRED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`;

/** Dead instances handled per pass; the rest wait for the next beat, so one pass stays bounded. */
const REAP_BATCH = 16;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    instanceBeat(instancesKey: string, id: string, ttlMs: number): Result<number, Context>;
    instanceExpired(instancesKey: string, max: number): Result<string[], Context>;
  }
}

/** A part that keeps per-instance state in Redis (room members, connection counts). */
export interface FleetState {
  /** Removes what the dead instance `instanceId` left behind; idempotent, may run more than once. */
  reapInstance(instanceId: string): Promise<void>;
  /** Rewrites this instance's own entries from what it really holds now, dropping the rest. */
  repair(): Promise<void>;
  /** Called one TTL after a repair, when every live instance has had time to repair too. */
  settled?(): void;
}

export interface InstanceRegistryOptions {
  readonly link: RedisLink;
  readonly prefix: string;
  readonly instanceId: string;
  /** Beat interval; an instance is dead after three missed beats. */
  readonly heartbeatMs: number;
  readonly onError: (error: unknown, context: string) => void;
}

/**
 * Who in the fleet is alive. Every instance renews its deadline in one sorted set each beat (one
 * command, whatever its number of peers) and then looks for instances past their deadline; the first
 * to lock a dead one cleans up after it through every registered `FleetState`. A pass never overlaps
 * the previous one. After a Redis outage (or after finding itself declared dead) an instance repairs
 * its own entries, and reaps nobody for one TTL so the others get the time to repair theirs.
 */
export class InstanceRegistry {
  readonly #options: InstanceRegistryOptions;
  readonly #redis: RedisCommands;
  readonly #parts: FleetState[] = [];
  readonly #ttlMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #needsRepair = false;
  #graceUntil = 0;
  #settleTimer: NodeJS.Timeout | null = null;

  constructor(options: InstanceRegistryOptions) {
    this.#options = options;
    this.#redis = options.link.commands;
    this.#ttlMs = options.heartbeatMs * 3;
    this.#redis.defineCommand('instanceBeat', { numberOfKeys: 1, lua: BEAT });
    this.#redis.defineCommand('instanceExpired', { numberOfKeys: 1, lua: EXPIRED });
    options.link.onRecovered(() => {
      this.#needsRepair = true;
      void this.tick();
    });
  }

  /** Milliseconds after its last beat at which an instance counts as dead. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Adds a part to clean up after dead instances and to repair after outages. */
  register(part: FleetState): void {
    this.#parts.push(part);
  }

  /** Beats once (rejecting when Redis is unreachable), then on every interval. */
  async start(): Promise<void> {
    await this.#redis.instanceBeat(this.#key(), this.#options.instanceId, this.#ttlMs);
    this.#timer = setInterval(() => void this.tick(), this.#options.heartbeatMs);
    this.#timer.unref();
  }

  /** One beat, repair when needed, one reaping pass; resolves when done. Never overlaps itself. */
  tick(): Promise<void> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Stops beating and leaves the fleet at once (the others will not wait for the TTL). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#settleTimer) clearTimeout(this.#settleTimer);
    this.#timer = null;
    await this.#running;
    await this.#redis.zrem(this.#key(), this.#options.instanceId).catch(() => 0);
  }

  async #pass(): Promise<void> {
    const { onError, instanceId } = this.#options;
    try {
      const added = await this.#redis.instanceBeat(this.#key(), instanceId, this.#ttlMs);
      // Added anew: another instance took us for dead and removed our entries.
      if (added === 1) this.#needsRepair = true;
    } catch (error) {
      this.#needsRepair = true;
      onError(error, 'heartbeat');
      return;
    }
    if (this.#needsRepair) {
      this.#needsRepair = false;
      this.#graceUntil = Date.now() + this.#ttlMs;
      for (const part of this.#parts) {
        try {
          await part.repair();
        } catch (error) {
          this.#needsRepair = true;
          onError(error, 'repair');
        }
      }
      if (this.#settleTimer) clearTimeout(this.#settleTimer);
      this.#settleTimer = setTimeout(() => {
        for (const part of this.#parts) part.settled?.();
      }, this.#ttlMs);
      this.#settleTimer.unref();
    }
    if (Date.now() < this.#graceUntil) return;
    try {
      await this.#reap();
    } catch (error) {
      onError(error, 'reap');
    }
  }

  async #reap(): Promise<void> {
    const dead = await this.#redis.instanceExpired(this.#key(), REAP_BATCH);
    for (const id of dead) {
      if (id === this.#options.instanceId) continue;
      // One reaper per dead instance; the lock expires if that reaper dies half-way.
      const lock = `${this.#options.prefix}reaping:${id}`;
      const locked = await this.#redis.set(lock, this.#options.instanceId, 'PX', this.#ttlMs * 10, 'NX');
      if (locked !== 'OK') continue;
      for (const part of this.#parts) await part.reapInstance(id);
      await this.#redis.zrem(this.#key(), id);
      await this.#redis.del(lock);
    }
  }

  #key(): string {
    return `${this.#options.prefix}instances`;
  }
}
