import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import { bearerToken } from '../../auth/tokens.js';
import type { JoinGate } from '../../integration/join-gate.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { CloseCode, ErrorCode } from '../../signaling/errors.js';
import type { Peer } from '../../signaling/peer.js';
import type { FreshJoin, PeerSessions, ResumeRequest } from '../../signaling/peer-sessions.js';
import { type AuthMessage, parseClientMessage } from '../../signaling/protocol.js';
import { parseRoomId, type RoomId } from '../../signaling/room-id.js';
import { leaveReasonOf } from '../../signaling/room-observer.js';
import { SessionPeer } from '../../signaling/session-peer.js';
import { relayHead, seqTail } from '../../signaling/session-protocol.js';
import type { SignalingHub } from '../../signaling/signaling-hub.js';
import type { ClientConnection } from './client-connection.js';
import type { ConnectionAuth } from './connection-auth.js';
import type { Dialect, DialectRequest, DialectSession } from './dialect.js';

const PATH_PREFIX = '/ws/';

export interface SignalingDialectDeps {
  readonly hub: SignalingHub;
  readonly auth: ConnectionAuth;
  readonly events: SecurityEvents;
  readonly log: Logger;
  readonly randomId: () => string;
  /** The application's say over joins (token room limits, join hook); absent: every join goes on. */
  readonly gate?: JoinGate;
  /** Joins and resumes (`?resume=<token>&last_seq=<n>`); without it every join is fresh. */
  readonly sessions?: PeerSessions;
}

/**
 * The contract's own dialect (CONTRACT.md, "WebSocket"): `/ws/{room_id}`, the token as `?token=`,
 * `Authorization: Bearer` or the first message `{"type":"auth","token"}`, JSON text messages validated by the protocol module, refusals as
 * `{type:"error"}` and close codes. Each connection is one `Peer` of the signaling hub.
 */
export class SignalingDialect implements Dialect {
  readonly #deps: SignalingDialectDeps;

  constructor(deps: SignalingDialectDeps) {
    this.#deps = deps;
  }

  serves(path: string): boolean {
    return path.startsWith(PATH_PREFIX);
  }

  token(req: IncomingMessage): string | null {
    const header = bearerToken(req.headers.authorization);
    if (header !== null) return header;
    const query = (req.url ?? '').split('?')[1];
    if (!query) return null;
    return new URLSearchParams(query).get('token') || null;
  }

  /**
   * `?auth=message`: the client sends `{"type":"auth","token"}` as its first message, which keeps the
   * token out of URLs and proxy logs. Without that parameter a missing token is refused at once
   * (4401), as the contract says.
   */
  tokenMessage(req: IncomingMessage): ((data: RawData, isBinary: boolean) => string | null) | null {
    const query = (req.url ?? '').split('?')[1];
    if (!query || new URLSearchParams(query).get('auth') !== 'message') return null;
    return readAuthMessage;
  }

  request(req: IncomingMessage, path: string): DialectRequest {
    const roomId = decodeRoomId(path.slice(PATH_PREFIX.length));
    if (roomId === null) {
      return {
        ok: false,
        code: CloseCode.InvalidRoom,
        reason: 'invalid room id',
        event: 'invalid_room',
        detail: path,
      };
    }
    const resume = resumeRequest(req);
    return { ok: true, open: (connection) => this.#join(connection, roomId, resume) };
  }

  async #join(
    connection: ClientConnection,
    roomId: RoomId,
    resume: ResumeRequest | undefined,
  ): Promise<DialectSession | null> {
    const { hub, log, events, sessions } = this.#deps;
    connection.room = roomId;
    // The id the application's hook is told: the one a fresh join gets, or the one a resume claims.
    const freshId = resume === undefined ? this.#deps.randomId() : undefined;
    connection.peerId = freshId ?? resume?.token.split('.', 1)[0];
    const admission = this.#deps.gate
      ? await this.#deps.gate.admit(connection, roomId, connection.peerId ?? '')
      : null;
    if (admission && !admission.ok) {
      connection.close(admission.code, admission.reason);
      return null;
    }
    if (!connection.isOpen) return null;
    const fresh = { ...admission?.options, ...(freshId === undefined ? {} : { peerId: freshId }) };
    const result = sessions
      ? await sessions.open(roomId, connection.username, (id) => peerOf(connection, id), resume, fresh)
      : await this.#plainJoin(connection, roomId, fresh);
    if (!result.ok) {
      if (result.reason === 'room_full') {
        events.emit('room_full', { ip: connection.client.ip, user: connection.username, room: roomId });
        connection.close(CloseCode.RoomFull, 'room full');
      } else {
        connection.close(CloseCode.TryAgainLater, 'rooms unavailable, try again later');
      }
      return null;
    }
    const { peer } = result;
    connection.peerId = peer.id;
    if (!connection.isOpen) {
      // Closed while joining: nobody else will make this peer leave (or keep it for a resume).
      if (sessions && peer instanceof SessionPeer) sessions.closed(roomId, peer, 1006);
      else void hub.leave(roomId, peer);
      return null;
    }
    log.info(
      { ip: connection.client.ip, user: connection.username, room: roomId, peer: peer.id },
      'peer joined',
    );
    return new SignalingSession(this.#deps, connection, roomId, peer);
  }

  async #plainJoin(connection: ClientConnection, roomId: RoomId, fresh: FreshJoin) {
    const { peerId, ...options } = fresh;
    const peer = peerOf(connection, peerId ?? this.#deps.randomId());
    const result = await this.#deps.hub.join(roomId, peer, options);
    return result.ok ? { ok: true as const, peer } : result;
  }
}

/** One joined peer: its frames go to the hub, its refusals back as `{type:"error"}`. */
class SignalingSession implements DialectSession {
  readonly #deps: SignalingDialectDeps;
  readonly #connection: ClientConnection;
  readonly #roomId: RoomId;
  readonly #peer: Peer;

