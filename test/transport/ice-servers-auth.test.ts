import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fetchIceServers } from '../../client/src/ice-servers.js';
import { call, randomKey, tokenFor } from '../helpers/secure.js';
import { startServer } from '../helpers/server.js';

const TURN = JSON.stringify([
  { urls: 'turn:turn.example.org:3478', username: 'turn-user', credential: 'turn-secret-credential' },
]);

describe('GET /api/ice-servers needs a token with REQUIRE_AUTH', () => {
  test('an open TURN relay: with REQUIRE_AUTH the configured TURN credentials went to anyone without a token', async () => {
    const server = await startServer({
      REQUIRE_AUTH: 'true',
      JWT_SECRET_KEY: randomKey(),
      ICE_SERVERS: TURN,
    });
    try {
      const anonymous = await call(server, 'GET', '/api/ice-servers');
      assert.equal(anonymous.status, 401);
      assert.equal(anonymous.text.includes('turn-secret-credential'), false);
      assert.equal((await call(server, 'GET', '/api/ice-servers', { token: 'not-a-jwt' })).status, 401);

      const token = await tokenFor(server, 'user1', 'password123');
      const answer = await call(server, 'GET', '/api/ice-servers', { token });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json.iceServers, JSON.parse(TURN));
      assert.match(String(answer.headers['cache-control']), /no-store/);

      const viaClient = await fetchIceServers(server.url, fetch, [], token);
      assert.deepEqual(viaClient, JSON.parse(TURN), 'the client library sends the token');
    } finally {
      await server.stop();
    }
  });

  test('without REQUIRE_AUTH (development) the list needs no token', async () => {
    const server = await startServer({ ICE_SERVERS: '[{"urls":"stun:stun.example.org:3478"}]' });
    try {
      const answer = await call(server, 'GET', '/api/ice-servers');
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json.iceServers, [{ urls: 'stun:stun.example.org:3478' }]);
    } finally {
      await server.stop();
    }
  });
});
