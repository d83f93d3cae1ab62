import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { login } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { countPongsAndLimits as count, joinRoom, TestClient } from '../helpers/ws-client.js';

const REDIS_URL = TEST_REDIS_URL;

async function fleet(env: Record<string, string>): Promise<[RunningServer, RunningServer]> {
  const shared = {
    REDIS_URL,
    REDIS_KEY_PREFIX: `limits-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}:`,
    JWT_SECRET_KEY: 'a-fleet-wide-test-key-of-at-least-32-bytes',
    ...env,
  };
  const one = await startServer(shared);
  const two = await startServer({
    ...shared,
    USERS_FILE: one.config.usersFile,
  });
  return [one, two];
}

describe('limits shared by a fleet through Redis', {
  skip: (await redisReachable()) ? false : `Redis not reachable at ${REDIS_URL}`,
}, () => {
  test('MAX_CONNECTIONS_PER_IP counts connections on every instance', async () => {
    const [one, two] = await fleet({ MAX_CONNECTIONS_PER_IP: '3' });
    const clients: TestClient[] = [];
    try {
      clients.push(
        (await joinRoom(one.wsUrl, 'cap')).client,
        (await joinRoom(two.wsUrl, 'cap')).client,
        (await joinRoom(one.wsUrl, 'cap2')).client,
      );
      const refused = new TestClient(`${two.wsUrl}/ws/cap`);
      assert.equal((await refused.closed).code, -429);
      assert.ok(refused.httpHeaders['retry-after']);
      clients[0]!.close();
      await clients[0]!.closed;
      let admitted: TestClient | null = null;
      const deadline = Date.now() + 3000;
      while (!admitted && Date.now() < deadline) {
        const attempt = new TestClient(`${two.wsUrl}/ws/cap`);
        const first = await Promise.race([
          attempt.next('joined').then(() => 'joined' as const),
          attempt.closed.then(() => 'closed' as const),
        ]);
        if (first === 'joined') admitted = attempt;
        else await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(admitted, 'a slot freed on one instance is usable on the other');
      clients.push(admitted);
    } finally {
      for (const c of clients) c.ws.terminate();
      await one.stop();
      await two.stop();
    }
  });

  test('an IP blocked for failed logins on one instance is blocked on the other, right password or not', async () => {
    const [one, two] = await fleet({ AUTH_MAX_FAILURES: '3', DEBUG: 'true' });
    try {
      for (let i = 0; i < 3; i += 1) assert.equal((await login(one, 'user1', 'wrong')).status, 401);
      assert.equal((await login(two, 'user1', 'password123')).status, 429);
      const upgrade = new TestClient(`${two.wsUrl}/ws/blocked`);
      assert.equal((await upgrade.closed).code, -429);
    } finally {
      await one.stop();
      await two.stop();
    }
  });

  test('a 500-message burst within the limits crosses instances in order with no rate_limited', async () => {
    const [one, two] = await fleet({ RATE_LIMIT_PER_MINUTE: '100000', MAX_CONNECTIONS_PER_IP: '10' });
    try {
      const a = await joinRoom(one.wsUrl, 'burst');
      const b = await joinRoom(two.wsUrl, 'burst');
      await a.client.next('peer_joined');
      for (let i = 0; i < 500; i += 1)
        a.client.send({ type: 'ice_candidate', candidate: { candidate: `c${i}` }, to: b.peerId });
      for (let i = 0; i < 500; i += 1) {
        const got = await b.client.next('ice_candidate');
        assert.equal((got.candidate as { candidate: string }).candidate, `c${i}`);
      }
      await a.client.expectAlive();
      assert.deepEqual(
        a.client.inbox.filter((m) => m.type === 'error'),
        [],
      );
      assert.equal(one.app.diagnostics.securityEvents('rate_limited'), 0);
      a.client.close();
      b.client.close();
    } finally {
      await one.stop();
      await two.stop();
    }
  });

  test('a burst over the limits on one instance is refused on every instance', async () => {
    const [one, two] = await fleet({
      RATE_LIMIT_PER_MINUTE: '1',
      RATE_LIMIT_BURST: '30',
      MAX_CONNECTIONS_PER_IP: '10',
    });
    try {
      const a = await joinRoom(one.wsUrl, 'over');
      for (let i = 0; i < 40; i += 1) a.client.send({ type: 'ping', ts: i });
      assert.deepEqual(await count(a.client, 40), { pongs: 30, limited: 10 });
      // The fleet learns within a few syncs (250 ms each); the client never sent through `two`.
      await new Promise((r) => setTimeout(r, 1000));
      const b = await joinRoom(two.wsUrl, 'over');
      for (let i = 0; i < 5; i += 1) b.client.send({ type: 'ping', ts: i });
      assert.deepEqual(await count(b.client, 5), { pongs: 0, limited: 5 });
      a.client.send({ type: 'ping' });
      assert.deepEqual(await count(a.client, 1), { pongs: 0, limited: 1 });
      a.client.close();
      b.client.close();
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});
