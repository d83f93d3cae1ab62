import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import type { Broker } from '../signaling/broker.js';
import { parseRoomId } from '../signaling/room-id.js';
import { authenticateRequest, type RequestAuthDeps } from './request-auth.js';

export interface RoomRoutesDeps {
  readonly config: Pick<Config, 'requireAuth' | 'maxConnectionsPerRoom'>;
  readonly broker: Broker;
  readonly auth: RequestAuthDeps;
}

/** `GET /api/rooms` (admin) and `GET|POST /api/rooms/{room_id}/info` (any valid token). */
export function registerRoomRoutes(app: FastifyInstance, deps: RoomRoutesDeps): void {
  app.get('/api/rooms', async (request, reply) => {
    if (deps.config.requireAuth && !(await authenticateRequest(deps.auth, request, reply, 'admin')))
      return reply;
    const rooms = await deps.broker.rooms();
    return {
      rooms: rooms.map((r) => ({ room_id: r.roomId, peer_count: r.peerCount, created_at: iso(r.createdAt) })),
      total: rooms.length,
    };
  });

  const roomInfo = async (request: FastifyRequest<{ Params: { room_id: string } }>, reply: FastifyReply) => {
    if (deps.config.requireAuth && !(await authenticateRequest(deps.auth, request, reply, null)))
      return reply;
    const roomId = parseRoomId(request.params.room_id);
    if (roomId === null) {
      return reply.code(422).send({ detail: 'invalid room id: 1 to 64 of A-Z a-z 0-9 _ - . (not . or ..)' });
    }
    const room = await deps.broker.room(roomId);
    if (!room) return reply.code(404).send({ detail: 'no such room is active' });
    return {
      room_id: room.roomId,
      peer_count: room.members.length,
      max_peers: deps.config.maxConnectionsPerRoom,
      peers: room.members.map((m) => ({
        peer_id: m.peerId,
        username: m.username,
        joined_at: iso(m.joinedAt),
      })),
      created_at: iso(room.createdAt),
    };
  };
  app.get('/api/rooms/:room_id/info', roomInfo);
  app.post('/api/rooms/:room_id/info', roomInfo);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
