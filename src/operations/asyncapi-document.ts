import { z } from 'zod';
import { CloseCode } from '../signaling/errors.js';
import { CLIENT_MESSAGE_SCHEMAS } from '../signaling/protocol.js';
import { SERVER_MESSAGE_SCHEMAS } from '../signaling/server-message-schemas.js';

const CLIENT_DESCRIPTIONS: Readonly<Record<keyof typeof CLIENT_MESSAGE_SCHEMAS, string>> = {
  offer: 'Relayed to `to` or, without `to`, to every other peer in the room.',
  answer: 'Relayed to `to` or, without `to`, to every other peer in the room.',
  ice_candidate: 'Relayed likewise; `candidate: null` marks the end of candidates.',
  ping: 'Answered with pong, never relayed. Counts against the rate limit like every message.',
  auth: 'Replaces the connection’s token with a fresh one for the same user (answered auth_ok).',
};

/** A draft-07 JSON Schema (the AsyncAPI schema format's base) of a zod schema. */
function payload(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    target: 'draft-7',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

/**
 * The AsyncAPI 3.0 document of the WebSocket protocol at `/ws/{room_id}`, built from the protocol
 * module's schemas: the client messages as `parseClientMessage` validates them and every server
 * message. Operations are from the server's side: it receives client messages and sends its own.
 */
export function buildAsyncApiDocument(version: string): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  const receive: string[] = [];
  const send: string[] = [];
  for (const [type, schema] of Object.entries(CLIENT_MESSAGE_SCHEMAS)) {
    const key = `client_${type}`;
    receive.push(key);
    messages[key] = {
      name: type,
      title: `${type} (client → server)`,
      summary: CLIENT_DESCRIPTIONS[type as keyof typeof CLIENT_DESCRIPTIONS],
      contentType: 'application/json',
      payload: payload(schema, 'input'),
    };
  }
  for (const [type, schema] of Object.entries(SERVER_MESSAGE_SCHEMAS)) {
    const key = `server_${type}`;
    send.push(key);
    messages[key] = {
      name: type,
      title: `${type} (server → client)`,
      summary: schema.description ?? type,
      contentType: 'application/json',
      payload: payload(schema, 'output'),
    };
  }
  const closeCodes = Object.entries(CloseCode)
    .map(([name, code]) => `${code} ${name}`)
    .join(', ');
  const refs = (keys: string[]) => keys.map((key) => ({ $ref: `#/channels/room/messages/${key}` }));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'WebRTC signaling protocol',
      version,
      description:
        'JSON text messages on /ws/{room_id}. Authenticate with ?token=<jwt> or Authorization: Bearer when REQUIRE_AUTH. ' +
        `Close codes: ${closeCodes}. The HTTP API is in /openapi.json.`,
    },
    defaultContentType: 'application/json',
    servers: {
      server: { host: 'localhost:8000', protocol: 'wss', description: 'ws:// when REQUIRE_HTTPS=false' },
    },
    channels: {
      room: {
        address: '/ws/{room_id}',
        title: 'A signaling room',
        parameters: {
          room_id: { description: '1 to 64 of A-Z a-z 0-9 _ - . (not . or ..), percent-decoded' },
        },
        messages,
      },
    },
    operations: {
      receiveClientMessages: {
        action: 'receive',
        title: 'Messages a client sends',
        channel: { $ref: '#/channels/room' },
        messages: refs(receive),
      },
      sendServerMessages: {
        action: 'send',
        title: 'Messages the server sends',
        channel: { $ref: '#/channels/room' },
        messages: refs(send),
      },
    },
  };
}
