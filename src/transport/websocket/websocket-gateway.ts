import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { Config } from '../../config/config.js';
import type { ClientAddress } from '../../security/client-address.js';
import type { HostCheck } from '../../security/host-check.js';
import type { OriginPolicy } from '../../security/origin-policy.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { CloseCode } from '../../signaling/errors.js';
import { ClientConnection } from './client-connection.js';
import type { ConnectionAuth } from './connection-auth.js';
import type { Dialect, DialectSession } from './dialect.js';
import { type EarlyFrames, readTokenMessage } from './first-message-token.js';
import type { LivenessMonitor } from './liveness-monitor.js';
import type { MessageAdmission } from './message-admission.js';
import { releaseReceivedFragments } from './received-fragments.js';
import { TrafficCounters } from './traffic-counters.js';
import type { UpgradeAdmission } from './upgrade-admission.js';
import { refuseUpgrade } from './upgrade-refusal.js';

/** The close reason of a drain: clients should reconnect, and not to this instance. */
export const DRAIN_CLOSE_REASON = 'server draining; reconnect to another instance';

/** A client whose unsent data passes this is too slow to keep: dropped instead of buffered. */
const MIN_SEND_BUFFER_BYTES = 1024 * 1024;
/**
 * Fragments one message may arrive in. Browsers send a message in one frame; each buffered fragment
 * costs ~100 bytes of heap, so ws's default (16,384) let a 48 KB message hold ~2 MB.
 */
const MAX_FRAGMENTS_PER_MESSAGE = 256;

/** The parts of the gateway, each owning one job; built by `buildApp`. */
export interface WebSocketGatewayDeps {
  readonly config: Pick<Config, 'maxMessageBytes'>;
  /** Whether the server speaks TLS: the scheme of its own origin. */
  readonly secure: boolean;
  readonly dialects: readonly Dialect[];
  readonly admission: UpgradeAdmission;
  readonly auth: ConnectionAuth;
  readonly messages: MessageAdmission;
  readonly liveness: LivenessMonitor;
  readonly origins: OriginPolicy;
  /** `PUBLIC_ORIGIN`: which Host is served, and the server's own origin for the Origin check. */
  readonly hosts: HostCheck;
  readonly events: SecurityEvents;
  readonly log: Logger;
  readonly now: () => number;
  /** Where message and byte totals are counted; the metrics read them. */
  readonly traffic?: TrafficCounters;
}

/**
 * Accepts WebSocket upgrades of the HTTP(S) server and runs each connection through the same steps
 * whatever its dialect: upgrade admission (IP block, connection cap: HTTP 429), the WebSocket
 * handshake, origin (4403), what the dialect addresses (e.g. room id: 4400), the token (4401), then
 * the dialect's session with every frame passing the rate limits, liveness and slow-consumer
 * checks. On `close` every connection gets 1001.
 */
export class WebSocketGateway {
  readonly #deps: WebSocketGatewayDeps;
  readonly #wss: WebSocketServer;
  readonly #sendBufferLimit: number;
  readonly #traffic: TrafficCounters;
  #sockets = 0;
  #accepting = true;

