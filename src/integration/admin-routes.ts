import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/config.js';
import type { SecurityEvents } from '../security/security-events.js';
import type { Broker, RoomSnapshot } from '../signaling/broker.js';
import { parseRoomId, type RoomId } from '../signaling/room-id.js';
import { describeIssues } from '../transport/http-errors.js';
import { authenticateRequest, type RequestAuthDeps } from '../transport/request-auth.js';

/** Longest room metadata text. */
export const MAX_METADATA_CHARS = 4096;
const peerId = z.string().min(1).max(64);
const reasonText = z
  .string()
  .max(100)
  .regex(/^[\x20-\x7e]*$/, { message: 'expected printable ASCII' });

/** `POST /api/rooms/{room_id}/messages`: what every peer (or `to`) receives as `payload`. */
export const messageBody = z.object({
  payload: z.unknown().refine((p) => p !== undefined, { message: 'required' }),
  to: peerId.optional().describe('one peer of the room; absent: every peer'),
});
/** `PUT /api/rooms/{room_id}/metadata`. */
export const metadataBody = z.object({ metadata: z.string().max(MAX_METADATA_CHARS) });
/** `POST /api/tokens/revoke`: the token's `jti` and its `exp` (Unix seconds). */
export const revokeBody = z.object({
  jti: z.string().min(1).max(256),
  expires_at: z.number().int().positive().describe("the token's exp claim, Unix seconds"),
});
/** The `?reason=` of the DELETE routes, sent to the peers as the close reason. */
export const reasonQuery = z.object({ reason: reasonText.optional() });

export interface AdminRoutesDeps {
  readonly config: Pick<Config, 'requireAuth' | 'maxConnectionsPerRoom' | 'maxMessageBytes'>;
  readonly broker: Broker;
  readonly auth: RequestAuthDeps;
  readonly events: SecurityEvents;
  readonly now: () => number;
}

type Params = { room_id: string; peer_id?: string };
type AdminRequest = FastifyRequest<{ Params: Params }>;

