import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closedWithin, describeGrowth, MiB, measureMemory, sleep, waitFor } from '../../helpers/measure.js';
import { login } from '../../helpers/secure.js';
import { startServer } from '../../helpers/server.js';
import { TestClient } from '../../helpers/ws-client.js';

const CYCLES = 10_000;
const CONCURRENCY = 50;
const ROOMS = 25;
const IPS = 20;
/** Every this many cycles uses a bad token, so the auth-failure table has something to return from. */
const BAD_TOKEN_EVERY = 100;

describe('soak', () => {
  test(`${CYCLES} connect/join/ping/leave cycles return connections, rooms and tracking tables to their baseline`, {
    timeout: 180_000,
  }, async () => {
    const server = await startServer({
      REQUIRE_AUTH: 'true',
      RATE_LIMIT_PER_MINUTE: '10000000',
      MAX_CONNECTIONS_PER_IP: '50',
      AUTH_MAX_FAILURES: '1000000',
      AUTH_FAILURE_WINDOW: '1',
      LOG_LEVEL: 'error',
    });
    const open = new Set<TestClient>();
    try {
      const app = server.app;
      // One after another: an address gets at most two logins in flight.
      const tokens: string[] = [];
      for (const [user, password] of [
        ['user1', 'password123'],
        ['user2', 'password123'],
        ['admin', 'admin123'],
      ] as const) {
        tokens.push(((await login(server, user, password)).json as { access_token: string }).access_token);
      }
      const health = async () => {
        const body = (await (await fetch(`${server.url}/health`)).json()) as {
          connections: number;
          rooms: number;
        };
        return { connections: body.connections, rooms: body.rooms };
      };
      const tables = async () => {
        const tracked = app.diagnostics.trackedLimitEntries();
        return {
          health: await health(),
          connectionCount: app.diagnostics.connections,
          localPeers: app.diagnostics.localPeers,
          localRooms: app.diagnostics.localRooms,
          connectionsPerIp: tracked.connectionCaps,
          ipRate: tracked.ipRates,
          authFailureIps: tracked.authFailureIps,
        };
      };
      const baseline = await tables();
      const memoryBefore = await measureMemory();

      let next = 0;
      let joined = 0;
      let refusedTokens = 0;
      let peakConnections = 0;
      const failures: string[] = [];
      const cycle = async (i: number) => {
        const bad = i % BAD_TOKEN_EVERY === 0;
        const token = bad ? 'not-a-token' : tokens[i % tokens.length]!;
        const client = new TestClient(
          `${server.wsUrl}/ws/soak-${i % ROOMS}?token=${encodeURIComponent(token)}`,
          {
            localAddress: `127.0.0.${1 + (i % IPS)}`,
          },
        );
        open.add(client);
        try {
          if (bad) {
            const closed = await closedWithin(client);
            if (closed.code !== 4401) failures.push(`cycle ${i}: bad token closed with ${closed.code}`);
            else refusedTokens += 1;
            return;
          }
          await client.next('joined', 10_000);
          joined += 1;
          peakConnections = Math.max(peakConnections, app.diagnostics.connections);
          await client.expectAlive();
          client.close();
          const closed = await closedWithin(client);
          if (closed.code !== 1005 && closed.code !== 1000)
            failures.push(`cycle ${i}: closed with ${closed.code}`);
        } catch (error) {
          failures.push(`cycle ${i}: ${(error as Error).message.slice(0, 200)}`);
          client.ws.terminate();
        } finally {
          open.delete(client);
        }
      };
      const started = Date.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < CYCLES && failures.length < 20) await cycle(next++);
        }),
      );
      const seconds = (Date.now() - started) / 1000;
      assert.deepEqual(failures, []);
      assert.equal(joined + refusedTokens, CYCLES);

      await sleep(1100); // AUTH_FAILURE_WINDOW=1: the failure windows run out
      const expected = { ...baseline };
      let settled = baseline;
      await waitFor(
        'connections, rooms and tables to return to the baseline',
        async () => {
          settled = await tables();
          return JSON.stringify(settled) === JSON.stringify(expected);
        },
        10_000,
        100,
      ).catch(() => {}); // the deepEqual below shows what did not return
      const memoryAfter = await measureMemory();
      assert.deepEqual(settled, baseline);
      console.log(
        `soak: ${CYCLES} cycles (${joined} joins, ${refusedTokens} bad tokens) at concurrency ${CONCURRENCY} in ${seconds.toFixed(1)} s ` +
          `(${Math.round(CYCLES / seconds)} cycles/s), peak ${peakConnections} open; ${describeGrowth(memoryBefore, memoryAfter)}`,
      );
      assert.equal(baseline.connectionsPerIp, 0);
      assert.equal(baseline.health.connections, 0);
      const growth =
        memoryAfter.heapUsed + memoryAfter.offHeap - (memoryBefore.heapUsed + memoryBefore.offHeap);
      assert.ok(growth < 24 * MiB, `memory grew ${(growth / MiB).toFixed(1)} MiB over the soak`);
    } finally {
      for (const c of open) c.ws.terminate();
      await server.stop();
    }
  });
});
