import type { LocalMembership, MemberInfo, RoomEvent } from './broker.js';
import { ErrorCode } from './errors.js';
import { deliverRoomEvent, type LocalRoom } from './local-room.js';
import type { Peer } from './peer.js';
import type { ClientMessage, EncodedRelay, PeerId, RelayableMessage } from './protocol.js';
import { encodeRelay, relaySuffix } from './relay-encoding.js';
import type { RoomId } from './room-id.js';
import type { LeaveReason } from './room-observer.js';
import type { HubJoinOptions, JoinResult, SignalingHubDeps } from './signaling-hub-options.js';

export type { HubJoinOptions, JoinResult, SignalingHubDeps };

/**
 * The signaling core: rooms, presence and relay. It knows peers only through `Peer` and rooms only
 * through `Broker`. Every relay and presence change is published to the broker and delivered from the
 * broker's callback, so one process runs exactly the code a fleet runs.
 * Ordering: a sender's relays reach each recipient in the order the hub received them.
 * A peer never receives its own messages. Presence is told once per change: a `joined` or `left` the
 * hub already knows of (a repair announcing it again) is not repeated to the peers.
 */
export class SignalingHub implements LocalMembership {
  readonly #deps: SignalingHubDeps;
  readonly #rooms = new Map<RoomId, LocalRoom>();
  /** Each local peer's `,"from":"<id>"}` bytes, so relaying a frame allocates once. */
  readonly #suffixes = new WeakMap<Peer, Uint8Array>();
  /** Each local peer's own member record, as the broker was given it. */
  readonly #records = new WeakMap<Peer, MemberInfo>();
  /** Peers closed by a kick or a room close: their leave is `kicked` whatever code the client echoes. */
  readonly #kicked = new WeakSet<Peer>();
  #localPeerCount = 0;
  /** Joins wait here while a repair holds them back (`pauseJoins`). */
  #joinGate: Promise<void> = Promise.resolve();
  /** Joins between the gate and their end; a repair waits until none is left. */
  #joinsInFlight = 0;
  #joinsIdle: Array<() => void> = [];

  constructor(deps: SignalingHubDeps) {
    this.#deps = deps;
    deps.broker.bindLocalMembership(this);
  }

  /** Number of peers joined through this instance. */
  get localPeerCount(): number {
    return this.#localPeerCount;
  }

  /** Number of rooms with at least one peer on this instance. */
  get localRoomCount(): number {
    return this.#rooms.size;
  }

