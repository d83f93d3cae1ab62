import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { Broker } from '../signaling/broker.js';
import { dialectRoomId } from '../signaling/dialect-rooms.js';
import { authenticateRequest, type RequestAuthDeps } from './request-auth.js';
import { PEERJS_KEY } from './websocket/peerjs-frames.js';

/** What the PeerJS HTTP routes need. */
export interface PeerjsRoutesDeps {
  readonly config: Pick<Config, 'peerjsPath' | 'peerjsDiscovery' | 'requireAuth'>;
  readonly broker: Broker;
  readonly auth: RequestAuthDeps;
  /** A fresh PeerJS id; random UUIDs by default. */
  readonly randomId?: () => string;
}

/**
 * The PeerJS server's HTTP side, under `PEERJS_PATH` (nothing when it is empty). Both answer
 * cross-origin to `CORS_ORIGINS`, as PeerJS clients fetch from the app's page:
 * - `GET {path}/{key}/id`: a fresh id as text. Open to anyone, also with `REQUIRE_AUTH` (the
 *   client's fetch carries no token); the id is only reserved when its WebSocket joins.
 * - `GET {path}/{key}/peers`: the ids connected with `key` across the fleet, as a JSON array, when
 *   `PEERJS_DISCOVERY` is on (else 401, which the client reports as discovery being off); with
 *   `REQUIRE_AUTH` it also needs `Authorization: Bearer`.
 */
export function registerPeerjsRoutes(app: FastifyInstance, deps: PeerjsRoutesDeps): void {
  const path = deps.config.peerjsPath;
  if (path === null) return;
  const randomId = deps.randomId ?? randomUUID;
  const badKey = { detail: 'invalid PeerJS key: 1 to 64 of A-Z a-z 0-9 _ - .' };

  app.get<{ Params: { key: string } }>(`${path}/:key/id`, async (request, reply) => {
    if (!PEERJS_KEY.test(request.params.key)) return reply.code(400).send(badKey);
    return reply.header('Cache-Control', 'no-store').type('text/plain; charset=utf-8').send(randomId());
  });

  app.get<{ Params: { key: string } }>(`${path}/:key/peers`, async (request, reply) => {
    if (!deps.config.peerjsDiscovery)
      return reply.code(401).send({ detail: 'peer discovery is off (PEERJS_DISCOVERY)' });
    if (deps.config.requireAuth && !(await authenticateRequest(deps.auth, request, reply, null)))
      return reply;
    if (!PEERJS_KEY.test(request.params.key)) return reply.code(400).send(badKey);
    const room = await deps.broker.room(dialectRoomId('peerjs', request.params.key));
    return reply.header('Cache-Control', 'no-store').send((room?.members ?? []).map((m) => m.peerId));
  });
}
