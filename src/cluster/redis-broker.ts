import { randomBytes } from 'node:crypto';
import type {
  Broker,
  JoinOptions,
  JoinOutcome,
  LocalMembership,
  MemberInfo,
  RoomEvent,
  RoomEventListener,
  RoomLifecycle,
  RoomSnapshot,
  RoomSummary,
} from '../signaling/broker.js';
import type { PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import { DEFAULT_SESSION_LIMITS } from '../signaling/session-store.js';
import { type FleetState, InstanceRegistry } from './instance-registry.js';
import type { RedisBrokerOptions } from './redis-broker-options.js';
import { type RedisCommands, RedisLink } from './redis-link.js';
import { rewriteHeldMembers } from './redis-member-repair.js';
import { RoomChannels } from './redis-room-channels.js';
import { denyToken, isTokenDenied, readRoom, readRooms } from './redis-room-reads.js';
import { indexEntry, parseMember, roomExtras, type StoredMember, splitEntry } from './redis-room-records.js';
import { defineRoomScripts } from './redis-room-scripts.js';
import { RedisSessions } from './redis-sessions.js';

/** Default beat: a crashed instance's peers are announced as left within 3 to 4 beats. */
export const DEFAULT_HEARTBEAT_MS = 1000;
/** Seconds metadata set for a room that has not started is kept. */
const PENDING_METADATA_SECONDS = 86_400;

export type { RedisBrokerOptions };

/**
 * Rooms shared by every instance through Redis. A room's members live in one hash changed only by
 * Lua scripts, and its events travel on one channel; keys and channel share the `{roomId}` hash tag,
 * so on a Redis Cluster a room lives on one shard (sharded pub/sub). Each instance also keeps an index
 * of the members it holds, so when the `InstanceRegistry` finds it dead the survivors remove exactly
 * its members and announce them `left`, at a cost per dead instance, not per peer and beat. After an
 * outage each instance rewrites its own members from what it really holds (`LocalMembership`).
 * Commands fail fast while Redis is unreachable: joins are refused with 1013, `/health` is degraded.
 */
export class RedisBroker implements Broker, FleetState {
  readonly kind = 'redis' as const;
  readonly instanceId = randomBytes(8).toString('hex');
  readonly link: RedisLink;
  readonly registry: InstanceRegistry;
  readonly sessions: RedisSessions;
  readonly #redis: RedisCommands;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #onError: (error: unknown, context: string) => void;
  readonly #channels: RoomChannels;
  #membership: LocalMembership | null = null;
  #lifecycle: RoomLifecycle | null = null;

  private constructor(link: RedisLink, options: RedisBrokerOptions) {
    this.link = link;
    this.#redis = link.commands;
    this.#prefix = options.prefix ?? 'signaling:';
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError ?? (() => {});
    this.#channels = new RoomChannels(link, this.#prefix, this.#onError);
    defineRoomScripts(this.#redis);
    this.registry = new InstanceRegistry({
      link,
      prefix: this.#prefix,
      instanceId: this.instanceId,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      onError: this.#onError,
    });
    this.registry.register(this);
    const channels = this.#channels;
    this.sessions = new RedisSessions(
      this.#redis,
      this.#prefix,
      {
        instanceId: this.instanceId,
        sharded: link.cluster,
        channel: (roomId) => channels.channel(roomId),
        encode: (event) => channels.encode(event),
        leave: async (roomId, peerId) => (await this.#leave(roomId, peerId)) !== null,
        publish: (roomId, event) => this.publish(roomId, event),
        room: (roomId) => this.room(roomId),
        index: (roomId, peerId, held) =>
          held
            ? this.#redis.sadd(this.#indexKey(this.instanceId), indexEntry(roomId, peerId)).then(() => {})
            : this.#unindex(this.instanceId, roomId, peerId),
      },
      options.sessionLimits ?? DEFAULT_SESSION_LIMITS,
      this.#onError,
    );
  }

  /** Connects to Redis and joins the fleet's liveness registry; rejects if Redis is unreachable. */
  static async connect(options: RedisBrokerOptions): Promise<RedisBroker> {
    const onError = options.onError ?? (() => {});
    const link = await RedisLink.connect({ url: options.url, cluster: options.cluster ?? false, onError });
    const broker = new RedisBroker(link, options);
    try {
      await broker.registry.start();
    } catch (error) {
      await link.close();
      throw error;
    }
    return broker;
  }

  bindLocalMembership(source: LocalMembership): void {
    this.#membership = source;
  }

  subscribe(roomId: RoomId, listener: RoomEventListener): Promise<() => Promise<void>> {
    return this.#channels.subscribe(roomId, listener);
  }

  /**
   * Relays go through a script that also buffers them for detached recipients (`RedisSessions`),
   * batched per room and turn; any other event first sends the room's queued relays.
   */
  publish(roomId: RoomId, event: RoomEvent): Promise<void> {
    if (event.kind === 'relay') return this.sessions.publishRelay(roomId, event);
    this.sessions.flushRelays(roomId); // relays queued this turn go first, as they were published first
    return this.#channels.publish(roomId, event);
  }

  async join(
    roomId: RoomId,
    member: MemberInfo,
    maxPeers: number,
    options?: JoinOptions,
  ): Promise<JoinOutcome> {
    const stored: StoredMember = { ...member, instance: this.instanceId };
    // Indexed first: a member may be indexed and not in the room, never the other way round.
    await this.#redis.sadd(this.#indexKey(this.instanceId), indexEntry(roomId, member.peerId));
    const [members, meta] = this.#roomKeys(roomId);
    const result = await this.#redis.signalingJoin(
      members,
      meta,
      member.peerId,
      JSON.stringify(stored),
      maxPeers,
      this.#now(),
      options?.createMaxPeers ?? 0,
    );
    if (result === null) {
      await this.#unindex(this.instanceId, roomId, member.peerId);
      return { ok: false, reason: 'room_full' };
    }
    // The id belongs to another member: its index entry (the same text, if it is ours) must stay.
    // A stale entry is harmless: repairs only ever touch members stored under their own instance.
    if (result === 'taken') return { ok: false, reason: 'id_taken' };
    const [created, createdAt, all, cap, metadata] = result;
    await this.#redis.sadd(this.#key('rooms'), roomId);
    if (created === 1) this.#lifecycle?.roomStarted(roomId, Number(createdAt));
    const room = { roomId, createdAt: Number(createdAt), members: all.map(parseMember) };
    return { ok: true, room: { ...room, ...roomExtras(cap, metadata) } };
  }

  async leave(roomId: RoomId, peerId: PeerId): Promise<boolean> {
    const removed = await this.#leave(roomId, peerId);
    await this.#unindex(this.instanceId, roomId, peerId);
    return removed !== null;
  }

  observeRooms(lifecycle: RoomLifecycle): void {
    this.#lifecycle = lifecycle;
  }

  async setMetadata(roomId: RoomId, metadata: string): Promise<void> {
    await this.#redis.signalingMetadata(...this.#roomKeys(roomId), metadata, PENDING_METADATA_SECONDS);
  }

  denyToken(jti: string, expiresAt: number): Promise<void> {
    return denyToken(this.#redis, this.#key(`denied:${jti}`), expiresAt - this.#now());
  }

  isTokenDenied(jti: string): Promise<boolean> {
    return isTokenDenied(this.#redis, this.#key(`denied:${jti}`));
  }

  rooms(): Promise<readonly RoomSummary[]> {
    return readRooms(this.#redis, this.#key('rooms'), (roomId) => this.#roomKeys(roomId));
  }

  async roomCount(): Promise<number> {
    return this.#redis.scard(this.#key('rooms'));
  }

  room(roomId: RoomId): Promise<RoomSnapshot | null> {
    return readRoom(this.#redis, roomId, this.#roomKeys(roomId));
  }

  async isHealthy(): Promise<boolean> {
    if (!this.link.ready) return false;
    try {
      return (await this.#redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  /** Removes every member the dead instance `instanceId` held and tells their rooms `left`. */
  async reapInstance(instanceId: string): Promise<void> {
    const index = this.#indexKey(instanceId);
    for (const entry of await this.#redis.smembers(index)) {
      const [roomId, peerId] = splitEntry(entry);
      const member = await this.#leave(roomId, peerId);
      await this.sessions.close(roomId, peerId);
      if (member === null) continue;
      await this.publish(roomId, { kind: 'left', peerId });
      this.#lifecycle?.memberReaped(roomId, member);
    }
    await this.#redis.del(index);
  }

  /** Makes this instance's members in Redis exactly those it holds (`rewriteHeldMembers`). */
  async repair(): Promise<void> {
    // A join in flight is indexed but not yet held: it would look stale and be removed.
    const resumeJoins = await this.#membership?.pauseJoins();
    try {
      const held = this.#membership?.heldMembers() ?? new Map<RoomId, readonly MemberInfo[]>();
      await rewriteHeldMembers(held, {
        redis: this.#redis,
        instanceId: this.instanceId,
        indexKey: this.#indexKey(this.instanceId),
        roomsKey: this.#key('rooms'),
        lifecycle: this.#lifecycle,
        now: this.#now,
        roomKeys: (roomId) => this.#roomKeys(roomId),
        leave: (roomId, peerId) => this.#leave(roomId, peerId),
        publish: (roomId, event) => this.publish(roomId, event),
      });
    } finally {
      resumeJoins?.();
    }
  }

  /** Every instance has repaired by now: local views re-read the rooms once more. */
  settled(): void {
    this.#membership?.resync().catch((error: unknown) => this.#onError(error, 'resync'));
  }

  async close(): Promise<void> {
    await this.registry.stop();
    this.#channels.clear();
    await this.link.close();
  }

  /**
   * Removes one member, resolving it (null when it was not there); keeps the room listing in step
   * when the room empties, and reports the finish when this removal emptied it.
   */
  async #leave(roomId: RoomId, peerId: PeerId): Promise<MemberInfo | null> {
    this.sessions.flushRelays(roomId);
    const [members, meta] = this.#roomKeys(roomId);
    const [removed, emptied, json] = await this.#redis.signalingLeave(members, meta, peerId);
    if (removed === 1 && emptied === 1) this.#lifecycle?.roomFinished(roomId);
    if (emptied === 1) {
      const rooms = this.#key('rooms');
      await this.#redis.srem(rooms, roomId);
      // A join elsewhere may have recreated the room between the script and the SREM.
      if ((await this.#redis.exists(members)) === 1) await this.#redis.sadd(rooms, roomId);
    }
    return removed === 1 && json !== '' ? parseMember(json) : null;
  }

  async #unindex(instanceId: string, roomId: RoomId, peerId: PeerId): Promise<void> {
    await this.#redis.srem(this.#indexKey(instanceId), indexEntry(roomId, peerId));
  }

  #roomKeys(roomId: RoomId): [string, string] {
    return [this.#key(`room:{${roomId}}:members`), this.#key(`room:{${roomId}}:meta`)];
  }

  #indexKey(instanceId: string): string {
    return this.#key(`instance:${instanceId}:members`);
  }

  #key(suffix: string): string {
    return `${this.#prefix}${suffix}`;
  }
}
