import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { spawnServer } from '../helpers/server-process.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const REDIS_URL = TEST_REDIS_URL;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const hasRedis = await redisReachable(REDIS_URL);
const fleetEnv = () => ({
  REDIS_URL,
  REDIS_KEY_PREFIX: `fleet-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}:`,
  MAX_CONNECTIONS_PER_ROOM: '3',
  MAX_CONNECTIONS_PER_IP: '50',
  RATE_LIMIT_PER_MINUTE: '10000',
});

describe('a fleet of two instances sharing rooms through Redis', {
  skip: hasRedis ? false : `Redis not reachable at ${REDIS_URL}`,
}, () => {
  let one: RunningServer;
  let two: RunningServer;
  const clients: TestClient[] = [];
  before(async () => {
    const env = fleetEnv();
    one = await startServer(env);
    two = await startServer(env);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await one.stop();
    await two.stop();
  });

  test('peers on different instances see each other and relay both ways', async () => {
    const a = await joinRoom(one.wsUrl, 'cross');
    const b = await joinRoom(two.wsUrl, 'cross');
    clients.push(a.client, b.client);
    assert.deepEqual(b.peers, [a.peerId]);
    assert.equal((await a.client.next('peer_joined')).peer_id, b.peerId);
    a.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'from-a' }, to: b.peerId });
    const offer = await b.client.next('offer');
    assert.equal(offer.from, a.peerId);
    b.client.send({ type: 'answer', answer: { type: 'answer', sdp: 'from-b' } });
    assert.equal((await a.client.next('answer')).from, b.peerId);
    b.client.close();
    assert.equal((await a.client.next('peer_left')).peer_id, b.peerId);
  });

  test('keeps per-sender order across instances', async () => {
    const a = await joinRoom(one.wsUrl, 'order');
    const b = await joinRoom(two.wsUrl, 'order');
    clients.push(a.client, b.client);
    // As in real use, a learns b's id from peer_joined, which its instance has seen by then.
    await a.client.next('peer_joined');
    for (let i = 0; i < 200; i += 1)
      a.client.send({ type: 'ice_candidate', candidate: { candidate: `c${i}` }, to: b.peerId });
    for (let i = 0; i < 200; i += 1) {
      const got = await b.client.next('ice_candidate');
      assert.equal((got.candidate as { candidate: string }).candidate, `c${i}`);
    }
  });

  test('enforces MAX_CONNECTIONS_PER_ROOM across the fleet with 4409', async () => {
    for (const server of [one, two, one]) clients.push((await joinRoom(server.wsUrl, 'full')).client);
    const fourth = new TestClient(`${two.wsUrl}/ws/full`);
    clients.push(fourth);
    assert.equal((await fourth.closed).code, 4409);
  });

  test('room APIs and /health show the fleet-wide rooms', async () => {
    const a = await joinRoom(one.wsUrl, 'listed');
    const b = await joinRoom(two.wsUrl, 'listed');
    clients.push(a.client, b.client);
    const info = (await (await fetch(`${two.url}/api/rooms/listed/info`)).json()) as {
      peer_count: number;
      peers: { peer_id: string }[];
    };
    assert.equal(info.peer_count, 2);
    assert.deepEqual(info.peers.map((p) => p.peer_id).sort(), [a.peerId, b.peerId].sort());
    const health = (await (await fetch(`${one.url}/health`)).json()) as {
      broker: { kind: string; ok: boolean };
    };
    assert.deepEqual(health.broker, { kind: 'redis', ok: true });
  });

  test('unknown_peer for a to on no instance, while a to on the other instance is delivered', async () => {
    const a = await joinRoom(one.wsUrl, 'targets');
    const b = await joinRoom(two.wsUrl, 'targets');
    clients.push(a.client, b.client);
    await a.client.next('peer_joined');
    a.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'x' }, to: 'nobody' });
    assert.equal((await a.client.next('error')).code, 'unknown_peer');
    a.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'x' }, to: b.peerId });
    assert.equal((await b.client.next('offer')).from, a.peerId);
  });
});

describe('when Redis fails', { skip: hasRedis ? false : `Redis not reachable at ${REDIS_URL}` }, () => {
  let redis: ChildProcess | null = null;
  let port = 0;
  const startRedis = async () => {
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5000;
    while (!(await redisReachable(`redis://127.0.0.1:${port}`))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stopRedis = async () => {
    const child = redis;
    redis = null;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  before(async () => {
    port = await freePort();
    await startRedis();
  });
  after(stopRedis);

  test('health turns degraded (503), joins are refused with 1013, and both recover when Redis is back', async () => {
    const server = await startServer({ ...fleetEnv(), REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const a = await joinRoom(server.wsUrl, 'outage');
      await a.client.expectAlive();
      await stopRedis();
      const deadline = Date.now() + 5000;
      let res = await fetch(`${server.url}/health`);
      while (res.status !== 503 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fetch(`${server.url}/health`);
      }
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { status: string }).status, 'degraded');
      const refused = new TestClient(`${server.wsUrl}/ws/outage-2`);
      assert.equal((await refused.closed).code, 1013);
      await a.client.expectAlive();
      await startRedis();
      const back = Date.now() + 10_000;
      while ((await fetch(`${server.url}/health`)).status !== 200) {
        if (Date.now() > back) throw new Error('health did not recover');
        await new Promise((r) => setTimeout(r, 100));
      }
      const again = await joinRoom(server.wsUrl, 'after-outage');
      await again.client.expectAlive();
      again.client.close();
      a.client.close();
    } finally {
      await server.stop();
    }
  });

  test('start-up stops with one clear line when Redis is unreachable', async () => {
    const dead = await freePort();
    await assert.rejects(
      startServer({ REDIS_URL: `redis://127.0.0.1:${dead}` }),
      /cannot reach Redis at redis:\/\/127\.0\.0\.1/,
    );
  });

  test('an unreachable Redis at start-up prints one line with the cause and no stack trace (a real process)', async () => {
    const dead = await freePort();
    const server = await spawnServer({
      REDIS_URL: `redis://127.0.0.1:${dead}`,
      REQUIRE_HTTPS: 'false',
      REQUIRE_AUTH: 'false',
      DEBUG: 'true',
    });
    const { code } = await server.exited;
    assert.equal(code, 1);
    const stderr = server.stderr().trim();
    assert.equal(stderr.split('\n').length, 1, stderr);
    assert.match(
      stderr,
      new RegExp(`^cannot start: cannot reach Redis at redis://127\\.0\\.0\\.1:${dead}.*ECONNREFUSED`),
    );
    assert.doesNotMatch(server.stdout(), /"stack"|\n\s+at /, 'no stack trace in the log either');
  });
});
