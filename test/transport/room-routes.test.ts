import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { call, forgeToken, randomKey, secureEnv, tokenFor } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { joinRoom, type TestClient } from '../helpers/ws-client.js';

const KEY = randomKey();
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('room APIs with REQUIRE_AUTH over HTTPS', () => {
  let server: RunningServer;
  let adminToken: string;
  let userToken: string;
  const clients: TestClient[] = [];

  before(async () => {
    server = await startServer(secureEnv(KEY, { MAX_CONNECTIONS_PER_ROOM: '4' }));
    adminToken = await tokenFor(server, 'admin', 'admin123');
    userToken = await tokenFor(server, 'user1', 'password123');
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  test('GET /api/rooms answers 401 without a token and with a bad one', async () => {
    const none = await call(server, 'GET', '/api/rooms');
    assert.equal(none.status, 401);
    assert.equal(typeof none.json.detail, 'string');
    assert.equal(none.json.rooms, undefined);
    const forged = await call(server, 'GET', '/api/rooms', {
      token: await forgeToken(randomKey(), { sub: 'admin', role: 'admin' }),
    });
    assert.equal(forged.status, 401);
  });

  test('GET /api/rooms answers 403 for a token with role user', async () => {
    const answer = await call(server, 'GET', '/api/rooms', { token: userToken });
    assert.equal(answer.status, 403);
    assert.equal(typeof answer.json.detail, 'string');
    assert.equal(answer.json.rooms, undefined);
  });

  test('GET /api/rooms answers 403 for role user even when the token claims admin', async () => {
    // Correctly signed but the role is taken from the users file, not believed from the token.
    const claimsAdmin = await forgeToken(KEY, { sub: 'user1', role: 'admin' });
    const answer = await call(server, 'GET', '/api/rooms', { token: claimsAdmin });
    assert.equal(answer.status, 403, answer.text);
  });

  test('GET /api/rooms answers 200 for an admin with every active room', async () => {
    const a = await joinRoom(server.wsUrl, 'listed-room', { token: userToken });
    clients.push(a.client);
    const answer = await call(server, 'GET', '/api/rooms', { token: adminToken });
    assert.equal(answer.status, 200, answer.text);
    const rooms = answer.json.rooms as { room_id: string; peer_count: number; created_at: string }[];
    assert.equal(answer.json.total, rooms.length);
    const listed = rooms.find((r) => r.room_id === 'listed-room');
    assert.ok(listed, JSON.stringify(rooms));
    assert.equal(listed.peer_count, 1);
    assert.match(listed.created_at, ISO);
    a.client.close();
    await a.client.closed;
  });

  test('GET /api/rooms/{id}/info answers 401 without a token', async () => {
    const answer = await call(server, 'GET', '/api/rooms/anything/info');
    assert.equal(answer.status, 401);
    assert.equal(typeof answer.json.detail, 'string');
    assert.equal((await call(server, 'POST', '/api/rooms/anything/info')).status, 401);
    assert.equal((await call(server, 'GET', '/api/rooms/anything/info', { token: 'garbage' })).status, 401);
  });

  test('GET /api/rooms/{id}/info answers 404 with a detail for a room that is not active', async () => {
    const answer = await call(server, 'GET', '/api/rooms/no-such-room/info', { token: userToken });
    assert.equal(answer.status, 404, answer.text);
    assert.equal(typeof answer.json.detail, 'string');
  });

  test('GET and POST /api/rooms/{id}/info describe an active room to any valid token, with usernames', async () => {
    const first = await joinRoom(server.wsUrl, 'info-room', { token: userToken });
    const second = await joinRoom(server.wsUrl, 'info-room', {
      headers: { Authorization: `Bearer ${adminToken}` },
    });
    clients.push(first.client, second.client);
    for (const [method, token] of [
      ['GET', userToken],
      ['POST', adminToken],
    ] as const) {
      const answer = await call(server, method, '/api/rooms/info-room/info', { token });
      assert.equal(answer.status, 200, `${method}: ${answer.text}`);
      assert.deepEqual(Object.keys(answer.json).sort(), [
        'created_at',
        'max_peers',
        'peer_count',
        'peers',
        'room_id',
      ]);
      assert.equal(answer.json.room_id, 'info-room');
      assert.equal(answer.json.peer_count, 2);
      assert.equal(answer.json.max_peers, 4);
      assert.match(answer.json.created_at as string, ISO);
      const peers = answer.json.peers as { peer_id: string; username: string; joined_at: string }[];
      assert.deepEqual(
        peers.map((p) => [p.peer_id, p.username]).sort(),
        [
          [first.peerId, 'user1'],
          [second.peerId, 'admin'],
        ].sort(),
      );
      for (const peer of peers) {
        assert.deepEqual(Object.keys(peer).sort(), ['joined_at', 'peer_id', 'username']);
        assert.match(peer.joined_at, ISO);
      }
    }
  });
});
