import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closedWithin } from '../helpers/measure.js';
import { httpRequest } from '../helpers/raw-socket.js';
import { login } from '../helpers/secure.js';
import { type RunningServer, withServer as withTestServer } from '../helpers/server.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const withServer: typeof withTestServer = (env, body) =>
  withTestServer({ RATE_LIMIT_PER_MINUTE: '100000', MAX_CONNECTIONS_PER_IP: '5', ...env }, body);

/** Joins room `xff` from `from` claiming `forwardedFor`; resolves with the client once joined. */
async function joinVia(server: RunningServer, from: string, forwardedFor: string): Promise<TestClient> {
  const { client } = await joinRoom(server.wsUrl, 'xff', {
    localAddress: from,
    headers: { 'X-Forwarded-For': forwardedFor },
  });
  return client;
}

async function expectCapped(server: RunningServer, from: string, forwardedFor: string): Promise<TestClient> {
  const client = new TestClient(`${server.wsUrl}/ws/xff`, {
    localAddress: from,
    headers: { 'X-Forwarded-For': forwardedFor },
  });
  assert.equal(
    (await closedWithin(client)).code,
    -429,
    `expected 429 from ${from} with X-Forwarded-For ${forwardedFor}`,
  );
  return client;
}

describe('X-Forwarded-For and TRUST_PROXY', () => {
  test('without TRUST_PROXY a spoofed X-Forwarded-For changes nothing: the 6th connection is still refused', async () => {
    await withServer({}, async (server, track) => {
      for (let i = 1; i <= 5; i += 1) track(await joinVia(server, '127.0.0.1', `198.51.100.${i}`));
      track(await expectCapped(server, '127.0.0.1', '198.51.100.99'));
      assert.equal(await server.app.diagnostics.connectionsOf('127.0.0.1'), 5);
      assert.equal(
        server.app.diagnostics.trackedLimitEntries().connectionCaps,
        1,
        'no forwarded address was counted',
      );
    });
  });

  test('without TRUST_PROXY a spoofed X-Forwarded-For does not escape an IP block', async () => {
    await withServer({ AUTH_MAX_FAILURES: '2', AUTH_BLOCK_SECONDS: '60' }, async (server) => {
      await login(server, 'admin', 'wrong-1', '127.0.0.5');
      await login(server, 'admin', 'wrong-2', '127.0.0.5');
      const spoofed = await httpRequest(server.port, '/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.50' },
        body: JSON.stringify({ username: 'user1', password: 'password123' }),
        localAddress: '127.0.0.5',
      });
      assert.equal(spoofed.status, 429);
      assert.ok(Number(spoofed.headers['retry-after']) > 0);
      const upgrade = new TestClient(`${server.wsUrl}/ws/xff`, {
        localAddress: '127.0.0.5',
        headers: { 'X-Forwarded-For': '203.0.113.50' },
      });
      assert.equal((await closedWithin(upgrade)).code, -429);
    });
  });

  test('with TRUST_PROXY=127.0.0.1 the proxy-reported address is counted', async () => {
    await withServer({ TRUST_PROXY: '127.0.0.1' }, async (server, track) => {
      for (let i = 0; i < 5; i += 1) track(await joinVia(server, '127.0.0.1', '198.51.100.1'));
      track(await expectCapped(server, '127.0.0.1', '198.51.100.1'));
      // The proxy itself carries many clients: another forwarded client still gets in.
      track(await joinVia(server, '127.0.0.1', '198.51.100.2'));
      // A client-written prefix is ignored: the right-most untrusted entry counts.
      track(await joinVia(server, '127.0.0.1', '198.51.100.1, 198.51.100.3'));
      assert.equal(await server.app.diagnostics.connectionsOf('198.51.100.1'), 5);
      assert.equal(await server.app.diagnostics.connectionsOf('198.51.100.2'), 1);
      assert.equal(await server.app.diagnostics.connectionsOf('198.51.100.3'), 1);
      assert.equal(await server.app.diagnostics.connectionsOf('127.0.0.1'), 0);
    });
  });

  test('with TRUST_PROXY=127.0.0.1, X-Forwarded-For from 127.0.0.2 (not the proxy) is ignored', async () => {
    await withServer({ TRUST_PROXY: '127.0.0.1' }, async (server, track) => {
      for (let i = 1; i <= 5; i += 1) track(await joinVia(server, '127.0.0.2', `198.51.100.${i}`));
      track(await expectCapped(server, '127.0.0.2', '198.51.100.99'));
      assert.equal(await server.app.diagnostics.connectionsOf('127.0.0.2'), 5);
      assert.equal(server.app.diagnostics.trackedLimitEntries().connectionCaps, 1);
    });
  });

  for (const trust of ['true', '1']) {
    test(`with TRUST_PROXY=${trust} the forwarded client address is counted`, async () => {
      await withServer({ TRUST_PROXY: trust }, async (server, track) => {
        for (let i = 0; i < 5; i += 1) track(await joinVia(server, '127.0.0.1', '198.51.100.7'));
        track(await expectCapped(server, '127.0.0.1', '198.51.100.7'));
        track(await joinVia(server, '127.0.0.1', '198.51.100.8'));
        assert.equal(await server.app.diagnostics.connectionsOf('198.51.100.7'), 5);
        assert.equal(await server.app.diagnostics.connectionsOf('127.0.0.1'), 0);
      });
    });
  }

  test('with TRUST_PROXY=1 a client-written entry in front of the proxy’s is ignored', async () => {
    await withServer({ TRUST_PROXY: '1' }, async (server, track) => {
      track(await joinVia(server, '127.0.0.1', '6.6.6.6, 198.51.100.9'));
      assert.equal(await server.app.diagnostics.connectionsOf('198.51.100.9'), 1);
      assert.equal(await server.app.diagnostics.connectionsOf('6.6.6.6'), 0);
    });
  });
});
