import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { freePort } from '../helpers/redis-process.js';
import { type ServerProcess, spawnServer } from '../helpers/server-process.js';
import { countPongsAndLimits as count, joinRoom } from '../helpers/ws-client.js';

/** The JSON log lines a server process printed so far. */
function logLines(server: ServerProcess): Record<string, unknown>[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Pids of the workers that logged that they listen. */
function listeningWorkers(server: ServerProcess): number[] {
  return logLines(server)
    .filter((l) => String(l.msg).startsWith('signaling server listening') && typeof l.pid === 'number')
    .map((l) => l.pid as number);
}

/** The pid of the worker that logged `peer` joining. */
function workerOf(server: ServerProcess, peer: string): number | undefined {
  return logLines(server).find((l) => l.msg === 'peer joined' && l.peer === peer)?.pid as number | undefined;
}

async function until(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('WORKERS=2: one server, two worker processes sharing the port', {
  skip: (await redisReachable()) ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, () => {
  test('refuses to start without REDIS_URL, in one line', async () => {
    const server = await spawnServer({ WORKERS: '2' });
    const { code } = await server.exited;
    assert.equal(code, 1);
    assert.match(server.stderr().trim(), /^invalid configuration: WORKERS="2": .*REDIS_URL[^\n]*$/);
  });

  test('a room spans workers: bursts cross in order, over-limit is refused on every worker, a killed worker is announced and replaced, SIGTERM drains all', async () => {
    const server = await spawnServer({
      WORKERS: '2',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `workers-${process.pid}-${Date.now()}:`,
      REQUIRE_HTTPS: 'false',
      REQUIRE_AUTH: 'false',
      DEBUG: 'false',
      RATE_LIMIT_PER_MINUTE: '1',
      RATE_LIMIT_BURST: '520',
      MAX_CONNECTIONS_PER_IP: '50',
    });
    try {
      const port = await server.ready;
      const wsUrl = `ws://127.0.0.1:${port}`;
      await until('two workers listening', 20_000, () => new Set(listeningWorkers(server)).size === 2);

      // Connections are spread over the workers; keep joining until two peers sit on different ones.
      const a = await joinRoom(wsUrl, 'spread');
      await until('a logged', 2000, () => workerOf(server, a.peerId) !== undefined);
      const aWorker = workerOf(server, a.peerId)!;
      let b: Awaited<ReturnType<typeof joinRoom>> | null = null;
      for (let i = 0; i < 8 && b === null; i += 1) {
        const candidate = await joinRoom(wsUrl, 'spread');
        await until('peer logged', 2000, () => workerOf(server, candidate.peerId) !== undefined);
        if (workerOf(server, candidate.peerId) !== aWorker) b = candidate;
        else candidate.client.close();
      }
      assert.ok(b, 'a connection landed on the second worker');
      const bWorker = workerOf(server, b.peerId)!;
      await until('a knows b', 3000, () =>
        a.client.inbox.some((m) => m.type === 'peer_joined' && m.peer_id === b!.peerId),
      );

      // 500 messages back to back, within the limits: all cross, in order, none refused.
      for (let i = 0; i < 500; i += 1)
        a.client.send({ type: 'ice_candidate', candidate: { candidate: `c${i}` }, to: b.peerId });
      for (let i = 0; i < 500; i += 1) {
        const got = await b.client.next('ice_candidate');
        assert.equal((got.candidate as { candidate: string }).candidate, `c${i}`);
      }
      await a.client.expectAlive();
      assert.equal(a.client.inbox.filter((m) => m.type === 'error').length, 0);

      // Past the burst (520: 501 used): refused here, and within a second on the other worker too.
      for (let i = 0; i < 30; i += 1) a.client.send({ type: 'ping' });
      assert.deepEqual(await count(a.client, 30), { pongs: 19, limited: 11 });
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < 3; i += 1) b.client.send({ type: 'ping' });
      assert.deepEqual(await count(b.client, 3), { pongs: 0, limited: 3 });

      // SIGKILL the worker holding b: a hears peer_left within 5 s, and a new worker takes its place.
      process.kill(bWorker, 'SIGKILL');
      const killedAt = Date.now();
      assert.equal((await a.client.next('peer_left', 6000)).peer_id, b.peerId);
      const took = Date.now() - killedAt;
      console.log(`# peer_left ${took} ms after SIGKILL of a worker`);
      assert.ok(took < 5000, `peer_left after ${took} ms`);
      await until('a replacement worker', 20_000, () => {
        const pids = new Set(listeningWorkers(server));
        return pids.size === 3;
      });
      const again = await joinRoom(wsUrl, 'spread');
      assert.ok(again.peers.includes(a.peerId));

      // SIGTERM on the primary: every worker closes its sockets with 1001, the pool exits 0.
      server.child.kill('SIGTERM');
      const stoppedAt = Date.now();
      assert.equal((await a.client.closed).code, 1001);
      assert.equal((await again.client.closed).code, 1001);
      const { code } = await server.exited;
      assert.equal(code, 0);
      assert.ok(Date.now() - stoppedAt < 10_000);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
  test('with METRICS_PORT the primary serves every worker’s metrics, one series per worker', async () => {
    const metricsPort = await freePort();
    const server = await spawnServer({
      WORKERS: '2',
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `workers-metrics-${process.pid}-${Date.now()}:`,
      REQUIRE_HTTPS: 'false',
      REQUIRE_AUTH: 'false',
      DEBUG: 'false',
      METRICS_PORT: String(metricsPort),
      METRICS_TOKEN: 'scrape-secret-1',
    });
    try {
      const port = await server.ready;
      await until('two workers listening', 20_000, () => new Set(listeningWorkers(server)).size === 2);
      const peers = [];
      for (let i = 0; i < 4; i += 1) peers.push(await joinRoom(`ws://127.0.0.1:${port}`, `metrics-${i}`));
      const scrape = async (token?: string) =>
        fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
      assert.equal((await scrape()).status, 401, 'the token guards the aggregated metrics too');
      const response = await scrape('scrape-secret-1');
      assert.equal(response.status, 200);
      const text = await response.text();
      const series = [...text.matchAll(/^signaling_peers\{worker="(\d+)"\} (\d+)$/gm)];
      assert.equal(new Set(series.map((m) => m[1])).size, 2, `one series per worker:\n${series.join('\n')}`);
      assert.equal(
        series.reduce((sum, m) => sum + Number(m[2]), 0),
        4,
        'the workers’ peers add up to every joined peer',
      );
      for (const p of peers) p.client.close();
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
