import type { Logger } from 'pino';
import type { RawData } from 'ws';
import type { SecurityEvents } from '../../security/security-events.js';
import type { Peer } from '../../signaling/peer.js';
import type { EncodedRelay, ServerMessage } from '../../signaling/protocol.js';
import type { RoomId } from '../../signaling/room-id.js';
import type { SignalingHub } from '../../signaling/signaling-hub.js';
import type { ClientConnection } from './client-connection.js';
import type { DialectSession } from './dialect.js';
import {
  errorFrame,
  expireFrame,
  OPEN_FRAME,
  type PeerjsClientFrame,
  parsePeerjsFrame,
  relayFrame,
  takeoverClaim,
} from './peerjs-frames.js';

/**
 * Frames one connection may hold for peers that are not connected yet. Past it, a frame for an
 * absent peer is answered EXPIRE at once instead of waiting in memory.
 */
const MAX_HELD_FRAMES = 256;

/** What a PeerJS session needs: the hub, events, logs and the expire timeout. */
export interface PeerjsSessionDeps {
  readonly hub: SignalingHub;
  readonly events: SecurityEvents;
  readonly log: Logger;
  /** How long frames for an absent peer wait for it (`PEERJS_EXPIRE_TIMEOUT`). */
  readonly expireMs: number;
}

interface HeldFrames {
  readonly frames: string[];
  readonly timer: NodeJS.Timeout;
}

/**
 * One PeerJS client, joined to its key's room under its own id. OFFER, ANSWER, CANDIDATE and LEAVE
 * go to `dst` through the hub with `src` set here. A frame for a peer that is not (yet) a member is
 * held until that peer joins anywhere in the fleet, then delivered in order; if it does not join
 * within the expire timeout, the sender gets one EXPIRE for it. HEARTBEAT is never answered: any
 * frame is a sign of life to the gateway. A TAKEOVER proving this client's token (a reconnect of the
 * same client elsewhere) ends this connection without a closing handshake, so the id is freed at once.
 */
export class PeerjsSession implements DialectSession {
  /** The hub's view of this client; its `send` turns the hub's events into PeerJS frames. */
  readonly peer: Peer;
  readonly #deps: PeerjsSessionDeps;
  readonly #connection: ClientConnection;
  readonly #roomId: RoomId;
  readonly #id: string;
  readonly #claim: string;
  readonly #held = new Map<string, HeldFrames>();
  #heldCount = 0;

  constructor(
    deps: PeerjsSessionDeps,
    connection: ClientConnection,
    roomId: RoomId,
    id: string,
    claim: string,
  ) {
    this.#deps = deps;
    this.#connection = connection;
    this.#roomId = roomId;
    this.#id = id;
    this.#claim = claim;
    this.peer = {
      id,
      username: connection.username,
      send: (message) => this.#fromHub(message),
      sendEncoded: (payload) => this.#deliver(payload),
      close: (code, reason) => connection.close(code, reason),
    };
  }

  receive(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#refuse('binary frames are not accepted; send JSON text');
      return;
    }
    const frame = parsePeerjsFrame(data.toString());
    switch (frame.kind) {
      case 'heartbeat':
        return;
      case 'invalid':
        this.#refuse(frame.message);
        return;
      case 'relay':
        this.#relay(frame);
        return;
    }
  }

  /**
   * PeerJS has no word for a dropped message short of ERROR, which ends the client's Peer: the
   * frame is dropped silently (the security event is logged), and repeated drops close with 4429.
   */
  rateLimited(): void {}

  closed(code: number): void {
    this.dispose();
    const c = this.#connection;
    this.#deps.log.info(
      { ip: c.client.ip, user: c.username, room: this.#roomId, peer: this.#id, code },
      'peerjs client left',
    );
    void this.#deps.hub.leave(this.#roomId, this.peer);
  }

  /** Drops every held frame and its timer (the session ends or never started). */
  dispose(): void {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    this.#held.clear();
    this.#heldCount = 0;
  }

  #relay(frame: Extract<PeerjsClientFrame, { kind: 'relay' }>): void {
    // A LEAVE without dst announces the sender's own departure: its socket's close says that.
    if (frame.dst === null) return;
    const { hub } = this.#deps;
    if (!frame.dstValid) {
      if (frame.type !== 'LEAVE') this.#connection.send(expireFrame(frame.dst, this.#id));
      return;
    }
    const encoded = relayFrame(frame.type, this.#id, frame.dst, frame.payload);
    if (hub.hasMember(this.#roomId, frame.dst) && !this.#held.has(frame.dst)) {
      hub.relayEncoded(this.#roomId, this.#id, encoded, frame.dst);
      return;
    }
    // As the reference server does, a LEAVE for an absent peer is not kept.
    if (frame.type !== 'LEAVE') this.#hold(frame.dst, encoded);
  }

  #hold(dst: string, encoded: string): void {
    if (this.#heldCount >= MAX_HELD_FRAMES) {
      this.#connection.send(expireFrame(dst, this.#id));
      return;
    }
    let held = this.#held.get(dst);
    if (held === undefined) {
      const timer = setTimeout(() => this.#expire(dst), this.#deps.expireMs);
      timer.unref();
      held = { frames: [], timer };
      this.#held.set(dst, held);
    }
    held.frames.push(encoded);
    this.#heldCount += 1;
  }

  #expire(dst: string): void {
    const held = this.#take(dst);
    if (held !== undefined) this.#connection.send(expireFrame(dst, this.#id));
  }

  /** A peer joined the key somewhere in the fleet: what was held for it goes out, in order. */
  #flush(dst: string): void {
    const held = this.#take(dst);
    if (held === undefined) return;
    for (const frame of held.frames) this.#deps.hub.relayEncoded(this.#roomId, this.#id, frame, dst);
  }

  #take(dst: string): HeldFrames | undefined {
    const held = this.#held.get(dst);
    if (held === undefined) return undefined;
    clearTimeout(held.timer);
    this.#held.delete(dst);
    this.#heldCount -= held.frames.length;
    return held;
  }

  #fromHub(message: ServerMessage): void {
    if (message.type === 'joined') this.#connection.send(OPEN_FRAME);
    else if (message.type === 'peer_joined') this.#flush(message.peer_id);
    // peer_left is not told: the reference server does not, and a LEAVE would close the peers'
    // working connections to a client that only lost the server.
  }

  #deliver(payload: EncodedRelay): void {
    const text = typeof payload === 'string' ? payload : textDecoder.decode(payload);
    const claim = takeoverClaim(text);
    if (claim === null) {
      this.#connection.send(text);
      return;
    }
    if (claim !== this.#claim) return;
    const c = this.#connection;
    this.#deps.log.info({ ip: c.client.ip, room: this.#roomId, peer: this.#id }, 'peerjs id taken back');
    c.terminate();
  }

  #refuse(message: string): void {
    this.#deps.events.emit('invalid_message', {
      ...this.#connection.eventFields(),
      reason: message.slice(0, 100),
    });
    this.#connection.send(errorFrame(message));
  }
}

const textDecoder = new TextDecoder();
