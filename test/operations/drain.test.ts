import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { DRAIN_CLOSE_REASON } from '../../src/transport/websocket/websocket-gateway.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { spawnServer } from '../helpers/server-process.js';
import { joinRoom, rawUpgrade, type TestClient } from '../helpers/ws-client.js';

const hasRedis = await redisReachable();

/** A client that joins `room` and then never reads again, so it never answers the server's close. */
async function silentClient(port: number, room: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET /ws/${room} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  socket.on('error', () => {});
  return socket;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The candidate numbers `client` received, in order. */
function received(client: TestClient): number[] {
  return client.inbox
    .filter((m) => m.type === 'ice_candidate')
    .map((m) => Number((m.candidate as { candidate: string }).candidate));
}

describe('drain (SIGTERM)', () => {
  test('ready flips to 503 at once while live stays 200; new WebSockets get 503; clients get 1001', async () => {
    const server = await startServer({ SHUTDOWN_TIMEOUT: '3' });
    const peer = await joinRoom(server.wsUrl, 'drain');
    const silent = await silentClient(server.port, 'drain');
    try {
      assert.equal((await fetch(`${server.url}/health/ready`)).status, 200);
      const stopped = server.stop();
      const ready = await fetch(`${server.url}/health/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), {
        status: 'not_ready',
        draining: true,
        broker: { kind: 'memory', ok: true },
      });
      assert.equal((await fetch(`${server.url}/health/live`)).status, 200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /^signaling_draining 1$/m);
      assert.equal(
        (await rawUpgrade(server.port, '/ws/drain')).status,
        503,
        'no new WebSockets while draining',
      );
      const close = await peer.client.closed;
      assert.deepEqual(close, { code: 1001, reason: DRAIN_CLOSE_REASON });
      await stopped;
    } finally {
      silent.destroy();
      peer.client.ws.terminate();
    }
  });

  test('the process exits 0 within SHUTDOWN_TIMEOUT even when a client never answers the close', async () => {
    const server = await spawnServer({
      REQUIRE_HTTPS: 'false',
      REQUIRE_AUTH: 'false',
      DEBUG: 'false',
      SHUTDOWN_TIMEOUT: '2',
    });
    let silent: Socket | undefined;
    try {
      const port = await server.ready;
      silent = await silentClient(port, 'stuck');
      const started = Date.now();
      server.child.kill('SIGTERM');
      assert.deepEqual(await server.exited, { code: 0, signal: null });
      assert.ok(Date.now() - started < 2500, `exited after ${Date.now() - started} ms`);
    } finally {
      silent?.destroy();
      server.child.kill('SIGKILL');
    }
  });

  for (const mode of ['memory', 'redis'] as const) {
    test(`under load, every message accepted before the drain reaches its recipients (${mode})`, {
      skip: mode === 'redis' && !hasRedis ? `Redis not reachable at ${TEST_REDIS_URL}` : false,
    }, async () => {
      const env: Record<string, string> = {
        RATE_LIMIT_PER_MINUTE: '10000000',
        MAX_CONNECTIONS_PER_IP: '50',
        SHUTDOWN_TIMEOUT: '4',
      };
      if (mode === 'redis') {
        env.REDIS_URL = TEST_REDIS_URL;
        env.REDIS_KEY_PREFIX = `drain-${process.pid}-${Date.now()}:`;
      }
      const draining = await startServer(env);
      const other: RunningServer | null = mode === 'redis' ? await startServer(env) : null;
      const sender = await joinRoom(draining.wsUrl, 'load');
      const local = await joinRoom(draining.wsUrl, 'load');
      const remote = other ? await joinRoom(other.wsUrl, 'load') : null;
      try {
        await sender.client.next('peer_joined');
        if (remote) await sender.client.next('peer_joined');
        let sent = 0;
        let sending = true;
        const pump = (async () => {
          while (sending && sender.client.ws.readyState === sender.client.ws.OPEN) {
            // At most 200 in flight, so a shared (Redis) rate limit keeps up instead of refusing.
            if (sent - received(local.client).length < 200)
              for (let i = 0; i < 50; i += 1)
                sender.client.send({ type: 'ice_candidate', candidate: { candidate: String(sent++) } });
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        })();
        await until(() => received(local.client).length >= 500);
        await draining.stop();
        sending = false;
        await pump;
        const accepted = draining.app.operations.relayed.ice_candidate;
        assert.ok(accepted >= 500 && accepted <= sent, `accepted ${accepted} of ${sent}`);
        const got = received(local.client);
        assert.equal(got.length, accepted, 'the local recipient got every accepted message');
        assert.deepEqual(
          got,
          Array.from({ length: accepted }, (_, i) => i),
          'in order, without gaps',
        );
        if (remote) {
          await until(() => received(remote.client).length >= accepted);
          assert.deepEqual(received(remote.client), got, 'the recipient on the other instance too');
        }
      } finally {
        for (const c of [sender, local, remote]) c?.client.ws.terminate();
        await draining.stop();
        await other?.stop();
      }
    });
  }
});
