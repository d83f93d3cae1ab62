import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closedWithin } from '../../helpers/measure.js';
import { httpRequest } from '../../helpers/raw-socket.js';
import { type RunningServer, startServer } from '../../helpers/server.js';
import { joinRoom, TestClient } from '../../helpers/ws-client.js';

const ALLOWED = 'https://app.example.com';

describe('WebSocket Origin check and CORS (CORS_ORIGINS=https://app.example.com, DEBUG=false)', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startServer({
      DEBUG: 'false',
      CORS_ORIGINS: ALLOWED,
      MAX_CONNECTIONS_PER_IP: '50',
      RATE_LIMIT_PER_MINUTE: '100000',
    });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  const refused: Array<[string, string]> = [
    ['a foreign origin', 'https://evil.test'],
    ['a look-alike origin', 'https://app.example.com.evil.test'],
    ['a sibling-domain origin', 'https://evilapp.example.com'],
    ['the null origin', 'null'],
    ['the right host on the wrong port', 'https://app.example.com:8443'],
    ['the right host over http', 'http://app.example.com'],
    ['a localhost origin outside DEBUG', 'http://localhost:3000'],
  ];
  for (const [what, origin] of refused) {
    test(`closes with 4403 for ${what} (${origin})`, async () => {
      const client = new TestClient(`${server.wsUrl}/ws/origins`, { origin });
      clients.push(client);
      const closed = await closedWithin(client);
      assert.deepEqual(closed, { code: 4403, reason: 'origin not allowed' });
      assert.equal(client.inbox.length, 0, 'nothing was sent before the close');
      assert.ok(
        server.logs.some((l) => l.security_event === 'origin_rejected' && String(l.reason).includes(origin)),
      );
    });
  }

  for (const [what, origin] of [
    ['the exact allowed origin', () => ALLOWED],
    ['no Origin header (a non-browser client)', () => undefined],
    ['the server’s own origin', () => `http://127.0.0.1:${server.port}`],
  ] as const) {
    test(`accepts ${what}`, async () => {
      const value = origin();
      const { client } = await joinRoom(
        server.wsUrl,
        'origins',
        value === undefined ? {} : { origin: value },
      );
      clients.push(client);
      await client.expectAlive();
    });
  }

  test('answers a CORS preflight from the allowed origin with that origin and Vary: Origin', async () => {
    const res = await httpRequest(server.port, '/auth/login', {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(res.headers.vary), /\borigin\b/i);
    assert.match(String(res.headers['access-control-allow-methods']), /POST/);
    assert.notEqual(res.headers['access-control-allow-credentials'], 'true');
  });

  test('a response to the allowed origin names it and varies on Origin', async () => {
    const res = await httpRequest(server.port, '/health', { headers: { origin: ALLOWED } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], ALLOWED);
    assert.match(String(res.headers.vary), /\borigin\b/i);
  });

  for (const origin of ['https://evil.test', 'https://app.example.com.evil.test', 'null']) {
    test(`gives no CORS headers to ${origin}, on preflight or response`, async () => {
      const preflight = await httpRequest(server.port, '/auth/login', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
      const plain = await httpRequest(server.port, '/health', { headers: { origin } });
      for (const res of [preflight, plain]) {
        assert.equal(res.headers['access-control-allow-origin'], undefined);
        assert.equal(res.headers['access-control-allow-credentials'], undefined);
      }
    });
  }

  test('never answers Access-Control-Allow-Origin: *', async () => {
    for (const origin of [undefined, ALLOWED, 'https://evil.test', '*']) {
      for (const path of ['/', '/health', '/nope', '/auth/login']) {
        const res = await httpRequest(server.port, path, { headers: origin === undefined ? {} : { origin } });
        assert.notEqual(res.headers['access-control-allow-origin'], '*', `${path} with origin ${origin}`);
      }
    }
  });
});

describe('WebSocket Origin check in DEBUG mode', () => {
  test('accepts any localhost origin but refuses localhost look-alikes', async () => {
    const server = await startServer({ CORS_ORIGINS: ALLOWED });
    const clients: TestClient[] = [];
    try {
      for (const origin of ['http://localhost:5173', 'http://127.0.0.1:9999']) {
        const { client } = await joinRoom(server.wsUrl, 'debug', { origin });
        clients.push(client);
        await client.expectAlive();
      }
      for (const origin of [
        'http://localhost.evil.test',
        'http://localhost:3000.evil.test',
        'https://evil.test',
      ]) {
        const client = new TestClient(`${server.wsUrl}/ws/debug`, { origin });
        clients.push(client);
        assert.equal((await closedWithin(client)).code, 4403, origin);
      }
    } finally {
      for (const c of clients) c.ws.terminate();
      await server.stop();
    }
  });
});
