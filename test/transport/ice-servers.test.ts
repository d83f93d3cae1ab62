import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from '../helpers/server.js';

describe('GET /api/ice-servers with REQUIRE_AUTH', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      REQUIRE_AUTH: 'true',
      TURN_URLS: 'turn:turn.example.org:3478',
      TURN_SECRET: 'new-secret,old-secret',
      TURN_TTL: '3600',
      ICE_SERVERS: '[{"urls":"stun:static.example.org"}]',
    });
  });
  after(() => server.stop());

  test('answers 401 without a token, so TURN credentials go to signed-in users only', async () => {
    const answer = await server.app.http.inject({ method: 'GET', url: '/api/ice-servers' });
    assert.equal(answer.statusCode, 401);
  });

  test('with a token: TURN credentials naming the user, signed with the first secret, then the static entries', async () => {
    const login = await server.app.http.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'user1', password: 'password123' },
    });
    const token = (login.json() as { access_token: string }).access_token;
    const answer = await server.app.http.inject({
      method: 'GET',
      url: '/api/ice-servers',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(answer.statusCode, 200);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const body = answer.json() as { iceServers: Array<Record<string, unknown>>; ttl: number };
    assert.equal(body.ttl, 3600);
    const [turn, stun] = body.iceServers;
    assert.deepEqual(stun, { urls: 'stun:static.example.org' });
    const username = String(turn?.username);
    assert.match(username, /^\d+:user1$/);
    const expected = createHmac('sha1', 'new-secret').update(username).digest('base64');
    assert.equal(turn?.credential, expected);
  });
});
