import { z } from 'zod';
import { ADMIN_ROUTES } from '../integration/admin-route-docs.js';
import { ROOM_ID_PATTERN } from '../signaling/room-id.js';
import { loginBody } from '../transport/login-routes.js';

type Method = 'get' | 'post' | 'put' | 'delete';

/** One documented HTTP route: what it takes and answers, by status. */
export interface RouteDoc {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth?: 'token' | 'admin' | 'metrics';
  readonly body?: z.ZodType;
  readonly responses: Readonly<
    Record<string, { readonly description: string; readonly schema?: z.ZodType; readonly type?: string }>
  >;
}

const detail = z.object({ detail: z.string() });
const iso = z.string().describe('ISO 8601 time');
/** The `room_id` path parameter, as the room routes check it. */
export const roomIdParam = z
  .string()
  .regex(ROOM_ID_PATTERN)
  .describe('1 to 64 of A-Z a-z 0-9 _ - . (not . or ..)');
const health = z.object({
  status: z.enum(['healthy', 'degraded']),
  version: z.string(),
  uptime_seconds: z.number().int(),
  connections: z.number().int(),
  rooms: z.number().int(),
  broker: z.object({ kind: z.enum(['memory', 'redis']), ok: z.boolean() }),
});
const ready = z.object({
  status: z.enum(['ready', 'not_ready']),
  draining: z.boolean(),
  broker: z.object({ kind: z.enum(['memory', 'redis']), ok: z.boolean() }),
});
const roomInfo = z.object({
  room_id: z.string(),
  peer_count: z.number().int(),
  max_peers: z.number().int(),
  peers: z.array(z.object({ peer_id: z.string(), username: z.string().nullable(), joined_at: iso })),
  created_at: iso,
});
const unauthorized = { description: 'missing or invalid token', schema: detail };
const blocked = { description: 'address blocked after repeated auth failures (Retry-After)', schema: detail };
const roomInfoResponses = {
  '200': { description: 'the room and its peers', schema: roomInfo },
  '401': unauthorized,
  '404': { description: 'no such room is active', schema: detail },
  '422': { description: 'invalid room id', schema: detail },
  '429': blocked,
};
const file = (description: string) => ({ '200': { description, type: 'application/octet-stream' } });

