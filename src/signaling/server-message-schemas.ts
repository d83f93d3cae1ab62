import { z } from 'zod';
import { ErrorCode, ResumeRefusal } from './errors.js';
import { CLIENT_MESSAGE_SCHEMAS, type ServerMessage } from './protocol.js';

const peerId = z.string().min(1).max(64);
const from = {
  from: peerId.describe('the sender, set by the server'),
  seq: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('this recipient’s position in its session stream (resume)'),
};
const iceServer = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});

/**
 * Every server message as a schema, by `type`: what the API documentation (AsyncAPI) publishes. The
 * server builds these messages from the `ServerMessage` type; the check below keeps the two in step.
 */
export const SERVER_MESSAGE_SCHEMAS = {
  joined: z
    .object({
      type: z.literal('joined'),
      room_id: z.string(),
      peer_id: peerId,
      peers: z.array(peerId).describe('the other peers already in the room'),
      metadata: z.string().optional().describe('text an admin attached to the room'),
      resume_token: z.string().optional().describe('single use: reconnect with ?resume=<token>&last_seq=<n>'),
      epoch: z.string().optional().describe('the stream seq counts in'),
      resumed: z.boolean().optional().describe('true: same peer id, the others saw nothing'),
      recovered: z.boolean().optional().describe('with resumed: every message after last_seq follows'),
      resume_refused: z
        .enum(Object.values(ResumeRefusal) as [ResumeRefusal, ...ResumeRefusal[]])
        .optional()
        .describe('why the requested resume was refused; this is a fresh join'),
      ice_servers: z.array(iceServer).optional().describe('for new RTCPeerConnection({iceServers})'),
      ice_servers_ttl: z.number().int().optional().describe('seconds the TURN credentials stay valid'),
    })
    .describe('First message after a successful join.'),
  peer_joined: z
    .object({ type: z.literal('peer_joined'), peer_id: peerId, username: z.string().optional() })
    .describe('To everyone else, when a peer joins.'),
  peer_left: z
    .object({ type: z.literal('peer_left'), peer_id: peerId })
    .describe('To everyone else, when a peer leaves or is dropped.'),
  pong: z
    .object({ type: z.literal('pong'), ts: z.union([z.number(), z.string()]).optional() })
    .describe('Answer to ping, with its ts echoed.'),
  auth_ok: z
    .object({ type: z.literal('auth_ok'), expires_in: z.number().int() })
    .describe('The connection now uses the fresh token.'),
  error: z
    .object({
      type: z.literal('error'),
      code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
    })
    .describe('A message was refused; the connection stays open unless a close follows.'),
  server: z
    .object({ type: z.literal('server'), payload: z.unknown() })
    .describe('A message from the application backend (POST /api/rooms/{room_id}/messages).'),
  offer: CLIENT_MESSAGE_SCHEMAS.offer.extend(from).describe('A relayed offer.'),
  answer: CLIENT_MESSAGE_SCHEMAS.answer.extend(from).describe('A relayed answer.'),
  ice_candidate: CLIENT_MESSAGE_SCHEMAS.ice_candidate.extend(from).describe('A relayed ICE candidate.'),
} as const;

/** Fails to compile when a server message type has no schema here, or a schema names no message type. */
type SchemaTypes = keyof typeof SERVER_MESSAGE_SCHEMAS;
const coversEveryType: Record<ServerMessage['type'], true> & Record<SchemaTypes, true> = {
  joined: true,
  peer_joined: true,
  peer_left: true,
  pong: true,
  auth_ok: true,
  error: true,
  server: true,
  offer: true,
  answer: true,
  ice_candidate: true,
} satisfies Record<ServerMessage['type'] | SchemaTypes, true>;
void coversEveryType;