  constructor(deps: WebSocketGatewayDeps) {
    releaseReceivedFragments();
    this.#deps = deps;
    this.#traffic = deps.traffic ?? new TrafficCounters();
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

  /**
   * Closes with 4401 every joined connection that has lost access under the current users (a removed
   * or disabled user, a token older than a password change); call it when the users file changed.
   * Returns how many were closed.
   */
  closeRevoked(): number {
    let closed = 0;
    for (const c of [...this.#deps.liveness.connections]) {
      const reason = this.#deps.auth.revokedReason(c);
      if (reason === null) continue;
      this.#deps.log.info({ ip: c.client.ip, user: c.username, room: c.room, reason }, 'access revoked');
      c.close(CloseCode.Unauthorized, reason);
      closed += 1;
    }
    return closed;
  }

  /** Starts handling upgrades on `server` and the liveness ticker. */
  attach(server: HttpServer | HttpsServer): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    this.#deps.liveness.start();
  }

  /**
   * Starts a drain: new upgrades are answered 503 and open connections stop being read, so nothing
   * more is accepted from them; what was accepted before is still delivered. Idempotent.
   */
  stopAccepting(): void {
    this.#accepting = false;
    for (const c of this.#deps.liveness.connections) c.ws.pause();
  }

  /**
   * Stops accepting, closes every WebSocket with 1001 and resolves when all are gone, terminating
   * those still open after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    this.stopAccepting();
    this.#deps.liveness.stop();
    const open = [...this.#deps.liveness.connections];
    const closed = open.map((c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve())));
    for (const c of open) c.close(CloseCode.GoingAway, DRAIN_CLOSE_REASON);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(closed), deadline]);
    clearTimeout(timer);
    for (const c of this.#deps.liveness.connections) c.terminate();
    this.#wss.close();
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', ignoreSocketError);
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const dialect = this.#deps.dialects.find((d) => d.serves(path));
    if (!dialect) {
      refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    if (!this.#deps.hosts.allows(req.headers.host)) {
      refuseUpgrade(socket, 421, 'Misdirected Request');
      return;
    }
    if (!this.#accepting) {
      refuseUpgrade(socket, 503, 'Service Unavailable', { 'Retry-After': '5' });
      return;
    }
    this.#deps.admission.admit(req, socket).then(
      (client) => {
        if (client === null) return;
        this.#wss.handleUpgrade(req, socket, head, (ws) => {
          void this.#onSocket(ws, socket, req, client, dialect, path);
        });
      },
      (error: unknown) => {
        this.#deps.log.error({ err: error }, 'upgrade failed');
        socket.destroy();
      },
    );
  }

  async #onSocket(
    ws: WebSocket,
    socket: Duplex,
    req: IncomingMessage,
    client: ClientAddress,
    dialect: Dialect,
    path: string,
  ): Promise<void> {
    const { events, liveness, now } = this.#deps;
    this.#sockets += 1;
    ws.pause();
    const connection = new ClientConnection(
      ws,
      client,
      now(),
      this.#sendBufferLimit,
      events,
      this.#traffic,
      socket,
    );
    connection.farewell = dialect.farewell ?? null;
    let session: DialectSession | null = null;
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        events.emit('message_too_large', { ip: client.ip, room: connection.room, peer: connection.peerId });
      } else {
        this.#deps.log.debug({ ip: client.ip, err: error.message }, 'websocket error');
      }
    });
    // `on`, not `once`: ws emits 'close' once, and `once` costs a wrapper state and a bound function
    // per connection (~120 B of the ~7 KB an idle connection holds).
    ws.on('close', (code: number) => {
      this.#sockets -= 1;
      liveness.untrack(connection);
      session?.closed(code);
    });

    const origin = req.headers.origin;
    if (!this.#deps.origins.allows(origin, this.#deps.hosts.ownOrigin(req.headers.host, this.#deps.secure))) {
      events.emit('origin_rejected', { ip: client.ip, reason: `origin ${truncate(origin ?? '', 100)}` });
      connection.close(CloseCode.OriginRejected, 'origin not allowed');
      return;
    }
    const request = dialect.request(req, path);
    if (!request.ok) {
      events.emit(request.event, { ip: client.ip, reason: truncate(request.detail, 100) });
      connection.close(request.code, request.reason);
      return;
    }
    let token = dialect.token(req);
    let early: EarlyFrames = [];
    const tokenMessage = token === null && this.#deps.auth.required ? dialect.tokenMessage?.(req) : null;
    if (tokenMessage) {
      const first = await readTokenMessage(connection, tokenMessage);
      if (first === null) return;
      ({ token, early } = first);
    }
    if (!(await this.#deps.auth.authenticate(connection, token))) return;
    if (!connection.isOpen) return;

    session = await request.open(connection);
    if (session === null) return;
    if (!this.#accepting) {
      // Joined while a drain began: `close` has already gone through the tracked connections, and
      // an untracked socket would keep the HTTP server from closing.
      connection.close(CloseCode.GoingAway, DRAIN_CLOSE_REASON);
      return;
    }
    const opened = session;
    // Frames still waiting for a (remote) rate-limit verdict when a drain begins are not relayed:
    // the drain's guarantee covers what the relay accepted before it began, and nothing after.
    const gate = this.#deps.messages.gate(connection, {
      receive: (data, isBinary) => {
        if (this.#accepting) opened.receive(data, isBinary);
      },
      rateLimited: () => opened.rateLimited(),
      closed: (code) => opened.closed(code),
    });
    liveness.track(connection);
    const receive = (data: RawData, isBinary: boolean) => {
      // Once the server has sent its close (4401, 4429, ...) nothing more from this client is relayed.
      if (!connection.isOpen) return;
      this.#traffic.messagesIn += 1;
      this.#traffic.bytesIn += rawLength(data);
      connection.markAlive(now());
      gate.receive(data, isBinary);
    };
    for (const [data, isBinary] of early) receive(data, isBinary);
    ws.on('message', receive);
    ws.on('pong', () => connection.markAlive(now()));
    ws.on('ping', () => connection.markAlive(now()));
    ws.resume();
  }
}

/**
 * A socket error before or after the upgrade ends in 'close', which cleans up. A module-level
 * function, not an arrow in `#onUpgrade`: the arrow shared that function's closure context, so every
 * open socket kept its upgrade request (headers and all) alive, ~1.5 KB per connection.
 */
function ignoreSocketError(): void {}

/** Payload bytes of one message as ws hands it over (one Buffer for text frames). */
function rawLength(data: RawData): number {
  if (Array.isArray(data)) {
    let total = 0;
    for (const part of data) total += part.length;
    return total;
  }
  return data.byteLength;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
