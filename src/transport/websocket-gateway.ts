import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { TokenService } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import type { UserStore } from '../auth/user-store.js';
import type { Config } from '../config/config.js';
import { type ClientAddressResolver, limitKey } from '../security/client-address.js';
import type {
  AuthFailureStore,
  ConnectionCapStore,
  MaybePromise,
  MessageRateStore,
} from '../security/limit-stores.js';
import type { OriginPolicy } from '../security/origin-policy.js';
import type { SecurityEvents } from '../security/security-events.js';
import { CloseCode, closeReason, ErrorCode } from '../signaling/errors.js';
import type { Peer } from '../signaling/peer.js';
import {
  type ClientMessage,
  type EncodedRelay,
  parseClientMessage,
  type ServerMessage,
} from '../signaling/protocol.js';
import { parseRoomId, type RoomId } from '../signaling/room-id.js';
import type { SignalingHub } from '../signaling/signaling-hub.js';

export type GatewayConfig = Pick<
  Config,
  'requireAuth' | 'maxMessageBytes' | 'websocketTimeout' | 'rateLimitBurst' | 'rateLimitPerMinute'
>;

/** Everything the gateway needs, passed in by `buildApp`. */
export interface WebSocketGatewayDeps {
  readonly config: GatewayConfig;
  readonly secure: boolean;
  readonly hub: SignalingHub;
  readonly log: Logger;
  readonly tokens: TokenService;
  readonly users: UserStore;
  readonly addresses: ClientAddressResolver;
  readonly connectionsPerIp: ConnectionCapStore;
  readonly ipRate: MessageRateStore;
  readonly userRate: MessageRateStore;
  readonly authFailures: AuthFailureStore;
  readonly origins: OriginPolicy;
  readonly events: SecurityEvents;
  readonly randomId: () => string;
  readonly now: () => number;
}

/** Refused messages within `STRIKE_WINDOW_MS` after which a client is closed with 4429. */
const STRIKE_LIMIT = 20;
const STRIKE_WINDOW_MS = 60_000;
/** A client whose unsent data passes this is too slow to keep: dropped instead of buffered. */
const MIN_SEND_BUFFER_BYTES = 1024 * 1024;
/**
 * Fragments one message may arrive in. Browsers send a message in one frame; each buffered fragment
 * costs ~100 bytes of heap, so ws's default (16,384) let a 48 KB message hold ~2 MB.
 */
const MAX_FRAGMENTS_PER_MESSAGE = 256;
const CONNECTION_CAP_RETRY_SECONDS = 5;
/** Relays may be UTF-8 bytes; they still go out as text frames. */
const TEXT_FRAME = { binary: false } as const;
/**
 * Messages of one connection waiting for a remote (Redis) rate-limit verdict; past this the client
 * is sending faster than the fleet can count, and further messages are refused as rate limited.
 */
const MAX_PENDING_ADMISSIONS = 256;

/** One accepted WebSocket and what the gateway tracks for it. */
interface Connection {
  readonly ws: WebSocket;
  readonly ip: string;
  readonly ipKey: string;
  readonly roomId: RoomId;
  readonly peer: Peer;
  username: string | null;
  /** Token expiry in ms since the epoch, or null without a token. */
  tokenExpiresAt: number | null;
  lastSeen: number;
  pingOutstanding: boolean;
  strikes: number;
  strikeWindowStart: number;
  joined: boolean;
  /** Messages waiting for a remote rate-limit verdict, and the chain that keeps them in order. */
  pendingAdmissions: number;
  admissionQueue: Promise<void>;
}

/**
 * Accepts WebSocket upgrades on `/ws/{room_id}` of the HTTP(S) server and turns each socket into a
 * `Peer` of the signaling hub. It owns everything about sockets: the per-IP connection cap and IP
 * blocks (answered with HTTP 429 before any WebSocket exists), origin, room id and token checks
 * (close 4403/4400/4401), rate limits, liveness pings, token expiry, slow consumers and shutdown.
 */
