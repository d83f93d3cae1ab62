import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { bearerToken } from '../../auth/tokens.js';
import type { Config } from '../../config/config.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { dialectRoomId } from '../../signaling/dialect-rooms.js';
import { CloseCode } from '../../signaling/errors.js';
import type { RoomId } from '../../signaling/room-id.js';
import type { JoinResult, SignalingHub } from '../../signaling/signaling-hub.js';
import { type ClientConnection, closeSocket, type Farewell } from './client-connection.js';
import type { Dialect, DialectRequest, DialectSession } from './dialect.js';
import {
  errorFrame,
  ID_TAKEN_FRAME,
  isPeerId,
  MAX_TOKEN_LENGTH,
  PEERJS_KEY,
  takeoverFrame,
} from './peerjs-frames.js';
import { PeerjsSession } from './peerjs-session.js';

/** The fixed last segment of the PeerJS socket path: `{PEERJS_PATH}/peerjs`. */
const SOCKET_SEGMENT = '/peerjs';
/**
 * How long a reconnecting client waits for the connection that still holds its id (a socket the
 * server has not yet seen die, on any instance) to give it up before it is told ID-TAKEN.
 */
const TAKEOVER_WAIT_MS = 1000;
const TAKEOVER_POLL_MS = 50;
/** Our access tokens are JWTs; the PeerJS client's own random token never has this shape. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** What the PeerJS dialect needs; built by `compatDialects`. */
export interface PeerjsDialectDeps {
  /** `PEERJS_PATH`: where the dialect is mounted. */
  readonly path: string;
  readonly config: Pick<Config, 'peerjsExpireTimeoutSeconds' | 'peerjsMaxPeersPerKey'>;
  readonly hub: SignalingHub;
  readonly events: SecurityEvents;
  readonly log: Logger;
}

/**
 * The PeerJS server protocol at `{PEERJS_PATH}/peerjs?key=&id=&token=`. A key is a room of the hub
 * (`peerjs:<key>`), the client's chosen id its peer id, unique per key across the fleet (the
 * broker's atomic join); the client's token proves a reconnect, which takes its id back. Our JWT
 * rides in that same `token` parameter: a token that is not a JWT counts as none, so with
 * `REQUIRE_AUTH` a stock client gets ERROR and 4401 without its address counting an auth failure.
 * Every refusal is an ERROR frame before the close (the client ignores close codes).
 */
export class PeerjsDialect implements Dialect {
  readonly #deps: PeerjsDialectDeps;
  readonly #socketPath: string;

  constructor(deps: PeerjsDialectDeps) {
    this.#deps = deps;
    this.#socketPath = `${deps.path}${SOCKET_SEGMENT}`;
  }

  /** Every close is announced as `{"type":"ERROR","payload":{"msg":<reason>}}` first. */
  readonly farewell: Farewell = (connection, _code, reason) => connection.send(errorFrame(reason));

  serves(path: string): boolean {
    return path === this.#socketPath;
  }

  token(req: IncomingMessage): string | null {
    const token = queryOf(req).get('token');
    if (token && JWT_SHAPE.test(token)) return token;
    return bearerToken(req.headers.authorization);
  }

  request(req: IncomingMessage, path: string): DialectRequest {
    const query = queryOf(req);
    const key = query.get('key');
    const id = query.get('id');
    const token = query.get('token');
    const refuse = (reason: string): DialectRequest => ({
      ok: false,
      code: CloseCode.InvalidRoom,
      reason,
      event: 'invalid_room',
      detail: `${path} ${reason}`,
    });
    if (!key || !id || !token) return refuse('No id, token, or key supplied to websocket server');
    if (!PEERJS_KEY.test(key)) return refuse('Invalid key provided');
    if (!isPeerId(id)) return refuse('ID is invalid');
    if (token.length > MAX_TOKEN_LENGTH) return refuse('token is too long');
    return { ok: true, open: (connection) => this.#open(connection, key, id, token) };
  }

  async #open(
    connection: ClientConnection,
    key: string,
    id: string,
    token: string,
  ): Promise<DialectSession | null> {
    const { hub, events, log, config } = this.#deps;
    const roomId = dialectRoomId('peerjs', key);
    connection.room = roomId;
    connection.peerId = id;
    const claim = createHash('sha256').update(`${key}\n${id}\n${token}`).digest('base64url');
    const session = new PeerjsSession(
      { hub, events, log, expireMs: config.peerjsExpireTimeoutSeconds * 1000 },
      connection,
      roomId,
      id,
      claim,
    );
    let result = await hub.join(roomId, session.peer, { maxPeers: config.peerjsMaxPeersPerKey });
    if (!result.ok && result.reason === 'id_taken')
      result = await this.#takeBack(connection, roomId, session, claim);
    if (!result.ok) {
      session.dispose();
      if (result.reason === 'id_taken') {
        // ID-TAKEN is the refusal itself: no ERROR after it.
        connection.send(ID_TAKEN_FRAME);
        closeSocket(connection.ws, CloseCode.RoomFull, 'ID is taken');
      } else if (result.reason === 'room_full') {
        events.emit('room_full', { ip: connection.client.ip, user: connection.username, room: roomId });
        connection.close(CloseCode.RoomFull, 'Server has reached its concurrent user limit');
      } else {
        connection.close(CloseCode.TryAgainLater, 'rooms unavailable, try again later');
      }
      return null;
    }
    if (!connection.isOpen) {
      session.dispose();
      void hub.leave(roomId, session.peer);
      return null;
    }
    log.info(
      { ip: connection.client.ip, user: connection.username, room: roomId, peer: id },
      'peerjs client joined',
    );
    return session;
  }

  /**
   * The id is held, maybe by this same client's previous connection: ask the holder to give it up
   * (only a holder with the same token does) and join again while it leaves.
   */
  async #takeBack(
    connection: ClientConnection,
    roomId: RoomId,
    session: PeerjsSession,
    claim: string,
  ): Promise<JoinResult> {
    const { hub, config } = this.#deps;
    hub.relayEncoded(roomId, '', takeoverFrame(claim), session.peer.id);
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    for (;;) {
      await delay(TAKEOVER_POLL_MS);
      const result = await hub.join(roomId, session.peer, { maxPeers: config.peerjsMaxPeersPerKey });
      if (result.ok || result.reason !== 'id_taken' || !connection.isOpen || Date.now() >= deadline)
        return result;
    }
  }
}

function queryOf(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1));
}
