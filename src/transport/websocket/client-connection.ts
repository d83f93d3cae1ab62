import type { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import type { AccessClaims } from '../../auth/tokens.js';
import type { ClientAddress } from '../../security/client-address.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { closeReason } from '../../signaling/errors.js';
import type { TrafficCounters } from './traffic-counters.js';

/** Relays may be UTF-8 bytes; they still go out as text frames. */
const TEXT_FRAME = { binary: false } as const;
const FIRST_FRAGMENT = { binary: false, fin: false } as const;
const LAST_FRAGMENT = { binary: false, fin: true } as const;

/** How a dialect says goodbye before the close frame (some clients ignore close codes). */
export type Farewell = (connection: ClientConnection, code: number, reason: string) => void;

/**
 * One open WebSocket and what every dialect shares about it: who it is (address, user, token
 * expiry), when it was last heard from, and how it is written to and closed. Sending never throws
 * and never buffers without bound: a client whose unsent data passes `sendBufferLimit` is too slow
 * to keep and is terminated (a `slow_consumer` event).
 */
export class ClientConnection {
  readonly ws: WebSocket;
  readonly client: ClientAddress;
  username: string | null = null;
  /** Token expiry in ms since the epoch, or null without a token. */
  tokenExpiresAt: number | null = null;
  /**
   * The verified token's claims (room limits for the join gate, `iat` for revocation), or null
   * without a token.
   */
  claims: AccessClaims | null = null;
  /** Set by the liveness monitor before it terminates a silent connection. */
  timedOut = false;
  /** For log lines and security events once the dialect knows them. */
  room: string | undefined;
  peerId: string | undefined;
  lastSeen: number;
  pingOutstanding = false;
  farewell: Farewell | null = null;
  readonly #sendBufferLimit: number;
  readonly #events: SecurityEvents;
  readonly #traffic: TrafficCounters | null;
  /** The TCP (or TLS) socket under `ws`, corked while frames for it gather within one tick. */
  readonly #socket: Writable | null;
  #corked = false;

  constructor(
    ws: WebSocket,
    client: ClientAddress,
    now: number,
    sendBufferLimit: number,
    events: SecurityEvents,
    traffic: TrafficCounters | null = null,
    socket: Writable | null = null,
  ) {
    this.ws = ws;
    this.client = client;
    this.lastSeen = now;
    this.#sendBufferLimit = sendBufferLimit;
    this.#events = events;
    this.#traffic = traffic;
    this.#socket = socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one text frame (a JSON string or its UTF-8 bytes); dropped silently once closing. */
  send(frame: string | Uint8Array): void {
    if (!this.#readyToSend()) return;
    this.ws.send(frame, TEXT_FRAME);
    this.#counted(typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength);
  }

  /**
   * Sends one text message as two fragments, `head` then `tail`, copying neither: a relay's shared
   * bytes and this recipient's `,"seq":n}`. Same checks and counting as `send`.
   */
  sendParts(head: Uint8Array, tail: Uint8Array): void {
    if (!this.#readyToSend()) return;
    this.ws.send(head, FIRST_FRAGMENT);
    this.ws.send(tail, LAST_FRAGMENT);
    this.#counted(head.byteLength + tail.byteLength);
  }

  /** False once closing, or after dropping a client too slow to keep; else corks for this tick. */
  #readyToSend(): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > this.#sendBufferLimit) {
      this.#events.emit('slow_consumer', this.eventFields());
      this.ws.terminate();
      return false;
    }
    this.#corkForTick();
    return true;
  }

  #counted(bytes: number): void {
    const traffic = this.#traffic;
    if (traffic === null) return;
    traffic.messagesOut += 1;
    traffic.bytesOut += bytes;
  }

  #corkForTick(): void {
    if (this.#socket === null || this.#corked) return;
    // Frames for one client within one tick (a burst relayed from one read of its partner's socket;
    // joined and presence) leave in one writev, one TCP segment, instead of one syscall each: the
    // kernel's share of a relay was ~40 % of its CPU. ws's own cork/uncork per frame nests inside.
    this.#socket.cork();
    this.#corked = true;
    process.nextTick(ClientConnection.#uncork, this);
  }

  static #uncork(connection: ClientConnection): void {
    connection.#corked = false;
    connection.#socket?.uncork();
  }

  /** Closes with `code` after the dialect's farewell; the reason is trimmed to what a close frame holds. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.farewell?.(this, code, reason);
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.#traffic?.countClose(code);
    closeSocket(this.ws, code, reason);
  }

  /** Ends the TCP connection without a closing handshake (dead or abusive peers). */
  terminate(): void {
    this.ws.terminate();
  }

  /** A sign of life: any frame, ping or pong. */
  markAlive(now: number): void {
    this.lastSeen = now;
    this.pingOutstanding = false;
  }

  /** The fields every security event about this connection carries. */
  eventFields(): { ip: string; user: string | null; room: string | undefined; peer: string | undefined } {
    return { ip: this.client.ip, user: this.username, room: this.room, peer: this.peerId };
  }
}

/** Closes a socket that may still be paused from the handshake checks or not yet open. */
export function closeSocket(ws: WebSocket, code: number, reason: string): void {
  // A socket paused during the join checks must read again, or the closing handshake never completes.
  if (ws.isPaused) ws.resume();
  if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)
    ws.close(code, closeReason(reason));
}
