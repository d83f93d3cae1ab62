import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type {
  Broker,
  JoinOutcome,
  MemberInfo,
  RoomEvent,
  RoomEventListener,
  RoomSnapshot,
  RoomSummary,
} from '../signaling/broker.js';
import type { PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import { JOIN_SCRIPT, LEAVE_SCRIPT } from './redis-room-scripts.js';

export interface RedisBrokerOptions {
  readonly url: string;
  /** Key and channel prefix, so several deployments (or test runs) can share one Redis. */
  readonly prefix?: string;
  /** How often this instance renews its liveness key and reaps members of dead instances. */
  readonly heartbeatMs?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown, context: string) => void;
}

/** A member as stored in Redis: who it is plus which instance holds its socket. */
interface StoredMember extends MemberInfo {
  readonly instance: string;
}

/**
 * Rooms shared by every instance through Redis. Membership lives in one hash per room, changed only
 * by Lua scripts, so the room cap holds across the fleet; events travel by pub/sub on one channel per
 * room, which keeps one publisher's order. Each instance keeps a liveness key with a TTL; members of an
 * instance whose key has expired (a crash) are reaped by the survivors and announced as `left`.
 * Commands fail fast while Redis is unreachable (no offline queue), so joins are refused with 1013
 * instead of hanging, and `/health` reports degraded.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly instanceId = randomBytes(8).toString('hex');
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #onError: (error: unknown, context: string) => void;
  readonly #listeners = new Map<string, Set<RoomEventListener>>();
  readonly #heartbeatMs: number;
  #heartbeat: NodeJS.Timeout | null = null;

  private constructor(options: RedisBrokerOptions) {
    this.#prefix = options.prefix ?? 'signaling:';
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
    const redisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt: number) => Math.min(2000, 100 * 2 ** Math.min(attempt, 5)),
    };
    this.#commands = new Redis(options.url, redisOptions);
    this.#subscriber = new Redis(options.url, redisOptions);
    for (const [client, name] of [
      [this.#commands, 'commands'],
      [this.#subscriber, 'subscriber'],
    ] as const) {
      client.on('error', (error: unknown) => this.#onError(error, `redis ${name} connection`));
    }
    this.#subscriber.on('message', (channel: string, message: string) => this.#dispatch(channel, message));
    this.#commands.defineCommand('signalingJoin', { numberOfKeys: 3, lua: JOIN_SCRIPT });
    this.#commands.defineCommand('signalingLeave', { numberOfKeys: 3, lua: LEAVE_SCRIPT });
  }

  /** The command connection, shared with the Redis limit stores (one connection pool per instance). */
  get client(): Redis {
    return this.#commands;
  }

  /** Connects both Redis connections and starts the liveness heartbeat; rejects if Redis is unreachable. */
  static async connect(options: RedisBrokerOptions): Promise<RedisBroker> {
    const broker = new RedisBroker(options);
    try {
      await Promise.all([broker.#commands.connect(), broker.#subscriber.connect()]);
      await broker.#beat();
    } catch (error) {
      broker.#commands.disconnect();
      broker.#subscriber.disconnect();
      throw error;
    }
    broker.#heartbeat = setInterval(() => {
      broker.#beat().catch((error: unknown) => broker.#onError(error, 'heartbeat'));
      broker.reapDeadInstances().catch((error: unknown) => broker.#onError(error, 'reap'));
    }, broker.#heartbeatMs);
    broker.#heartbeat.unref();
    return broker;
  }

  async subscribe(roomId: RoomId, listener: RoomEventListener): Promise<() => Promise<void>> {
    const channel = this.#channel(roomId);
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
      try {
        await this.#subscriber.subscribe(channel);
      } catch (error) {
        this.#listeners.delete(channel);
        throw error;
      }
    }
    set.add(listener);
    return async () => {
      const current = this.#listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#listeners.delete(channel);
      await this.#subscriber
        .unsubscribe(channel)
        .catch((error: unknown) => this.#onError(error, 'unsubscribe'));
    };
  }

  async publish(roomId: RoomId, event: RoomEvent): Promise<void> {
    // Relay payloads may be UTF-8 bytes in-process; on the channel everything is JSON text.
    const wire =
      event.kind === 'relay' && typeof event.payload !== 'string'
        ? { ...event, payload: textDecoder.decode(event.payload) }
        : event;
    await this.#commands.publish(this.#channel(roomId), JSON.stringify(wire));
  }

  async join(roomId: RoomId, member: MemberInfo, maxPeers: number): Promise<JoinOutcome> {
    const stored: StoredMember = { ...member, instance: this.instanceId };
    const result = await this.#commands.signalingJoin(
      ...this.#roomKeys(roomId),
      member.peerId,
      JSON.stringify(stored),
      maxPeers,
      this.#now(),
      roomId,
    );
    if (result === null) return { ok: false, reason: 'room_full' };
    if (result === 'taken') return { ok: false, reason: 'id_taken' };
    const [createdAt, members] = result;
    return { ok: true, room: { roomId, createdAt: Number(createdAt), members: members.map(parseMember) } };
  }

  async leave(roomId: RoomId, peerId: PeerId): Promise<boolean> {
    const removed = await this.#commands.signalingLeave(...this.#roomKeys(roomId), peerId, roomId);
    return removed === 1;
  }

  async rooms(): Promise<readonly RoomSummary[]> {
    const ids = (await this.#commands.smembers(this.#key('rooms'))) as RoomId[];
    if (ids.length === 0) return [];
    const pipeline = this.#commands.pipeline();
    for (const id of ids) {
      pipeline.hlen(this.#key(`room:${id}:members`));
      pipeline.hget(this.#key(`room:${id}:meta`), 'created_at');
    }
    const replies = (await pipeline.exec()) ?? [];
    const summaries: RoomSummary[] = [];
    ids.forEach((roomId, i) => {
      const count = Number(replies[i * 2]?.[1] ?? 0);
      const createdAt = Number(replies[i * 2 + 1]?.[1] ?? 0);
      if (count > 0) summaries.push({ roomId, peerCount: count, createdAt });
    });
    return summaries;
  }

  async room(roomId: RoomId): Promise<RoomSnapshot | null> {
    const [members, createdAt] = await Promise.all([
      this.#commands.hvals(this.#key(`room:${roomId}:members`)),
      this.#commands.hget(this.#key(`room:${roomId}:meta`), 'created_at'),
    ]);
    if (members.length === 0) return null;
    return { roomId, createdAt: Number(createdAt ?? 0), members: members.map(parseMember) };
  }

  async isHealthy(): Promise<boolean> {
    if (this.#commands.status !== 'ready' || this.#subscriber.status !== 'ready') return false;
    try {
      return (await this.#commands.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * Removes members whose instance stopped renewing its liveness key (crashed or cut off) and tells
   * their rooms `left`. Every instance runs it on its heartbeat; the Lua leave makes it idempotent.
   */
  async reapDeadInstances(): Promise<number> {
    const ids = (await this.#commands.smembers(this.#key('rooms'))) as RoomId[];
    let reaped = 0;
    const alive = new Map<string, boolean>();
    for (const roomId of ids) {
      const members = (await this.#commands.hvals(this.#key(`room:${roomId}:members`))).map(parseStored);
      for (const member of members) {
        let isAlive = alive.get(member.instance);
        if (isAlive === undefined) {
          isAlive = (await this.#commands.exists(this.#key(`instance:${member.instance}`))) === 1;
          alive.set(member.instance, isAlive);
        }
        if (!isAlive && (await this.leave(roomId, member.peerId))) {
          reaped += 1;
          await this.publish(roomId, { kind: 'left', peerId: member.peerId });
        }
      }
    }
    return reaped;
  }

  async close(): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#listeners.clear();
    await this.#commands.del(this.#key(`instance:${this.instanceId}`)).catch(() => 0);
    await Promise.all([
      this.#commands.quit().catch(() => this.#commands.disconnect()),
      this.#subscriber.quit().catch(() => this.#subscriber.disconnect()),
    ]);
  }

  async #beat(): Promise<void> {
    const ttlSeconds = Math.max(3, Math.ceil((this.#heartbeatMs * 3) / 1000));
    await this.#commands.set(this.#key(`instance:${this.instanceId}`), String(this.#now()), 'EX', ttlSeconds);
  }

  #dispatch(channel: string, message: string): void {
    const set = this.#listeners.get(channel);
    if (!set) return;
    let event: RoomEvent;
    try {
      event = JSON.parse(message) as RoomEvent;
    } catch (error) {
      this.#onError(error, 'malformed event on the room channel');
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error, 'room event listener');
      }
    }
  }

  #roomKeys(roomId: RoomId): [string, string, string] {
    return [this.#key(`room:${roomId}:members`), this.#key(`room:${roomId}:meta`), this.#key('rooms')];
  }

  #channel(roomId: RoomId): string {
    return this.#key(`events:${roomId}`);
  }

  #key(suffix: string): string {
    return `${this.#prefix}${suffix}`;
  }
}

const textDecoder = new TextDecoder();

function parseStored(json: string): StoredMember {
  return JSON.parse(json) as StoredMember;
}

function parseMember(json: string): MemberInfo {
  const { peerId, username, joinedAt } = parseStored(json);
  return { peerId, username, joinedAt };
}