/**
 * The Admin API (admin role, or a token whose `scope` has `admin`; open with `REQUIRE_AUTH=false`
 * like `GET /api/rooms`). Works across the fleet: reads come from the broker, and kicks, closes and
 * server messages travel as room events to whichever instance holds the peers (4410 for kicks and
 * closes). Every action is an `admin_action` security event naming the acting user.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const { broker } = deps;

  app.get('/api/rooms/:room_id', async (request: AdminRequest, reply) => {
    const room = await activeRoom(deps, request, reply);
    if (!room) return reply;
    return {
      room_id: room.roomId,
      peer_count: room.members.length,
      max_peers: Math.min(room.maxPeers ?? Number.POSITIVE_INFINITY, deps.config.maxConnectionsPerRoom),
      metadata: room.metadata ?? null,
      peers: room.members.map((m) => ({
        peer_id: m.peerId,
        username: m.username,
        joined_at: iso(m.joinedAt),
      })),
      created_at: iso(room.createdAt),
    };
  });

  app.delete('/api/rooms/:room_id/peers/:peer_id', async (request: AdminRequest, reply) => {
    const query = reasonQuery.safeParse(request.query);
    if (!query.success) return reply.code(422).send({ detail: describeIssues(query.error) });
    const room = await activeRoom(deps, request, reply, 'kick');
    if (!room) return reply;
    const peer = request.params.peer_id ?? '';
    if (!room.members.some((m) => m.peerId === peer))
      return reply.code(404).send({ detail: 'no such peer in this room' });
    const reason = query.data.reason || 'removed by the application';
    await broker.publish(room.roomId, { kind: 'kick', peerId: peer, reason });
    return reply.code(204).send();
  });

  app.delete('/api/rooms/:room_id', async (request: AdminRequest, reply) => {
    const query = reasonQuery.safeParse(request.query);
    if (!query.success) return reply.code(422).send({ detail: describeIssues(query.error) });
    const room = await activeRoom(deps, request, reply, 'close');
    if (!room) return reply;
    await broker.publish(room.roomId, { kind: 'close', reason: query.data.reason || 'room closed' });
    return reply.code(204).send();
  });

  app.post('/api/rooms/:room_id/messages', async (request: AdminRequest, reply) => {
    const body = messageBody.safeParse(request.body);
    if (!body.success) return reply.code(422).send({ detail: describeIssues(body.error) });
    if (Buffer.byteLength(JSON.stringify(body.data.payload)) > deps.config.maxMessageBytes)
      return reply.code(422).send({ detail: 'payload: larger than MAX_MESSAGE_BYTES' });
    const room = await activeRoom(deps, request, reply, 'message', body.data.to);
    if (!room) return reply;
    const { to, payload } = body.data;
    if (to !== undefined && !room.members.some((m) => m.peerId === to))
      return reply.code(404).send({ detail: 'no such peer in this room' });
    await broker.publish(
      room.roomId,
      to === undefined ? { kind: 'server', payload } : { kind: 'server', to, payload },
    );
    return reply.code(202).send({ recipients: to === undefined ? room.members.length : 1 });
  });

  app.put('/api/rooms/:room_id/metadata', async (request: AdminRequest, reply) => {
    const body = metadataBody.safeParse(request.body);
    if (!body.success) return reply.code(422).send({ detail: describeIssues(body.error) });
    const roomId = await adminRoom(deps, request, reply, 'metadata');
    if (roomId === null) return reply;
    await broker.setMetadata(roomId, body.data.metadata);
    return { room_id: roomId, metadata: body.data.metadata };
  });

  app.post('/api/tokens/revoke', async (request, reply) => {
    const body = revokeBody.safeParse(request.body);
    if (!body.success) return reply.code(422).send({ detail: describeIssues(body.error) });
    const user = await actingUser(deps, request, reply);
    if (user === null) return reply;
    audit(deps, request, user, `revoke token ${body.data.jti}`);
    await broker.denyToken(body.data.jti, body.data.expires_at * 1000);
    return reply.code(204).send();
  });
}

/** The acting user after the admin check, or null when the check answered the request. */
async function actingUser(deps: AdminRoutesDeps, request: FastifyRequest, reply: FastifyReply) {
  if (!deps.config.requireAuth) return 'anonymous';
  const claims = await authenticateRequest(deps.auth, request, reply, 'admin');
  return claims?.sub ?? null;
}

/** Admin check, room id check (422) and the audit event; the room id, or null when answered. */
async function adminRoom(
  deps: AdminRoutesDeps,
  request: AdminRequest,
  reply: FastifyReply,
  action?: string,
  peer?: string,
): Promise<RoomId | null> {
  const user = await actingUser(deps, request, reply);
  if (user === null) return null;
  const roomId = parseRoomId(request.params.room_id);
  if (roomId === null) {
    await reply.code(422).send({ detail: 'invalid room id: 1 to 64 of A-Z a-z 0-9 _ - . (not . or ..)' });
    return null;
  }
  if (action) {
    const target = peer ?? request.params.peer_id;
    const reason = (request.query as { reason?: string } | undefined)?.reason;
    audit(deps, request, user, reason ? `${action}: ${reason}` : action, roomId, target);
  }
  return roomId;
}

/** As `adminRoom`, then the room itself (404 when it is not active). */
async function activeRoom(
  deps: AdminRoutesDeps,
  request: AdminRequest,
  reply: FastifyReply,
  action?: string,
  peer?: string,
): Promise<RoomSnapshot | null> {
  const roomId = await adminRoom(deps, request, reply, action, peer);
  if (roomId === null) return null;
  const room = await deps.broker.room(roomId);
  if (!room) await reply.code(404).send({ detail: 'no such room is active' });
  return room;
}

function audit(
  deps: AdminRoutesDeps,
  request: FastifyRequest,
  user: string,
  reason: string,
  room?: string,
  peer?: string,
): void {
  const ip = deps.auth.addresses.fromRequest(request.raw).ip;
  deps.events.emit('admin_action', {
    ip,
    user,
    reason,
    ...(room ? { room } : {}),
    ...(peer ? { peer } : {}),
  });
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
