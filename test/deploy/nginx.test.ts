import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureCertificate } from '../../src/transport/tls.js';
import { DRAIN_CLOSE_REASON } from '../../src/transport/websocket/websocket-gateway.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

const NGINX = '/usr/sbin/nginx';
const hasRedis = await redisReachable();
const skip = !existsSync(NGINX)
  ? 'nginx not installed: apt-get install -y nginx'
  : !hasRedis
    ? `Redis not reachable at ${TEST_REDIS_URL}`
    : false;
/** Clients come from this loopback address, so the address nginx forwards differs from nginx's own. */
const CLIENT_ADDRESS = '127.0.0.2';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** deploy/nginx.conf as shipped, pointed at two local instances, a spare port and a temp dir. */
async function nginxConfig(dir: string, port: number, upstreams: number[]): Promise<string> {
  const shipped = await readFile('deploy/nginx.conf', 'utf8');
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n');
  const replaced = shipped
    .replace(/( *# upstream servers\n)[\s\S]*?( *# end upstream servers)/, `$1${servers}\n$2`)
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('/etc/nginx/ssl/', `${dir}/ssl/`)
    .replace('/etc/nginx/ssl/', `${dir}/ssl/`)
    .replace('pid /var/run/nginx.pid;', `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;`)
    .replace('worker_processes auto;', 'worker_processes 1;')
    .replace(
      'http {\n',
      `http {\n  access_log off;\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n')}\n`,
    );
  assert.notEqual(replaced, shipped);
  assert.ok(!replaced.includes('signaling-1'), 'upstreams replaced');
  return replaced;
}

describe('behind nginx (deploy/nginx.conf) in front of two instances', { skip }, () => {
  let nginx: ChildProcess | undefined;
  let one: RunningServer;
  let two: RunningServer;
  let url = '';
  const clients: TestClient[] = [];

  before(async () => {
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `nginx-${process.pid}-${Date.now()}:`,
      TRUST_PROXY: '1',
      MAX_CONNECTIONS_PER_IP: '50',
      SHUTDOWN_TIMEOUT: '3',
    };
    one = await startServer(env);
    two = await startServer(env);
    const dir = await mkdtemp(join(tmpdir(), 'signaling-nginx-'));
    await ensureCertificate({
      sslCertfile: join(dir, 'ssl', 'server.crt'),
      sslKeyfile: join(dir, 'ssl', 'server.key'),
    });
    const port = await freePort();
    await writeFile(join(dir, 'nginx.conf'), await nginxConfig(dir, port, [one.port, two.port]));
    nginx = spawn(
      NGINX,
      ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    nginx.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    url = `wss://127.0.0.1:${port}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (await tlsAnswers(port)) break;
      if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    for (const c of clients) c.ws.terminate();
    nginx?.kill('SIGTERM');
    await one?.stop();
    await two?.stop();
  });

  /** A client through nginx from CLIENT_ADDRESS, claiming a forged X-Forwarded-For of its own. */
  async function joinVia(room: string): Promise<{ client: TestClient; peerId: string }> {
    const client = new TestClient(`${url}/ws/${room}`, {
      localAddress: CLIENT_ADDRESS,
      headers: { 'X-Forwarded-For': '203.0.113.9' },
    });
    clients.push(client);
    const joined = await client.next('joined', 5000);
    return { client, peerId: joined.peer_id as string };
  }

  test('a room spans both instances through nginx and the client address is the real one', async () => {
    const peers: { client: TestClient; peerId: string }[] = [];
    while (one.app.diagnostics.localPeers === 0 || two.app.diagnostics.localPeers === 0) {
      assert.ok(peers.length < 6, 'nginx spread the clients over both instances');
      peers.push(await joinVia('through-nginx'));
    }
    const [first, ...others] = peers;
    const last = others.at(-1)!;
    // As in real use, the offerer learns of the last peer from peer_joined first (it may be remote).
    while ((await first!.client.next('peer_joined', 5000)).peer_id !== last.peerId);
    first!.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'via nginx' }, to: last.peerId });
    assert.equal((await last.client.next('offer')).from, first!.peerId);
    for (const server of [one, two]) {
      assert.ok(
        (await server.app.diagnostics.connectionsOf(CLIENT_ADDRESS)) >= 1,
        'the client address, not nginx’s',
      );
      assert.equal(
        await server.app.diagnostics.connectionsOf('203.0.113.9'),
        0,
        'a forged X-Forwarded-For is not believed',
      );
      assert.equal(await server.app.diagnostics.connectionsOf('127.0.0.1'), 0);
    }
    for (const p of peers) p.client.close();
    await Promise.all(peers.map((p) => p.client.closed));
    const deadline = Date.now() + 5000;
    while (one.app.diagnostics.localPeers + two.app.diagnostics.localPeers > 0) {
      assert.ok(Date.now() < deadline, 'peers left both instances');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  test('draining one instance: its clients get 1001 and reconnect through nginx to the other', async () => {
    const peers: { client: TestClient; peerId: string }[] = [];
    assert.equal(one.app.diagnostics.localPeers + two.app.diagnostics.localPeers, 0, 'starts empty');
    while (one.app.diagnostics.localPeers === 0 || two.app.diagnostics.localPeers === 0)
      peers.push(await joinVia('drain-through-nginx'));
    const onOne = one.app.diagnostics.localPeers;
    const closes = peers.map((p) => p.client.closed);
    await one.stop();
    const dropped = (
      await Promise.all(
        closes.map((c) => Promise.race([c, new Promise<null>((r) => setTimeout(() => r(null), 2000))])),
      )
    ).filter((c): c is { code: number; reason: string } => c !== null);
    assert.equal(dropped.length, onOne);
    for (const close of dropped) assert.deepEqual(close, { code: 1001, reason: DRAIN_CLOSE_REASON });
    const back = [];
    for (let i = 0; i < dropped.length; i += 1) back.push(await joinVia('drain-through-nginx'));
    assert.equal(two.app.diagnostics.localPeers, peers.length, 'everyone is on the remaining instance');
    back[0]!.client.send({ type: 'ping', ts: 1 });
    assert.equal((await back[0]!.client.next('pong')).ts, 1);
  });
});

/** True when something speaks TLS on `port` (nginx is up), whatever its certificate. */
async function tlsAnswers(port: number): Promise<boolean> {
  const { connect } = await import('node:tls');
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
