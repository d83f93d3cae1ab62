import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import asyncApiSpecs from '@asyncapi/specs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { parseClientMessage } from '../../src/signaling/protocol.js';
import { withServer } from '../helpers/server.js';
import { joinRoom } from '../helpers/ws-client.js';

type Json = Record<string, unknown>;

/** Fastify's `GET /api/rooms/:room_id/info` and `GET /client/*` as OpenAPI writes them. */
function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{path}');
}

describe('API documentation', () => {
  test('/openapi.json is valid OpenAPI 3.1 and lists every registered route, and no other', async () => {
    await withServer({}, async (server) => {
      const response = await fetch(`${server.url}/openapi.json`);
      assert.equal(response.status, 200);
      const doc = (await response.json()) as Json;
      const result = await new Validator().validate(doc);
      assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1));
      assert.equal(doc.openapi, '3.1.0');

      const paths = doc.paths as Record<string, Record<string, unknown>>;
      const documented = new Set(
        Object.entries(paths).flatMap(([path, ops]) =>
          Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
        ),
      );
      // HEAD routes are Fastify's automatic twins of GET routes; OPTIONS is the CORS preflight.
      const registered = new Set(
        server.app.operations.routes
          .filter((r) => !r.startsWith('HEAD ') && !r.startsWith('OPTIONS '))
          .map((r) => {
            const [method, url] = r.split(' ') as [string, string];
            return `${method} ${openApiPath(url)}`;
          }),
      );
      assert.ok(registered.size >= 15, `found ${registered.size} routes`);
      assert.deepEqual(
        [...registered].filter((r) => !documented.has(r)),
        [],
        'registered but not documented',
      );
      assert.deepEqual(
        [...documented].filter((r) => !registered.has(r)),
        [],
        'documented but not registered',
      );
    });
  });

  test('the login body in the document is the schema the route validates with', async () => {
    await withServer({}, async (server) => {
      const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Json;
      const login = (doc.paths as Json)['/auth/login'] as { post: { requestBody: { content: Json } } };
      const schema = (login.post.requestBody.content['application/json'] as { schema: Json }).schema;
      const ajv = new Ajv({ strict: false });
      const valid = ajv.compile(schema);
      const route = (body: unknown) =>
        fetch(`${server.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then((r) => r.status);
      for (const body of [
        { username: 'bad name!', password: 'x' },
        { username: 'user1' },
        { username: 'user1', password: '' },
      ]) {
        assert.equal(valid(body), false, JSON.stringify(body));
        assert.equal(await route(body), 422, JSON.stringify(body));
      }
      assert.equal(valid({ username: 'user1', password: 'password123' }), true);
    });
  });

  test('/asyncapi.json is valid AsyncAPI 3.0, lists every message type, and real messages match it', async () => {
    await withServer({}, async (server) => {
      const response = await fetch(`${server.url}/asyncapi.json`);
      assert.equal(response.status, 200);
      const doc = (await response.json()) as Json;
      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats.default(ajv);
      const validDoc = ajv.compile(asyncApiSpecs.schemasWithoutId['3.0.0'] as Json);
      assert.equal(validDoc(doc), true, JSON.stringify(validDoc.errors?.slice(0, 5), null, 1));

      const messages = (
        doc.channels as { room: { messages: Record<string, { name: string; payload: Json }> } }
      ).room.messages;
      const clientTypes = new Set(
        Object.keys(messages)
          .filter((k) => k.startsWith('client_'))
          .map((k) => k.slice(7)),
      );
      // The protocol's own list of accepted types, as it tells a client that sent an unknown one.
      const refusal = parseClientMessage('{"type":"nope"}');
      assert.ok(!refusal.ok);
      const known = /expected one of (.*)$/.exec(refusal.message)![1]!.split(', ');
      assert.deepEqual([...clientTypes].sort(), [...known].sort());

      const serverSchema = (type: string) => {
        const message = messages[`server_${type}`];
        assert.ok(message, `server message ${type} documented`);
        return ajv.compile(message.payload);
      };
      const a = await joinRoom(server.wsUrl, 'documented');
      const b = await joinRoom(server.wsUrl, 'documented');
      const seen = [await a.client.next('peer_joined')];
      a.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0' }, to: b.peerId });
      seen.push(await b.client.next('offer'));
      b.client.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0' } });
      seen.push(await a.client.next('answer'));
      a.client.send({ type: 'ice_candidate', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } });
      seen.push(await b.client.next('ice_candidate'));
      a.client.send({ type: 'ping', ts: 7 });
      seen.push(await a.client.next('pong'));
      a.client.send({ type: 'offer' });
      seen.push(await a.client.next('error'));
      b.client.close();
      seen.push(await a.client.next('peer_left'));
      a.client.close();
      const c = await joinRoom(server.wsUrl, 'documented-2');
      c.client.close();
      for (const message of seen) {
        const valid = serverSchema(message.type);
        assert.equal(valid(message), true, `${message.type}: ${JSON.stringify(valid.errors)}`);
      }
      const joinedSchema = serverSchema('joined');
      assert.equal(joinedSchema({ type: 'joined', room_id: 'r', peer_id: c.peerId, peers: c.peers }), true);
    });
  });
});
