import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { backendToken, SignedReceiver } from '../helpers/backend.js';
import { scrape } from '../helpers/metrics.js';
import { randomKey } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const KEY = randomKey();
const SECRET = randomKey();

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('the join hook', () => {
  const hook = new SignedReceiver(SECRET);
  const servers: RunningServer[] = [];
  const clients: TestClient[] = [];
  let hookUrl: string;

  const serve = async (extra: Record<string, string>) => {
    const server = await startServer({
      REQUIRE_AUTH: 'true',
      JWT_SECRET_KEY: KEY,
      WEBHOOK_SECRET: SECRET,
      JOIN_HOOK_URL: hookUrl,
      JOIN_HOOK_TIMEOUT_MS: '300',
      MAX_CONNECTIONS_PER_IP: '1000',
      ...extra,
    });
    servers.push(server);
    return server;
  };
  const open = (server: RunningServer, room: string, token: string) => {
    const client = new TestClient(`${server.wsUrl}/ws/${room}?token=${encodeURIComponent(token)}`);
    clients.push(client);
    return client;
  };

  before(async () => {
    hookUrl = await hook.start();
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    for (const s of servers) await s.stop();
    await hook.close();
  });

  test('allows on 2xx and receives the signed room, user, peer, address and claims', async () => {
    const server = await serve({});
    hook.respond = (_req, res) => res.writeHead(204).end();
    const token = backendToken(KEY, 'alice', { rooms: ['call-*'] });
    const joined = await joinRoom(server.wsUrl, 'call-1', { token });
    clients.push(joined.client);
    const asked = hook.received.at(-1)!.body;
    assert.equal(asked.room_id, 'call-1');
    assert.equal(asked.username, 'alice');
    assert.equal(asked.peer_id, joined.peerId);
    assert.equal(asked.client_ip, '127.0.0.1');
    const claims = asked.claims as Record<string, unknown>;
    assert.equal(claims.sub, 'alice');
    assert.deepEqual(claims.rooms, ['call-*']);
    assert.equal(hook.rejected.length, 0);
    const metrics = await scrape(`${server.url}/metrics`);
    assert.equal(metrics.get('signaling_join_hook_checks_total{outcome="allowed"}'), 1);
  });

  test('refuses on 403 with 4403 and the hook’s reason', async () => {
    const server = servers[0]!;
    hook.respond = (_req, res) =>
      res.writeHead(403, { 'content-type': 'application/json' }).end('{"reason":"call is over"}');
    const closed = await open(server, 'call-2', backendToken(KEY, 'bob')).closed;
    assert.deepEqual(closed, { code: 4403, reason: 'call is over' });
    assert.ok(server.logs.some((l) => l.security_event === 'join_refused' && l.reason === 'call is over'));
  });

  test('a timeout or an error refuses the join by default (JOIN_HOOK_FAIL=closed)', async () => {
    const server = servers[0]!;
    hook.hang();
    const started = Date.now();
    const timedOut = await open(server, 'call-3', backendToken(KEY, 'bob')).closed;
    assert.deepEqual(timedOut, { code: 4403, reason: 'join hook timed out' });
    assert.ok(Date.now() - started < 2000, 'refused within about JOIN_HOOK_TIMEOUT_MS');
    hook.release();
    hook.respond = (_req, res) => res.writeHead(500).end();
    const failed = await open(server, 'call-3', backendToken(KEY, 'bob')).closed;
    assert.deepEqual(failed, { code: 4403, reason: 'join hook answered 500' });
    const metrics = await scrape(`${server.url}/metrics`);
    assert.equal(metrics.get('signaling_join_hook_checks_total{outcome="failed_closed"}'), 2);
  });

  test('an unreachable hook refuses by default and lets the peer in with JOIN_HOOK_FAIL=open', async () => {
    const unreachable = `http://127.0.0.1:${await closedPort()}/hook`;
    const closedServer = await serve({ JOIN_HOOK_URL: unreachable });
    const refused = await open(closedServer, 'x', backendToken(KEY, 'bob')).closed;
    assert.deepEqual(refused, { code: 4403, reason: 'join hook unreachable' });
    const openServer = await serve({ JOIN_HOOK_URL: unreachable, JOIN_HOOK_FAIL: 'open' });
    const joined = await joinRoom(openServer.wsUrl, 'x', { token: backendToken(KEY, 'bob') });
    clients.push(joined.client);
    const metrics = await scrape(`${openServer.url}/metrics`);
    assert.equal(metrics.get('signaling_join_hook_checks_total{outcome="failed_open"}'), 1);
  });

  test('a hook that times out with JOIN_HOOK_FAIL=open lets the peer in after the timeout', async () => {
    const server = await serve({ JOIN_HOOK_FAIL: 'open' });
    hook.hang();
    const joined = await joinRoom(server.wsUrl, 'y', { token: backendToken(KEY, 'bob') });
    clients.push(joined.client);
    hook.release();
  });

  test('the token’s own room limit is checked before the hook is asked', async () => {
    const server = servers[0]!;
    hook.respond = (_req, res) => res.end();
    const asked = hook.received.length;
    const closed = await open(server, 'other', backendToken(KEY, 'bob', { rooms: ['mine'] })).closed;
    assert.equal(closed.code, 4403);
    assert.equal(hook.received.length, asked);
  });
});
