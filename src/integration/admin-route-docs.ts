import { z } from 'zod';
import type { RouteDoc } from '../operations/http-route-docs.js';
import { MAX_METADATA_CHARS, messageBody, metadataBody, revokeBody } from './admin-routes.js';

const detail = z.object({ detail: z.string() });
const iso = z.string().describe('ISO 8601 time');
const common = {
  '401': { description: 'missing or invalid token', schema: detail },
  '403': { description: 'admin role (or a token with scope admin) required', schema: detail },
  '422': { description: 'invalid room id, query or body', schema: detail },
  '429': { description: 'address blocked after repeated auth failures (Retry-After)', schema: detail },
};
const notActive = { description: 'no such room is active (or no such peer in it)', schema: detail };
const done = (description: string) => ({ description, type: 'application/json' });

/** The Admin API as the OpenAPI document lists it (README, "Connecting your backend"). */
export const ADMIN_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/api/rooms/{room_id}',
    summary: 'One room across the fleet: peers, cap, metadata (admin)',
    tag: 'admin',
    auth: 'admin',
    responses: {
      '200': {
        description: 'the room',
        schema: z.object({
          room_id: z.string(),
          peer_count: z.number().int(),
          max_peers: z.number().int(),
          metadata: z.string().nullable(),
          peers: z.array(z.object({ peer_id: z.string(), username: z.string().nullable(), joined_at: iso })),
          created_at: iso,
        }),
      },
      '404': notActive,
      ...common,
    },
  },
  {
    method: 'delete',
    path: '/api/rooms/{room_id}/peers/{peer_id}',
    summary: 'Disconnect a peer with close code 4410 and ?reason= (admin)',
    tag: 'admin',
    auth: 'admin',
    responses: {
      '204': done('the kick was sent to the instance holding the peer'),
      '404': notActive,
      ...common,
    },
  },
  {
    method: 'delete',
    path: '/api/rooms/{room_id}',
    summary: 'Close a room: every peer is disconnected with 4410 and ?reason= (admin)',
    tag: 'admin',
    auth: 'admin',
    responses: {
      '204': done('every instance holding peers of the room closes them'),
      '404': notActive,
      ...common,
    },
  },
  {
    method: 'post',
    path: '/api/rooms/{room_id}/messages',
    summary: 'Send {"type":"server","payload"} to every peer of the room, or to one (admin)',
    tag: 'admin',
    auth: 'admin',
    body: messageBody,
    responses: {
      '202': { description: 'sent', schema: z.object({ recipients: z.number().int() }) },
      '404': notActive,
      ...common,
    },
  },
  {
    method: 'put',
    path: '/api/rooms/{room_id}/metadata',
    summary: `Attach up to ${MAX_METADATA_CHARS} characters to a room, shown in joined (admin)`,
    tag: 'admin',
    auth: 'admin',
    body: metadataBody,
    responses: {
      '200': {
        description: 'stored until the room finishes',
        schema: z.object({ room_id: z.string(), metadata: z.string() }),
      },
      ...common,
    },
  },
  {
    method: 'post',
    path: '/api/tokens/revoke',
    summary: 'Put a token id (jti) on the fleet-wide deny list until it expires (admin)',
    tag: 'admin',
    auth: 'admin',
    body: revokeBody,
    responses: { '204': done('refused from now on, fleet-wide'), ...common },
  },
];