  /**
   * Adds `peer` to the room. On success the peer has been sent `joined` and everyone else is told
   * `peer_joined`. On failure the caller closes the connection: nothing was sent for a full room;
   * when the broker fails after `joined` went out, the membership is rolled back before returning.
   * `maxPeers` overrides `MAX_CONNECTIONS_PER_ROOM` for rooms of other dialects (PeerJS keys, topics);
   * `createMaxPeers` caps a room this join creates (a token's `max_peers`).
   */
  async join(roomId: RoomId, peer: Peer, options: HubJoinOptions = {}): Promise<JoinResult> {
    const { maxPeers = this.#deps.maxPeersPerRoom, admit } = options;
    const brokerOptions =
      options.createMaxPeers === undefined ? {} : { createMaxPeers: options.createMaxPeers };
    const room = this.#localRoom(roomId);
    room.pendingJoins += 1;
    let member: MemberInfo = { peerId: peer.id, username: peer.username, joinedAt: this.#deps.now() };
    const announce = options.announce ?? true;
    let inBroker = false;
    let counted = false;
    try {
      await room.ready;
      await this.#joinGate;
      this.#joinsInFlight += 1;
      counted = true;
      // A resumed peer is listed first: it must see every event from its `resumed` marker on.
      if (!announce) this.#list(room, peer);
      const outcome = await (admit?.(member) ??
        this.#deps.broker.join(roomId, member, maxPeers, brokerOptions));
      if (!outcome.ok) {
        if (!announce && room.peers.delete(peer.id)) this.#localPeerCount -= 1;
        return { ok: false, reason: outcome.reason };
      }
      inBroker = announce;
      if (!announce) member = outcome.room.members.find((m) => m.peerId === peer.id) ?? member;
      // The new peer itself enters `members` with its own `joined` event, which tells the local others.
      for (const m of outcome.room.members)
        if (m.peerId !== peer.id && !room.departed.has(m.peerId)) room.members.set(m.peerId, m);
      await options.admitted?.(member);
      if (announce) this.#list(room, peer);
      this.#records.set(peer, member);
      // The room's view, not the reply alone: a member whose `joined` event arrived while this join
      // awaited `admitted` was told to the peers listed then, which did not include this one yet.
      const others: MemberInfo[] = [];
      for (const m of room.members.values()) if (m.peerId !== peer.id) others.push(m);
      peer.send({
        type: 'joined',
        room_id: roomId,
        peer_id: peer.id,
        peers: others.map((m) => m.peerId),
        peer_info: others.map((m) => ({ peer_id: m.peerId, username: m.username })),
        ...(outcome.room.metadata !== undefined ? { metadata: outcome.room.metadata } : {}),
        ...options.extras?.(),
      });
      if (announce) {
        await this.#deps.broker.publish(roomId, { kind: 'joined', member });
        this.#deps.observer?.peerJoined(roomId, member);
      } else room.members.set(peer.id, member);
      return { ok: true };
    } catch (error) {
      this.#deps.onBrokerError?.(error, 'join');
      if (room.peers.delete(peer.id)) this.#localPeerCount -= 1;
      // Half a join (a member nobody was told about) must not linger in the shared room.
      if (inBroker) await this.#deps.broker.leave(roomId, peer.id).catch(() => false);
      return { ok: false, reason: 'unavailable' };
    } finally {
      if (counted) this.#joinSettled();
      room.pendingJoins -= 1;
      if (room.pendingJoins === 0) room.departed.clear();
      this.#releaseIfEmpty(roomId, room);
    }
  }

  async pauseJoins(): Promise<() => void> {
    let release!: () => void;
    const paused = new Promise<void>((resolve) => {
      release = resolve;
    });
    const before = this.#joinGate;
    this.#joinGate = before.then(() => paused);
    await before;
    while (this.#joinsInFlight > 0) await new Promise<void>((resolve) => this.#joinsIdle.push(resolve));
    return release;
  }

  #joinSettled(): void {
    this.#joinsInFlight -= 1;
    if (this.#joinsInFlight > 0) return;
    for (const wake of this.#joinsIdle.splice(0)) wake();
  }

  /** Removes `peer` (closed, dropped or timed out) and tells the others `peer_left`. Idempotent. */
  async leave(roomId: RoomId, peer: Peer, reason: LeaveReason = 'left'): Promise<void> {
    const room = this.#rooms.get(roomId);
    if (!room || room.peers.get(peer.id) !== peer) return;
    room.peers.delete(peer.id);
    this.#localPeerCount -= 1;
    const record = this.#records.get(peer);
    if (record) this.#deps.observer?.peerLeft(roomId, record, this.#kicked.has(peer) ? 'kicked' : reason);
    try {
      const wasMember = await this.#deps.broker.leave(roomId, peer.id);
      if (wasMember) await this.#deps.broker.publish(roomId, { kind: 'left', peerId: peer.id });
    } catch (error) {
      this.#deps.onBrokerError?.(error, 'leave');
    } finally {
      this.#releaseIfEmpty(roomId, room);
    }
  }

  /** Forgets a local peer without telling the broker or the room: its session lives on (detached). */
  release(roomId: RoomId, peer: Peer): void {
    const room = this.#rooms.get(roomId);
    if (!room || room.peers.get(peer.id) !== peer) return;
    room.peers.delete(peer.id);
    this.#localPeerCount -= 1;
    this.#releaseIfEmpty(roomId, room);
  }

  heldMembers(): ReadonlyMap<RoomId, readonly MemberInfo[]> {
    const held = new Map<RoomId, MemberInfo[]>();
    for (const [roomId, room] of this.#rooms) {
      const members: MemberInfo[] = [];
      for (const peer of room.peers.values()) {
        const record = this.#records.get(peer);
        if (record) members.push(record);
      }
      if (members.length > 0) held.set(roomId, members);
    }
    return held;
  }

  async resync(): Promise<void> {
    for (const [roomId, room] of [...this.#rooms]) {
      if (room.pendingJoins > 0) continue;
      const snapshot = await this.#deps.broker.room(roomId);
      const present = new Map((snapshot?.members ?? []).map((m) => [m.peerId, m]));
      for (const peer of room.peers.values()) {
        const record = this.#records.get(peer);
        if (record) present.set(peer.id, record);
      }
      for (const peerId of [...room.members.keys()])
        if (!present.has(peerId)) this.#deliver(room, { kind: 'left', peerId });
      for (const member of present.values())
        if (!room.members.has(member.peerId)) this.#deliver(room, { kind: 'joined', member });
    }
  }

  /**
   * Handles one validated message from a joined peer: `ping` is answered directly, relays are
   * published to the room. `auth` belongs to the transport and is ignored here. `exactFrame` is the
   * frame's bytes when `parseClientMessage` found only contract fields in it.
   */
  receive(roomId: RoomId, peer: Peer, message: ClientMessage, exactFrame?: Uint8Array): void {
    switch (message.type) {
      case 'ping':
        peer.send(message.ts === undefined ? { type: 'pong' } : { type: 'pong', ts: message.ts });
        return;
      case 'offer':
      case 'answer':
      case 'ice_candidate':
        this.#relay(roomId, peer, message, exactFrame);
        return;
      case 'auth':
        return;
    }
  }

  /**
   * Relays a frame another dialect encoded itself (opaque to the core) through the broker, exactly as
   * `receive` relays ours: to the local peer `to` wherever it is in the fleet, or without `to` to
   * every peer of the room except the one whose id is `from`. The sender need not be a member (a
   * y-webrtc publisher); a `from` that is no member's id reaches every member.
   */
  relayEncoded(roomId: RoomId, from: PeerId, payload: EncodedRelay, to?: PeerId): void {
    const event: RoomEvent =
      to === undefined ? { kind: 'relay', from, payload } : { kind: 'relay', from, to, payload };
    const sent = this.#deps.broker.publish(roomId, event);
    if (sent) sent.catch((error) => this.#deps.onBrokerError?.(error, 'relay'));
  }

  /** True when `peerId` is a member of the room anywhere in the fleet, as this instance knows it. */
  hasMember(roomId: RoomId, peerId: PeerId): boolean {
    return this.#rooms.get(roomId)?.members.has(peerId) ?? false;
  }

  /** Members of the room across the fleet, as this instance knows it (0 without a local peer). */
  memberCount(roomId: RoomId): number {
    return this.#rooms.get(roomId)?.members.size ?? 0;
  }

  #relay(roomId: RoomId, peer: Peer, message: RelayableMessage, exactFrame: Uint8Array | undefined): void {
    const room = this.#rooms.get(roomId);
    if (!room?.peers.has(peer.id)) return;
    const to = message.to;
    if (to !== undefined && (to === peer.id || !room.members.has(to))) {
      peer.send({
        type: 'error',
        code: ErrorCode.UnknownPeer,
        message: to === peer.id ? 'cannot send a message to yourself' : 'no such peer in this room',
      });
      return;
    }
    let suffix = this.#suffixes.get(peer);
    if (suffix === undefined) {
      suffix = relaySuffix(peer.id);
      this.#suffixes.set(peer, suffix);
    }
    this.#deps.onRelay?.(roomId, peer.id, to, message.type);
    const payload = encodeRelay(message, peer.id, exactFrame, suffix);
    const event: RoomEvent =
      to === undefined
        ? { kind: 'relay', from: peer.id, payload }
        : { kind: 'relay', from: peer.id, to, payload };
    const sent = this.#deps.broker.publish(roomId, event);
    if (sent) sent.catch((error) => this.#deps.onBrokerError?.(error, 'relay'));
  }

  #list(room: LocalRoom, peer: Peer): void {
    room.peers.set(peer.id, peer);
    this.#localPeerCount += 1;
  }

  #localRoom(roomId: RoomId): LocalRoom {
    const existing = this.#rooms.get(roomId);
    if (existing) return existing;
    const room: LocalRoom = {
      peers: new Map(),
      members: new Map(),
      departed: new Set(),
      pendingJoins: 0,
      ready: Promise.resolve(async () => {}),
    };
    room.ready = this.#deps.broker.subscribe(roomId, (event) => this.#deliver(room, event));
    this.#rooms.set(roomId, room);
    return room;
  }

  #deliver(room: LocalRoom, event: RoomEvent): void {
    deliverRoomEvent(room, event, this.#kicked);
  }

  #releaseIfEmpty(roomId: RoomId, room: LocalRoom): void {
    if (room.peers.size > 0 || room.pendingJoins > 0 || this.#rooms.get(roomId) !== room) return;
    this.#rooms.delete(roomId);
    room.ready
      .then((unsubscribe) => unsubscribe())
      .catch((error) => this.#deps.onBrokerError?.(error, 'unsubscribe'));
  }
}
