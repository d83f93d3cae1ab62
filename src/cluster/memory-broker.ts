import type {
  Broker,
  JoinOptions,
  JoinOutcome,
  MemberInfo,
  RoomEvent,
  RoomEventListener,
  RoomLifecycle,
  RoomSnapshot,
  RoomSummary,
} from '../signaling/broker.js';
import type { PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import { DEFAULT_SESSION_LIMITS, type SessionLimits } from '../signaling/session-store.js';
import { MemorySessions } from './memory-sessions.js';

interface StoredRoom {
  readonly createdAt: number;
  readonly members: Map<PeerId, MemberInfo>;
  readonly maxPeers?: number;
}

/** How long metadata set for a room that never starts is kept (as in Redis). */
const PENDING_METADATA_MS = 86_400_000;

/**
 * The single-process broker: rooms in a Map, events delivered synchronously inside `publish`, in
 * publish order. A listener that throws does not stop delivery to the others. Relays for detached
 * peers are kept by `sessions` inside the same `publish`.
 */
export class MemoryBroker implements Broker {
  readonly kind = 'memory' as const;
  readonly #rooms = new Map<RoomId, StoredRoom>();
  readonly #listeners = new Map<RoomId, Set<RoomEventListener>>();
  readonly #now: () => number;
  /** Metadata by room, with when it was set: kept until the room finishes. */
  readonly #metadata = new Map<RoomId, { readonly text: string; readonly at: number }>();
  /** Denied token ids and when each expires anyway. */
  readonly #denied = new Map<string, number>();
  #lifecycle: RoomLifecycle | null = null;
  readonly sessions: MemorySessions;

  constructor(now: () => number = Date.now, limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
    this.#now = now;
    this.sessions = new MemorySessions(
      {
        member: (roomId, peerId) => this.#rooms.get(roomId)?.members.get(peerId),
        room: (roomId) => this.room(roomId),
        leave: (roomId, peerId) => this.leave(roomId, peerId),
        publish: (roomId, event) => this.publish(roomId, event),
      },
      limits,
      now,
    );
  }

  async subscribe(roomId: RoomId, listener: RoomEventListener): Promise<() => Promise<void>> {
    let set = this.#listeners.get(roomId);
    if (!set) {
      set = new Set();
      this.#listeners.set(roomId, set);
    }
    set.add(listener);
    return async () => {
      const current = this.#listeners.get(roomId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.#listeners.delete(roomId);
    };
  }

  publish(roomId: RoomId, event: RoomEvent): void {
    if (event.kind === 'relay') this.sessions.buffer(roomId, event.from, event.to, event.payload);
    const set = this.#listeners.get(roomId);
    if (!set) return;
    for (const listener of set) {
      try {
        listener(event);
      } catch {
        // One failing listener must not starve the others; listeners report their own errors.
      }
    }
  }

  async join(
    roomId: RoomId,
    member: MemberInfo,
    maxPeers: number,
    options: JoinOptions = {},
  ): Promise<JoinOutcome> {
    let room = this.#rooms.get(roomId);
    if (room?.members.has(member.peerId)) return { ok: false, reason: 'id_taken' };
    if (room && room.members.size >= Math.min(maxPeers, room.maxPeers ?? maxPeers))
      return { ok: false, reason: 'room_full' };
    const created = !room;
    if (!room) {
      const cap = options.createMaxPeers;
      room = { createdAt: this.#now(), members: new Map(), ...(cap ? { maxPeers: cap } : {}) };
      this.#rooms.set(roomId, room);
      const pending = this.#metadata.get(roomId);
      if (pending && this.#now() - pending.at > PENDING_METADATA_MS) this.#metadata.delete(roomId);
    }
    room.members.set(member.peerId, member);
    if (created) this.#lifecycle?.roomStarted(roomId, room.createdAt);
    return { ok: true, room: this.#snapshot(roomId, room) };
  }

  async leave(roomId: RoomId, peerId: PeerId): Promise<boolean> {
    const room = this.#rooms.get(roomId);
    if (!room?.members.delete(peerId)) return false;
    if (room.members.size === 0) {
      this.#rooms.delete(roomId);
      this.#metadata.delete(roomId);
      this.#lifecycle?.roomFinished(roomId);
    }
    return true;
  }

  observeRooms(lifecycle: RoomLifecycle): void {
    this.#lifecycle = lifecycle;
  }

  async setMetadata(roomId: RoomId, metadata: string): Promise<void> {
    this.#metadata.set(roomId, { text: metadata, at: this.#now() });
  }

  async denyToken(jti: string, expiresAt: number): Promise<void> {
    const now = this.#now();
    for (const [id, until] of this.#denied) if (until <= now) this.#denied.delete(id);
    if (expiresAt > now) this.#denied.set(jti, expiresAt);
  }

  async isTokenDenied(jti: string): Promise<boolean> {
    const until = this.#denied.get(jti);
    return until !== undefined && until > this.#now();
  }

  async rooms(): Promise<readonly RoomSummary[]> {
    return [...this.#rooms].map(([roomId, room]) => ({
      roomId,
      peerCount: room.members.size,
      createdAt: room.createdAt,
    }));
  }

  async roomCount(): Promise<number> {
    return this.#rooms.size;
  }

  /** Nothing to repair: the rooms live in this process with the peers. */
  bindLocalMembership(): void {}

  async room(roomId: RoomId): Promise<RoomSnapshot | null> {
    const room = this.#rooms.get(roomId);
    return room ? this.#snapshot(roomId, room) : null;
  }

  async isHealthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    this.#rooms.clear();
  }

  #snapshot(roomId: RoomId, room: StoredRoom): RoomSnapshot {
    const metadata = this.#metadata.get(roomId)?.text;
    return {
      roomId,
      createdAt: room.createdAt,
      members: [...room.members.values()],
      ...(room.maxPeers !== undefined ? { maxPeers: room.maxPeers } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    };
  }
}
