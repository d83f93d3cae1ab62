import type { EncodedRelay, PeerId } from './protocol.js';
import type { RoomId } from './room-id.js';
import type { SessionStore } from './session-store.js';

/** A peer as every instance of the fleet knows it. */
export interface MemberInfo {
  readonly peerId: PeerId;
  readonly username: string | null;
  /** Milliseconds since the epoch. */
  readonly joinedAt: number;
}

/** One active room in the listing. */
export interface RoomSummary {
  readonly roomId: RoomId;
  readonly peerCount: number;
  readonly createdAt: number;
}

/** A room and its members at one moment. */
export interface RoomSnapshot {
  readonly roomId: RoomId;
  readonly createdAt: number;
  readonly members: readonly MemberInfo[];
  /** The room's own cap, set by the join that created it (a token's `max_peers`); absent: the global one. */
  readonly maxPeers?: number;
  /** Text an admin attached to the room (`PUT /api/rooms/{room_id}/metadata`), shown in `joined`. */
  readonly metadata?: string;
}

/** How a join may shape the room it creates. */
export interface JoinOptions {
  /** Cap of the room if this join creates it; later joins see the lower of it and their own cap. */
  readonly createMaxPeers?: number;
}

/**
 * A room's life as the broker decides it, atomically across the fleet: each start and finish is
 * reported once, on the instance whose join or leave caused it (the reaper's, for a crashed
 * instance's members). Callbacks must not throw and must not block (they only enqueue).
 */
export interface RoomLifecycle {
  roomStarted(roomId: RoomId, createdAt: number): void;
  roomFinished(roomId: RoomId): void;
  /** A crashed instance's member was removed by this instance (its socket is gone unseen). */
  memberReaped(roomId: RoomId, member: MemberInfo): void;
}

/**
 * Result of an atomic join: the room as it is with the new member in it, or why not: the room is
 * full, or its peer id is already a member (ids chosen by clients, as PeerJS ids are).
 */
export type JoinOutcome =
  | { readonly ok: true; readonly room: RoomSnapshot }
  | { readonly ok: false; readonly reason: 'room_full' | 'id_taken' };

/**
 * What travels between instances about a room. `relay.payload` is the encoded relayed message, so it
 * is serialised once however many peers and instances receive it.
 */
export type RoomEvent =
  | { readonly kind: 'joined'; readonly member: MemberInfo }
  | { readonly kind: 'left'; readonly peerId: PeerId }
  | { readonly kind: 'relay'; readonly from: PeerId; readonly to?: PeerId; readonly payload: EncodedRelay }
  /** Admin API: the instance holding `peerId` closes it with 4410 and `reason`. */
  | { readonly kind: 'kick'; readonly peerId: PeerId; readonly reason: string }
  /** Admin API: every instance closes its peers of the room with 4410 and `reason`. */
  | { readonly kind: 'close'; readonly reason: string }
  /** Admin API: `{type:"server", payload}` to `to`, or to every peer of the room. */
  | { readonly kind: 'server'; readonly to?: PeerId; readonly payload: unknown }
  | SessionEvent;

/**
 * A marker in a room's event stream about one peer's session (never shown to clients): `detached`
 * and `resumed` are published atomically with the change in the `SessionStore`, so every relay is
 * on exactly one side of them; `takeover` asks the instance holding the peer's old connection to let
 * it go (it checks `tokenHash` and `username` itself).
 */
export interface SessionEvent {
  readonly kind: 'session';
  readonly peerId: PeerId;
  readonly phase: 'detached' | 'resumed' | 'takeover';
  readonly tokenHash?: string;
  readonly username?: string | null;
}

export type RoomEventListener = (event: RoomEvent) => void;

/**
 * What one instance really holds, so a shared broker can repair its state after an outage. The hub
 * implements it; brokers only read it.
 */
export interface LocalMembership {
  /** Every room with peers joined through this instance, and those peers' member records. */
  heldMembers(): ReadonlyMap<RoomId, readonly MemberInfo[]>;
  /** Shared state may have changed unseen: re-read each room and tell local peers who came and went. */
  resync(): Promise<void>;
  /**
   * Holds new joins back and resolves, with the function that lets them go on, once the joins in
   * flight are done: a repair then sees every member this instance holds, none half-joined.
   */
  pauseJoins(): Promise<() => void>;
}

/**
 * Where rooms live: membership (with the room cap enforced atomically) and event delivery.
 * Delivery guarantee: every listener subscribed to a room when an event is published receives it once,
 * and events published by one caller arrive in the order they were published. Every listener of a
 * room sees its events in one same order (one Redis, or the room's one shard, orders them), which
 * the session markers rely on. Nothing is persisted:
 * a listener subscribed after a publish does not see it. A room exists while it has members and is
 * removed when its last member leaves.
 */
export interface Broker {
  readonly kind: 'memory' | 'redis';
  /** Starts delivering the room's events to `listener`; resolves once delivery is active. */
  subscribe(roomId: RoomId, listener: RoomEventListener): Promise<() => Promise<void>>;
  /**
   * Delivers `event` to the room's subscribers. In-process brokers deliver before returning and
   * return nothing, so the relay hot path allocates no promise; remote ones resolve once sent.
   */
  publish(roomId: RoomId, event: RoomEvent): void | Promise<void>;
  /**
   * Adds a member unless its peer id is already in the room (`id_taken`, checked first) or the room
   * already has `maxPeers` (or the lower cap the room was created with); the checks and the add are
   * one atomic step. Creates the room on first join.
   */
  join(roomId: RoomId, member: MemberInfo, maxPeers: number, options?: JoinOptions): Promise<JoinOutcome>;
  /** Removes a member; resolves true when it was there. Deletes the room when it becomes empty. */
  leave(roomId: RoomId, peerId: PeerId): Promise<boolean>;
  rooms(): Promise<readonly RoomSummary[]>;
  /** How many rooms are active: one cheap read, for `/health`. */
  roomCount(): Promise<number>;
  room(roomId: RoomId): Promise<RoomSnapshot | null>;
  /** True while the broker can serve joins and deliver events. */
  isHealthy(): Promise<boolean>;
  /**
   * Tells the broker what this instance holds. A shared broker uses it to rewrite this instance's
   * members after an outage and then calls `resync`; an in-process broker has nothing to repair.
   */
  bindLocalMembership(source: LocalMembership): void;
  /** Where room starts and finishes (and reaped members) are reported; one observer, set once. */
  observeRooms(lifecycle: RoomLifecycle): void;
  /**
   * Attaches `metadata` to the room, active or not yet started; it lasts until the room finishes
   * (a room that never starts forgets it after a day).
   */
  setMetadata(roomId: RoomId, metadata: string): Promise<void>;
  /** Refuses the token `jti` fleet-wide until `expiresAt` (ms since the epoch), when it expires anyway. */
  denyToken(jti: string, expiresAt: number): Promise<void>;
  /** True when `jti` is on the deny list. */
  isTokenDenied(jti: string): Promise<boolean>;
  /** Sessions that outlive their connections (resume); shares this broker's rooms and events. */
  readonly sessions: SessionStore;
  close(): Promise<void>;
}
