import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closedWithin } from '../helpers/measure.js';
import { call } from '../helpers/secure.js';
import { startServer, withServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

const PUBLIC = { PUBLIC_ORIGIN: 'https://signal.example.com', CORS_ORIGINS: 'https://app.example.com' };

describe('PUBLIC_ORIGIN and the Host header', () => {
  test("the WebSocket's own origin came from the Host header (DNS rebinding): with PUBLIC_ORIGIN a rebound Host is refused", async () => {
    await withServer({ ...PUBLIC, DEBUG: 'false' }, async (server, track) => {
      const rebound = track(
        new TestClient(`${server.wsUrl}/ws/rebind`, {
          headers: { Host: 'attacker.example:8000', Origin: 'http://attacker.example:8000' },
        }),
      );
      const refused = await closedWithin(rebound);
      assert.ok(refused.code === -421 || refused.code === 4403, `refused with ${refused.code}`);
      assert.equal(rebound.inbox.length, 0);

      const page = await call(server, 'GET', '/', { headers: { Host: 'attacker.example:8000' } });
      assert.equal(page.status, 421, 'HTTP with a foreign Host is refused too');
      const health = await call(server, 'GET', '/health', { headers: { Host: '10.1.2.3:8000' } });
      assert.equal(health.status, 200, 'health probes may use any Host');

      const own = track(
        new TestClient(`${server.wsUrl}/ws/rebind`, {
          headers: { Host: 'signal.example.com', Origin: 'https://signal.example.com' },
        }),
      );
      await own.next('joined');
      assert.equal(
        (await call(server, 'GET', '/', { headers: { Host: 'SIGNAL.example.com' } })).status,
        200,
        'the public host, in any case, is served',
      );
    });
  });

  test('a bad PUBLIC_ORIGIN stops start-up naming the variable', async () => {
    await assert.rejects(startServer({ PUBLIC_ORIGIN: 'signal.example.com/path' }), /PUBLIC_ORIGIN/);
  });
});

describe('hardening at start-up and in headers', () => {
  test("CSP connect-src 'self' ws: wss: allowed connections to any host: it is 'self' only", async () => {
    await withServer({}, async (server) => {
      const answer = await call(server, 'GET', '/health');
      const csp = String(answer.headers['content-security-policy']);
      const connect = /connect-src ([^;]*)/.exec(csp)?.[1];
      assert.equal(connect, "'self'", csp);
    });
  });

  test('the development users on 0.0.0.0 went unnoticed: one loud warning line at every start', async () => {
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const server = await startServer({ HOST: host, REQUIRE_AUTH: 'true', DEBUG: 'true' });
      try {
        const warnings = server.logs.filter(
          (l) => l.level === 40 && /documented development passwords/.test(String(l.msg)),
        );
        assert.equal(warnings.length, host === '0.0.0.0' ? 1 : 0, `HOST=${host}`);
        if (host === '0.0.0.0') assert.deepEqual(warnings[0]?.users, ['admin', 'user1', 'user2']);
      } finally {
        await server.stop();
      }
    }
  });
});