  constructor(deps: SignalingDialectDeps, connection: ClientConnection, roomId: RoomId, peer: Peer) {
    this.#deps = deps;
    this.#connection = connection;
    this.#roomId = roomId;
    this.#peer = peer;
  }

  receive(data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#refuse(ErrorCode.InvalidMessage, 'binary frames are not accepted; send JSON text');
      return;
    }
    const parsed = parseClientMessage(data.toString());
    if (!parsed.ok) {
      this.#refuse(parsed.code, parsed.message);
      return;
    }
    if (parsed.message.type === 'auth') {
      void this.#refreshToken(parsed.message);
      return;
    }
    this.#deps.hub.receive(
      this.#roomId,
      this.#peer,
      parsed.message,
      parsed.exact ? toBytes(data) : undefined,
    );
  }

  rateLimited(): void {
    this.#peer.send({
      type: 'error',
      code: ErrorCode.RateLimited,
      message: 'rate limit exceeded; message dropped',
    });
  }

  closed(code: number): void {
    const c = this.#connection;
    this.#deps.log.info(
      { ip: c.client.ip, user: c.username, room: this.#roomId, peer: this.#peer.id, code },
      'peer left',
    );
    const { sessions } = this.#deps;
    if (sessions && this.#peer instanceof SessionPeer) sessions.closed(this.#roomId, this.#peer, code);
    else void this.#deps.hub.leave(this.#roomId, this.#peer, leaveReasonOf(code, c.timedOut));
  }

  #refuse(code: ErrorCode, message: string): void {
    this.#deps.events.emit('invalid_message', { ...this.#connection.eventFields(), reason: code });
    this.#peer.send({ type: 'error', code, message });
  }

  async #refreshToken(message: AuthMessage): Promise<void> {
    const result = await this.#deps.auth.refresh(this.#connection, message.token);
    if (result.ok) this.#peer.send({ type: 'auth_ok', expires_in: result.expiresIn });
    else if (!result.closed)
      this.#peer.send({
        type: 'error',
        code: ErrorCode.InvalidMessage,
        message: `token refused: ${result.reason}`,
      });
  }
}

/** The hub's view of a connection: sending never throws, closing goes through the connection. */
function peerOf(connection: ClientConnection, id: string): Peer {
  return {
    id,
    username: connection.username,
    send: (message) => connection.send(JSON.stringify(message)),
    sendEncoded: (json) => connection.send(json),
    sendRelay: (json, seq) => sendNumbered(connection, relayHead(json), seqTail(seq)),
    close: (code, reason) => connection.close(code, reason),
  };
}

/** Below this a relay is joined with its `seq` into one frame (a small copy beats a second frame). */
const FRAGMENT_FROM_BYTES = 4096;

/** A relay with this recipient's `seq`: one frame when small, else the shared bytes and the suffix. */
function sendNumbered(connection: ClientConnection, head: Uint8Array, tail: string): void {
  if (head.length >= FRAGMENT_FROM_BYTES) {
    connection.sendParts(head, Buffer.from(tail, 'latin1'));
    return;
  }
  // Pooled and short-lived: every byte is written just below.
  const frame = Buffer.allocUnsafe(head.length + tail.length);
  frame.set(head, 0);
  frame.write(tail, head.length, 'latin1');
  connection.send(frame);
}

/** ws hands text frames over as one Buffer (fragments already joined); the other forms are rare. */
function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/** `?resume=<token>&last_seq=<n>`, when the client asks to resume. */
function resumeRequest(req: IncomingMessage): ResumeRequest | undefined {
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  const token = query.get('resume');
  if (!token) return undefined;
  const lastSeq = Number(query.get('last_seq') ?? '0');
  return { token, lastSeq: Number.isSafeInteger(lastSeq) && lastSeq >= 0 ? lastSeq : 0 };
}

function decodeRoomId(segment: string): RoomId | null {
  try {
    return parseRoomId(decodeURIComponent(segment));
  } catch {
    return null;
  }
}

/** The token of a `{"type":"auth","token"}` frame, or null for any other frame. */
function readAuthMessage(data: RawData, isBinary: boolean): string | null {
  if (isBinary) return null;
  const parsed = parseClientMessage(data.toString());
  return parsed.ok && parsed.message.type === 'auth' ? parsed.message.token : null;
}
