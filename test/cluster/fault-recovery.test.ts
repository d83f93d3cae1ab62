import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { canStartRedis, startRedisProcess } from '../helpers/redis-process.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { spawnServer } from '../helpers/server-process.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const prefix = () => `fault-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}:`;
const OUTAGE_MS = 20_000;
const RECOVERY_BUDGET_MS = 5_000;

/** Polls `check` until it returns true; resolves with the milliseconds it took. */
async function within(budgetMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - start;
    if (Date.now() - start > budgetMs) throw new Error(`${what} not within ${budgetMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function roomPeers(server: RunningServer, room: string): Promise<string[]> {
  const res = await fetch(`${server.url}/api/rooms/${room}/info`);
  if (res.status === 404) return [];
  return ((await res.json()) as { peers: { peer_id: string }[] }).peers.map((p) => p.peer_id).sort();
}

describe('an instance killed with SIGKILL', {
  skip: (await redisReachable()) ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, () => {
  test('its peers are announced peer_left on the other instances within 5 s', async () => {
    const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix(), MAX_CONNECTIONS_PER_IP: '20' };
    const survivor = await startServer(env);
    const doomed = await spawnServer({
      ...env,
      REQUIRE_HTTPS: 'false',
      REQUIRE_AUTH: 'false',
      DEBUG: 'true',
    });
    try {
      const port = await doomed.ready;
      const a = await joinRoom(survivor.wsUrl, 'crash');
      const b = await joinRoom(`ws://127.0.0.1:${port}`, 'crash');
      assert.equal((await a.client.next('peer_joined')).peer_id, b.peerId);
      doomed.child.kill('SIGKILL');
      const killedAt = Date.now();
      assert.equal((await a.client.next('peer_left', 6000)).peer_id, b.peerId);
      const took = Date.now() - killedAt;
      console.log(`# peer_left ${took} ms after SIGKILL`);
      assert.ok(took < 5000, `peer_left after ${took} ms`);
      assert.deepEqual(await roomPeers(survivor, 'crash'), [a.peerId]);
      a.client.close();
    } finally {
      doomed.child.kill('SIGKILL');
      await survivor.stop();
    }
  });
});

describe('Redis stopped for 20 s while peers leave and join, then restarted', {
  skip: (await canStartRedis()) ? false : 'redis-server is not installed: the outage test starts its own',
}, () => {
  test('room lists, room caps and per-IP counts match the connected clients within 5 s', async () => {
    // Written to an append-only file, so the restarted Redis still holds the ghosts of the outage.
    const redis = await startRedisProcess({ persist: true });
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix(),
      MAX_CONNECTIONS_PER_ROOM: '3',
      MAX_CONNECTIONS_PER_IP: '10',
    };
    const one = await startServer(env);
    const two = await startServer(env);
    const clients: TestClient[] = [];
    try {
      const a = await joinRoom(one.wsUrl, 'outage');
      const b = await joinRoom(two.wsUrl, 'outage');
      const c = await joinRoom(one.wsUrl, 'outage');
      clients.push(a.client, b.client, c.client);
      await a.client.next('peer_joined');
      await a.client.next('peer_joined');
      assert.equal(await one.app.diagnostics.connectionsOf('127.0.0.1'), 3);

      await redis.stop();
      await new Promise((r) => setTimeout(r, 1000));
      b.client.close();
      c.client.close();
      await Promise.all([b.client.closed, c.client.closed]);
      const refused = new TestClient(`${two.wsUrl}/ws/outage`);
      assert.equal((await refused.closed).code, 1013);
      await a.client.expectAlive();
      await new Promise((r) => setTimeout(r, OUTAGE_MS - 1000));

      await redis.start();
      const restartedAt = Date.now();
      const listed = await within(RECOVERY_BUDGET_MS, 'room lists', async () => {
        const [p1, p2] = await Promise.all([roomPeers(one, 'outage'), roomPeers(two, 'outage')]);
        return p1.join() === a.peerId && p2.join() === a.peerId;
      });
      await within(RECOVERY_BUDGET_MS, 'per-IP counts', async () => {
        const counts = await Promise.all([one, two].map((s) => s.app.diagnostics.connectionsOf('127.0.0.1')));
        return counts.every((n) => n === 1);
      });
      const counted = Date.now() - restartedAt;
      const left = new Set([
        (await a.client.next('peer_left', RECOVERY_BUDGET_MS)).peer_id,
        (await a.client.next('peer_left', RECOVERY_BUDGET_MS)).peer_id,
      ]);
      assert.deepEqual(left, new Set([b.peerId, c.peerId]));
      console.log(`# after the restart: room lists right in ${listed} ms, per-IP counts in ${counted} ms`);

      // The ghosts no longer fill the room: two new peers fit beside a (cap 3), a third does not.
      const d = await joinRoom(two.wsUrl, 'outage');
      const e = await joinRoom(one.wsUrl, 'outage');
      clients.push(d.client, e.client);
      assert.deepEqual(d.peers, [a.peerId]);
      const full = new TestClient(`${two.wsUrl}/ws/outage`);
      clients.push(full);
      assert.equal((await full.closed).code, 4409);
      await within(RECOVERY_BUDGET_MS, 'per-IP counts with the new peers', async () => {
        const counts = await Promise.all([one, two].map((s) => s.app.diagnostics.connectionsOf('127.0.0.1')));
        return counts.every((n) => n === 3);
      });
      // a still reaches the others and is reached: nobody was left unreachable.
      a.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'after' }, to: d.peerId });
      assert.equal((await d.client.next('offer')).from, a.peerId);
    } finally {
      for (const client of clients) client.ws.terminate();
      await one.stop();
      await two.stop();
      await redis.stop();
    }
  });
});
