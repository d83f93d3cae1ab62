import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { closedWithin } from '../helpers/measure.js';
import { httpRequest } from '../helpers/raw-socket.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

/** The headers every answer must carry, errors included. */
function assertSecurityHeaders(headers: IncomingHttpHeaders, what: string): void {
  assert.equal(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.match(
    String(headers['content-security-policy']),
    /frame-ancestors 'none'/,
    `${what}: CSP with frame-ancestors`,
  );
  assert.match(
    String(headers['referrer-policy']),
    /^(no-referrer|same-origin|strict-origin(-when-cross-origin)?)$/,
    `${what}: Referrer-Policy`,
  );
  assert.equal(headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
}

const json = { 'content-type': 'application/json' };

/**
 * The real app with one extra route that throws, registered before `listen`: the only way to see a
 * genuine 500 from outside.
 */
function startAppWithFailingRoute(): Promise<RunningServer> {
  return startServer(
    { LOG_LEVEL: 'silent' },
    {
      beforeListen: (app) =>
        app.http.get('/test-only/fail', async () => {
          throw new Error('secret internal detail /etc/passwd');
        }),
    },
  );
}

describe('security headers on every answer', () => {
  let server: RunningServer;
  let failing: RunningServer;
  before(async () => {
    server = await startServer({
      MAX_CONNECTIONS_PER_IP: '1',
      AUTH_MAX_FAILURES: '1',
      AUTH_BLOCK_SECONDS: '60',
    });
    failing = await startAppWithFailingRoute();
  });
  after(async () => {
    await server.stop();
    await failing.stop();
  });

  test('on 200 (GET /health and GET /)', async () => {
    for (const path of ['/health', '/']) {
      const res = await httpRequest(server.port, path);
      assert.equal(res.status, 200);
      assertSecurityHeaders(res.headers, path);
    }
  });

  test('on 404 for an unknown route', async () => {
    const res = await httpRequest(server.port, '/no/such/route');
    assert.equal(res.status, 404);
    assertSecurityHeaders(res.headers, '404');
  });

  test('on 400 for bad JSON and 422 for a bad body at /auth/login, without a stack trace', async () => {
    const bad = await httpRequest(server.port, '/auth/login', {
      method: 'POST',
      headers: json,
      body: '{"username":',
    });
    assert.ok(bad.status === 400 || bad.status === 422, `status ${bad.status}`);
    assertSecurityHeaders(bad.headers, 'bad JSON');
    const invalid = await httpRequest(server.port, '/auth/login', {
      method: 'POST',
      headers: json,
      body: '{"username":1}',
    });
    assert.equal(invalid.status, 422);
    assertSecurityHeaders(invalid.headers, '422');
    for (const res of [bad, invalid]) assert.doesNotMatch(res.body, /\n\s+at |node_modules|\.ts:\d+/);
  });

  test('on 413 for a body over the 16 KiB limit', async () => {
    const body = JSON.stringify({ username: 'admin', password: 'x'.repeat(17 * 1024) });
    const res = await httpRequest(server.port, '/auth/login', { method: 'POST', headers: json, body });
    assert.equal(res.status, 413);
    assertSecurityHeaders(res.headers, '413');
    const justUnder = await httpRequest(server.port, '/auth/login', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'admin', password: 'x'.repeat(15 * 1024) }),
    });
    assert.equal(
      justUnder.status,
      422,
      'a body under the limit reaches validation (the password is too long)',
    );
  });

  test('on 500, with no internal detail on the wire', async () => {
    const res = await httpRequest(failing.port, '/test-only/fail');
    assert.equal(res.status, 500);
    assertSecurityHeaders(res.headers, '500');
    assert.deepEqual(JSON.parse(res.body), { detail: 'internal server error' });
  });

  test('on 429 for a blocked login', async () => {
    await httpRequest(server.port, '/auth/login', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'admin', password: 'wrong' }),
      localAddress: '127.0.0.9',
    });
    const res = await httpRequest(server.port, '/auth/login', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ username: 'admin', password: 'admin123' }),
      localAddress: '127.0.0.9',
    });
    assert.equal(res.status, 429);
    assertSecurityHeaders(res.headers, 'blocked login');
  });

  test('on the 429 refusal of a WebSocket upgrade', async () => {
    const first = new TestClient(`${server.wsUrl}/ws/headers`);
    await first.next('joined');
    const second = new TestClient(`${server.wsUrl}/ws/headers`);
    try {
      assert.equal((await closedWithin(second)).code, -429);
      assertSecurityHeaders(second.httpHeaders as IncomingHttpHeaders, 'upgrade refusal');
    } finally {
      first.ws.terminate();
      second.ws.terminate();
    }
  });

  test('no Strict-Transport-Security over plain HTTP', async () => {
    const res = await httpRequest(server.port, '/health');
    assert.equal(res.headers['strict-transport-security'], undefined);
  });
});

describe('security headers over HTTPS', () => {
  test('add Strict-Transport-Security, on success and error answers alike', async () => {
    const server = await startServer({ REQUIRE_HTTPS: 'true' });
    try {
      for (const [path, status] of [
        ['/health', 200],
        ['/missing', 404],
      ] as const) {
        const answer = await new Promise<{ status: number; headers: IncomingHttpHeaders }>(
          (resolve, reject) => {
            const req = httpsRequest(
              { host: '127.0.0.1', port: server.port, path, rejectUnauthorized: false, agent: false },
              (res) => {
                res.resume();
                res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
              },
            );
            req.on('error', reject);
            req.end();
          },
        );
        const headers = answer.headers;
        assert.equal(answer.status, status);
        assert.match(String(headers['strict-transport-security']), /max-age=\d{7,}/);
        assertSecurityHeaders(headers, `HTTPS ${path}`);
      }
    } finally {
      await server.stop();
    }
  });
});