/** Every HTTP route of the server; the OpenAPI test fails when a registered route is missing here. */
export const ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/',
    summary: 'Service name and version (browsers asking for text/html get the landing page)',
    tag: 'status',
    responses: {
      '200': {
        description: 'service status',
        schema: z.object({ status: z.literal('ok'), service: z.string(), version: z.string() }),
      },
    },
  },
  {
    method: 'get',
    path: '/health',
    summary: 'Health as the contract defines it (503 when degraded)',
    tag: 'status',
    responses: {
      '200': { description: 'healthy', schema: health },
      '503': { description: 'degraded', schema: health },
    },
  },
  {
    method: 'get',
    path: '/health/live',
    summary: 'Liveness probe: the process answers',
    tag: 'operations',
    responses: { '200': { description: 'alive', schema: z.object({ status: z.literal('alive') }) } },
  },
  {
    method: 'get',
    path: '/health/ready',
    summary: 'Readiness probe: broker reachable and not draining',
    tag: 'operations',
    responses: {
      '200': { description: 'takes connections', schema: ready },
      '503': { description: 'draining or broker unreachable: send no new clients', schema: ready },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this instance (on METRICS_PORT instead when it is set)',
    tag: 'operations',
    auth: 'metrics',
    responses: {
      '200': { description: 'Prometheus text format 0.0.4', type: 'text/plain' },
      '401': { description: 'METRICS_TOKEN is set and the bearer token does not match', schema: detail },
    },
  },
  {
    method: 'get',
    path: '/api/ice-servers',
    summary: 'ICE servers for browsers: STUN_URLS, TURN_URLS with coturn REST credentials, ICE_SERVERS',
    tag: 'status',
    auth: 'token',
    responses: {
      '200': {
        description: 'ICE server list, and how many seconds its TURN credentials stay valid',
        schema: z.object({
          iceServers: z.array(
            z.object({
              urls: z.union([z.string(), z.array(z.string())]),
              username: z.string().optional(),
              credential: z.string().optional(),
            }),
          ),
          ttl: z.number().int(),
        }),
      },
      '401': { description: 'REQUIRE_AUTH is on and the bearer token is missing or bad', schema: detail },
    },
  },
  {
    method: 'post',
    path: '/auth/login',
    summary: 'Exchange a username and password for an access token',
    tag: 'auth',
    body: loginBody,
    responses: {
      '200': {
        description: 'an access token',
        schema: z.object({
          access_token: z.string(),
          token_type: z.literal('bearer'),
          expires_in: z.number().int(),
        }),
      },
      '401': { description: 'invalid username or password (same text for both)', schema: detail },
      '422': { description: 'malformed body', schema: detail },
      '429': blocked,
    },
  },
  {
    method: 'get',
    path: '/auth/me',
    summary: 'Who the bearer token belongs to',
    tag: 'auth',
    auth: 'token',
    responses: {
      '200': {
        description: 'the user',
        schema: z.object({ username: z.string(), role: z.enum(['admin', 'user']) }),
      },
      '401': unauthorized,
      '429': blocked,
    },
  },
  {
    method: 'get',
    path: '/api/rooms',
    summary: 'Active rooms across the fleet (admin when REQUIRE_AUTH)',
    tag: 'rooms',
    auth: 'admin',
    responses: {
      '200': {
        description: 'the rooms',
        schema: z.object({
          rooms: z.array(z.object({ room_id: z.string(), peer_count: z.number().int(), created_at: iso })),
          total: z.number().int(),
        }),
      },
      '401': unauthorized,
      '403': { description: 'admin role required', schema: detail },
      '429': blocked,
    },
  },
  {
    method: 'get',
    path: '/api/rooms/{room_id}/info',
    summary: 'One room and its peers',
    tag: 'rooms',
    auth: 'token',
    responses: roomInfoResponses,
  },
  {
    method: 'post',
    path: '/api/rooms/{room_id}/info',
    summary: 'One room and its peers',
    tag: 'rooms',
    auth: 'token',
    responses: roomInfoResponses,
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'documentation',
    responses: { '200': { description: 'OpenAPI 3.1', type: 'application/json' } },
  },
  {
    method: 'get',
    path: '/asyncapi.json',
    summary: 'The WebSocket protocol (AsyncAPI 3)',
    tag: 'documentation',
    responses: { '200': { description: 'AsyncAPI 3.0', type: 'application/json' } },
  },
  {
    method: 'get',
    path: '/docs',
    summary: 'Interactive API documentation',
    tag: 'documentation',
    responses: { '200': { description: 'HTML page', type: 'text/html' } },
  },
  {
    method: 'get',
    path: '/docs/init.js',
    summary: 'Script of the documentation page',
    tag: 'documentation',
    responses: { '200': { description: 'JavaScript', type: 'text/javascript' } },
  },
  {
    method: 'get',
    path: '/docs/assets/{path}',
    summary: 'Files of the documentation page',
    tag: 'documentation',
    responses: file('a static file'),
  },
  {
    method: 'get',
    path: '/examples/{path}',
    summary: 'The browser example clients',
    tag: 'static',
    responses: file('a static file'),
  },
  {
    method: 'get',
    path: '/client/{path}',
    summary: 'The bundled browser client library',
    tag: 'static',
    responses: file('a static file'),
  },
  ...ADMIN_ROUTES,
];

/**
 * The PeerJS server's HTTP routes under `PEERJS_PATH` (none when PeerJS is off), documented where the
 * configuration mounts them.
 */
export function peerjsRouteDocs(path: string | null): RouteDoc[] {
  if (path === null) return [];
  const key = "PeerJS API key (the client's `key` option; `peerjs` by default)";
  return [
    {
      method: 'get',
      path: `${path}/{key}/id`,
      summary: `A fresh PeerJS id, as text (${key}); open to anyone, as PeerJS clients fetch it without a token`,
      tag: 'peerjs',
      responses: {
        '200': { description: 'a fresh id', type: 'text/plain' },
        '400': { description: 'invalid key', schema: detail },
      },
    },
    {
      method: 'get',
      path: `${path}/{key}/peers`,
      summary: 'The ids connected with the key across the fleet, when PEERJS_DISCOVERY is on',
      tag: 'peerjs',
      auth: 'token',
      responses: {
        '200': { description: 'the connected ids', schema: z.array(z.string()) },
        '400': { description: 'invalid key', schema: detail },
        '401': { description: 'discovery is off, or a missing or invalid token', schema: detail },
        '429': blocked,
      },
    },
  ];
}
