import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sleep, within } from '../../helpers/measure.js';
import { randomKey, tokenFor } from '../../helpers/secure.js';
import { withServer } from '../../helpers/server.js';
import { joinRoom, TestClient } from '../../helpers/ws-client.js';

const AUTH = { REQUIRE_AUTH: 'true', JWT_SECRET_KEY: randomKey(), AUTH_MAX_FAILURES: '1000' };

describe('the token as the first WebSocket message (?auth=message)', () => {
  test('tokens in URLs end up in proxy logs: {"type":"auth","token"} as the first message joins with a bare URL', async () => {
    await withServer(AUTH, async (server, track) => {
      const token = await tokenFor(server, 'user1', 'password123');
      const other = track((await joinRoom(server.wsUrl, 'no-url-token', { token })).client);
      const client = track(new TestClient(`${server.wsUrl}/ws/no-url-token?auth=message`));
      await client.opened;
      await sleep(300);
      assert.deepEqual(client.inbox, [], 'nothing, not even joined, before the token is verified');
      client.send({ type: 'auth', token });
      const joined = await client.next('joined');
      assert.equal((joined.peers as string[]).length, 1, 'the other peer is there');
      assert.equal((await other.next('peer_joined')).username, 'user1');
      await client.expectAlive();
      const logged = server.logs.map((l) => JSON.stringify(l)).join('\n');
      assert.equal(logged.includes(token), false, 'the token is never logged');
    });
  });

  test('messages sent right behind the auth message are not lost', async () => {
    await withServer(AUTH, async (server, track) => {
      const token = await tokenFor(server, 'user1', 'password123');
      const client = track(new TestClient(`${server.wsUrl}/ws/behind?auth=message`));
      await client.opened;
      client.send({ type: 'auth', token });
      client.send({ type: 'ping', ts: 42 });
      await client.next('joined');
      assert.equal((await client.next('pong')).ts, 42);
    });
  });

  test('a bad token as the first message is closed with 4401 and never joined, and counts as a failure', async () => {
    await withServer(AUTH, async (server, track) => {
      const client = track(new TestClient(`${server.wsUrl}/ws/bad-first?auth=message`));
      await client.opened;
      client.send({ type: 'auth', token: 'not.a.jwt' });
      const closed = await within(client.closed, 3000, 'the close');
      assert.equal(closed.code, 4401);
      assert.equal(
        client.inbox.find((m) => m.type === 'joined'),
        undefined,
      );
      assert.ok(server.app.diagnostics.securityEvents('auth_failed') >= 1);
    });
  });

  test('a first message that is not auth is closed with 4401', async () => {
    await withServer(AUTH, async (server, track) => {
      const client = track(new TestClient(`${server.wsUrl}/ws/not-auth?auth=message`));
      await client.opened;
      client.send({ type: 'ping' });
      assert.equal((await within(client.closed, 3000, 'the close')).code, 4401);
      assert.equal(client.inbox.length, 0);
    });
  });

  test('without ?auth=message a connection with no token is refused at once (4401), as the contract says', async () => {
    await withServer(AUTH, async (server, track) => {
      const client = track(new TestClient(`${server.wsUrl}/ws/no-opt-in`));
      const started = Date.now();
      const closed = await within(client.closed, 3000, 'the close');
      assert.equal(closed.code, 4401);
      assert.match(closed.reason, /missing token/);
      assert.ok(Date.now() - started < 2000, 'no wait for a first message');
    });
  });

  test('a connection that asked to send its token first and sends nothing is closed with 4401 within a few seconds', async () => {
    await withServer(AUTH, async (server, track) => {
      const client = track(new TestClient(`${server.wsUrl}/ws/silent?auth=message`));
      await client.opened;
      const started = Date.now();
      const closed = await within(client.closed, 8000, 'the close');
      assert.equal(closed.code, 4401);
      assert.ok(Date.now() - started <= 7000);
    });
  });
});