export class WebSocketGateway {
  readonly #deps: WebSocketGatewayDeps;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  readonly #sendBufferLimit: number;
  #sockets = 0;
  #accepting = true;
  #ticker: NodeJS.Timeout | null = null;

  constructor(deps: WebSocketGatewayDeps) {
    this.#deps = deps;
    this.#sendBufferLimit = Math.max(MIN_SEND_BUFFER_BYTES, deps.config.maxMessageBytes * 16);
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      // maxPayload bounds a whole message, fragments included (ws counts the total across frames).
      maxPayload: deps.config.maxMessageBytes,
      maxFragments: MAX_FRAGMENTS_PER_MESSAGE,
      perMessageDeflate: false,
      skipUTF8Validation: false,
    });
  }

  /** Open WebSocket connections (joined or still being checked). */
  get connectionCount(): number {
    return this.#sockets;
  }

  /** Starts handling upgrades on `server` and the liveness ticker. */
  attach(server: HttpServer | HttpsServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    const timeoutMs = this.#deps.config.websocketTimeout * 1000;
    const tickMs = Math.min(5000, Math.max(100, Math.floor(timeoutMs / 4)));
    this.#ticker = setInterval(() => this.#tick(), tickMs);
    this.#ticker.unref();
  }

  /**
   * Stops accepting, closes every WebSocket with 1001 and resolves when all are gone, terminating
   * those still open after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    this.#accepting = false;
    if (this.#ticker) clearInterval(this.#ticker);
    const open = [...this.#connections];
    const closed = open.map((c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve())));
    for (const c of open) c.ws.close(CloseCode.GoingAway, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    for (const c of this.#connections) c.ws.terminate();
    this.#wss.close();
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    if (!path.startsWith('/ws/')) {
      rejectUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (!this.#accepting) {
      rejectUpgrade(socket, 503, 'Service Unavailable', { 'Retry-After': '5' });
      return;
    }

    void this.#admitUpgrade(req, socket, head, path).catch((error: unknown) => {
      this.#deps.log.error({ err: error }, 'upgrade failed');
      socket.destroy();
    });
  }

  /** IP block and connection cap, then the WebSocket handshake. The stores may answer from Redis. */
  async #admitUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, path: string): Promise<void> {
    const ip = this.#deps.addresses.resolve(req.socket.remoteAddress, req.headers['x-forwarded-for']);
    const ipKey = limitKey(ip);
    const block = await this.#deps.authFailures.checkIp(ipKey);
    if (!block.allowed) {
      this.#deps.events.emit('ip_blocked', { ip, reason: 'upgrade refused while blocked' });
      rejectUpgrade(socket, 429, 'Too Many Requests', { 'Retry-After': String(block.retryAfterSeconds) });
      return;
    }
    if (!(await this.#deps.connectionsPerIp.tryAcquire(ipKey))) {
      this.#deps.events.emit('connection_cap', { ip });
      rejectUpgrade(socket, 429, 'Too Many Requests', {
        'Retry-After': String(CONNECTION_CAP_RETRY_SECONDS),
      });
      return;
    }
    // Released when the TCP/TLS socket closes, whatever happened before: failed handshake, abort, close.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#deps.connectionsPerIp.release(ipKey);
    };
    socket.once('close', release);
    if (socket.destroyed) {
      release();
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      void this.#onSocket(ws, req, ip, ipKey, path);
    });
  }

  async #onSocket(
    ws: WebSocket,
    req: IncomingMessage,
    ip: string,
    ipKey: string,
    path: string,
  ): Promise<void> {
    this.#sockets += 1;
    ws.pause();
    let connection: Connection | null = null;
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.#deps.events.emit('message_too_large', {
          ip,
          room: connection?.roomId,
          peer: connection?.peer.id,
        });
      } else {
        this.#deps.log.debug({ ip, err: error.message }, 'websocket error');
      }
    });
    ws.once('close', (code: number) => {
      this.#sockets -= 1;
      if (connection) this.#onClose(connection, code);
    });

    const origin = req.headers.origin;
    if (!this.#deps.origins.allows(origin, this.#ownOrigin(req))) {
      this.#deps.events.emit('origin_rejected', { ip, reason: `origin ${truncate(origin ?? '', 100)}` });
      closeWith(ws, CloseCode.OriginRejected, 'origin not allowed');
      return;
    }

    const roomId = decodeRoomId(path.slice('/ws/'.length));
    if (roomId === null) {
      this.#deps.events.emit('invalid_room', { ip, reason: truncate(path, 100) });
      closeWith(ws, CloseCode.InvalidRoom, 'invalid room id');
      return;
    }

    const token = tokenFromRequest(req);
    let username: string | null = null;
    let tokenExpiresAt: number | null = null;
    if (this.#deps.config.requireAuth || token !== null) {
      const verified = await this.#verifyToken(token);
      if (!verified.ok) {
        if (this.#deps.config.requireAuth) {
          // A missing token is no failed check (as over HTTP): a page that connects before its
          // user has logged in must not get its IP blocked.
          if (token !== null) await this.#recordAuthFailure(ip, ipKey, roomId, verified.reason);
          closeWith(ws, CloseCode.Unauthorized, verified.reason);
          return;
        }
      } else {
        username = verified.username;
        tokenExpiresAt = verified.expiresAt;
      }
    }
    if (ws.readyState !== WebSocket.OPEN) return;

    const peer = this.#makePeer(ws, this.#deps.randomId(), username, ip, roomId);
    const now = this.#deps.now();
    connection = {
      ws,
      ip,
      ipKey,
      roomId,
      peer,
      username,
      tokenExpiresAt,
      lastSeen: now,
      pingOutstanding: false,
      strikes: 0,
      strikeWindowStart: now,
      joined: false,
      pendingAdmissions: 0,
      admissionQueue: Promise.resolve(),
    };
    const result = await this.#deps.hub.join(roomId, peer);
    if (!result.ok) {
      if (result.reason === 'room_full') {
        this.#deps.events.emit('room_full', { ip, user: username, room: roomId });
        closeWith(ws, CloseCode.RoomFull, 'room full');
        return;
      }
      closeWith(ws, CloseCode.TryAgainLater, 'rooms unavailable, try again later');
      return;
    }
    connection.joined = true;
    if (ws.readyState !== WebSocket.OPEN) {
      // Closed while joining: the close handler ran before `joined` was set, so leave here.
      void this.#deps.hub.leave(roomId, peer);
      return;
    }
    this.#connections.add(connection);
    this.#deps.log.info({ ip, user: username, room: roomId, peer: peer.id }, 'peer joined');
    const joinedConnection = connection;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(joinedConnection, data, isBinary));
    ws.on('pong', () => this.#markAlive(joinedConnection));
    ws.on('ping', () => this.#markAlive(joinedConnection));
    ws.resume();
  }

  #onMessage(c: Connection, data: RawData, isBinary: boolean): void {
    // Once the server has sent its close (4401, 4429, ...) nothing more from this client is relayed or logged.
    if (c.ws.readyState !== WebSocket.OPEN) return;
    this.#markAlive(c);
    if (c.pendingAdmissions === 0) {
      const verdict = this.#take(c);
      if (typeof verdict === 'boolean') {
        if (verdict || this.#refuseOverLimit(c)) this.#handle(c, data, isBinary);
        return;
      }
      this.#queueAdmission(c, verdict, data, isBinary);
      return;
    }
    // Earlier messages still wait for a remote verdict: queue behind them so order is kept.
    if (c.pendingAdmissions >= MAX_PENDING_ADMISSIONS) {
      this.#refuseOverLimit(c);
      return;
    }
    this.#queueAdmission(c, null, data, isBinary);
  }

  #queueAdmission(c: Connection, verdict: Promise<boolean> | null, data: RawData, isBinary: boolean): void {
    c.pendingAdmissions += 1;
    c.admissionQueue = c.admissionQueue.then(async () => {
      const admitted = await (verdict ?? this.#take(c));
      c.pendingAdmissions -= 1;
      if (c.ws.readyState !== WebSocket.OPEN) return;
      if (admitted || this.#refuseOverLimit(c)) this.#handle(c, data, isBinary);
    });
  }

  #handle(c: Connection, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#refuse(c, ErrorCode.InvalidMessage, 'binary frames are not accepted; send JSON text');
      return;
    }
    const parsed = parseClientMessage(data.toString());
    if (!parsed.ok) {
      this.#refuse(c, parsed.code, parsed.message);
      return;
    }
    if (parsed.message.type === 'auth') {
      void this.#refreshToken(c, parsed.message);
      return;
    }
    this.#deps.hub.receive(c.roomId, c.peer, parsed.message, parsed.exact ? toBytes(data) : undefined);
  }

  /** One token from the per-IP bucket and, when authenticated, the per-user bucket. */
  #take(c: Connection): MaybePromise<boolean> {
    const ipOk = this.#deps.ipRate.take(c.ipKey);
    const userOk = c.username === null ? true : this.#deps.userRate.take(c.username);
    if (typeof ipOk === 'boolean' && typeof userOk === 'boolean') return ipOk && userOk;
    return Promise.all([ipOk, userOk]).then(([a, b]) => a && b);
  }

  /**
   * Answers an over-limit message with `rate_limited`; too many refusals close the socket with 4429.
   * Always false (the message is dropped); the boolean lets callers write `ok || refuse()`.
   */
  #refuseOverLimit(c: Connection): false {
    const now = this.#deps.now();
    if (now - c.strikeWindowStart > STRIKE_WINDOW_MS) {
      c.strikes = 0;
      c.strikeWindowStart = now;
    }
    c.strikes += 1;
    if (c.strikes === 1)
      this.#deps.events.emit('rate_limited', { ip: c.ip, user: c.username, room: c.roomId, peer: c.peer.id });
    if (c.strikes >= STRIKE_LIMIT) {
      this.#deps.events.emit('rate_limited', {
        ip: c.ip,
        user: c.username,
        room: c.roomId,
        peer: c.peer.id,
        reason: 'closed after repeated refusals',
      });
      closeWith(c.ws, CloseCode.RateLimited, 'rate limit exceeded');
      return false;
    }
    c.peer.send({
      type: 'error',
      code: ErrorCode.RateLimited,
      message: 'rate limit exceeded; message dropped',
    });
    return false;
  }

  #refuse(c: Connection, code: ErrorCode, message: string): void {
    this.#deps.events.emit('invalid_message', {
      ip: c.ip,
      user: c.username,
      room: c.roomId,
      peer: c.peer.id,
      reason: code,
    });
    c.peer.send({ type: 'error', code, message });
  }

  async #refreshToken(c: Connection, message: Extract<ClientMessage, { type: 'auth' }>): Promise<void> {
    const verified = await this.#verifyToken(message.token);
    if (c.ws.readyState !== WebSocket.OPEN) return;
    const sameUser =
      verified.ok &&
      (c.username === null ? !this.#deps.config.requireAuth : verified.username === c.username);
    if (!verified.ok || !sameUser) {
      const reason = verified.ok ? 'token is for another user' : verified.reason;
      if (this.#deps.config.requireAuth) {
        await this.#recordAuthFailure(c.ip, c.ipKey, c.roomId, reason);
        closeWith(c.ws, CloseCode.Unauthorized, reason);
      } else {
        c.peer.send({ type: 'error', code: ErrorCode.InvalidMessage, message: `token refused: ${reason}` });
      }
      return;
    }
    c.tokenExpiresAt = verified.expiresAt;
    c.peer.send({
      type: 'auth_ok',
      expires_in: Math.max(0, Math.floor((verified.expiresAt - this.#deps.now()) / 1000)),
    });
  }

  async #verifyToken(
    token: string | null,
  ): Promise<{ ok: true; username: string; expiresAt: number } | { ok: false; reason: string }> {
    const result = await this.#deps.tokens.verify(token);
    if (!result.ok)
      return { ok: false, reason: result.reason === 'missing' ? 'missing token' : `${result.reason} token` };
    const user = this.#deps.users.find(result.claims.sub);
    if (!user || user.disabled) return { ok: false, reason: 'unknown or disabled user' };
    return { ok: true, username: result.claims.sub, expiresAt: result.claims.exp * 1000 };
  }

  async #recordAuthFailure(ip: string, ipKey: string, roomId: string, reason: string): Promise<void> {
    const blocked = await this.#deps.authFailures.recordFailure(ipKey);
    this.#deps.events.emit('auth_failed', { ip, room: roomId, reason: `websocket: ${reason}` });
    if (blocked) this.#deps.events.emit('ip_blocked', { ip, reason: 'too many authentication failures' });
  }

  #makePeer(ws: WebSocket, id: string, username: string | null, ip: string, roomId: RoomId): Peer {
    const sendEncoded = (json: EncodedRelay) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount > this.#sendBufferLimit) {
        this.#deps.events.emit('slow_consumer', { ip, user: username, room: roomId, peer: id });
        ws.terminate();
        return;
      }
      ws.send(json, TEXT_FRAME);
    };
    return {
      id,
      username,
      send: (message: ServerMessage) => sendEncoded(JSON.stringify(message)),
      sendEncoded,
      close: (code, reason) => closeWith(ws, code, reason),
    };
  }

  #markAlive(c: Connection): void {
    c.lastSeen = this.#deps.now();
    c.pingOutstanding = false;
  }

  #onClose(c: Connection, code: number): void {
    if (!c.joined) return;
    this.#connections.delete(c);
    this.#deps.log.info({ ip: c.ip, user: c.username, room: c.roomId, peer: c.peer.id, code }, 'peer left');
    void this.#deps.hub.leave(c.roomId, c.peer);
  }

  /** Liveness and token expiry for every connection, on one timer instead of one per socket. */
  #tick(): void {
    const now = this.#deps.now();
    const timeoutMs = this.#deps.config.websocketTimeout * 1000;
    for (const c of this.#connections) {
      if (c.tokenExpiresAt !== null && now >= c.tokenExpiresAt) {
        closeWith(c.ws, CloseCode.Unauthorized, 'token expired');
        continue;
      }
      const idle = now - c.lastSeen;
      if (idle >= timeoutMs) {
        this.#deps.log.info({ ip: c.ip, room: c.roomId, peer: c.peer.id }, 'connection timed out');
        c.ws.terminate();
      } else if (idle >= timeoutMs / 2 && !c.pingOutstanding) {
        c.pingOutstanding = true;
        c.ws.ping();
      }
    }
  }

  #ownOrigin(req: IncomingMessage): string | null {
    const host = req.headers.host;
    return host ? `${this.#deps.secure ? 'https' : 'http'}://${host}` : null;
  }
}

/** ws hands text frames over as one Buffer (fragments already joined); the other forms are rare. */
function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

function decodeRoomId(segment: string): RoomId | null {
  try {
    return parseRoomId(decodeURIComponent(segment));
  } catch {
    return null;
  }
}

function tokenFromRequest(req: IncomingMessage): string | null {
  const header = bearerToken(req.headers.authorization);
  if (header !== null) return header;
  const query = (req.url ?? '').split('?')[1];
  if (!query) return null;
  return new URLSearchParams(query).get('token') || null;
}

function closeWith(ws: WebSocket, code: number, reason: string): void {
  // A socket paused during the join checks must read again, or the closing handshake never completes.
  if (ws.isPaused) ws.resume();
  if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)
    ws.close(code, closeReason(reason));
}

function rejectUpgrade(
  socket: Duplex,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ detail: text });
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    'Connection: close',
    'Content-Type: application/json',
    // The same hardening headers as every HTTP answer (helmet does not see raw upgrade refusals).
    'X-Content-Type-Options: nosniff',
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'",
    'Referrer-Policy: no-referrer',
    'X-Frame-Options: DENY',
    'Cache-Control: no-store',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
