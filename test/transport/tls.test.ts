import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { ensureCertificate } from '../../src/transport/tls.js';
import { call, freePort, peerFingerprint, randomKey, runTs, secureEnv, tokenFor } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { joinRoom, type TestClient } from '../helpers/ws-client.js';

type Handshake =
  | { readonly ok: true; readonly protocol: string | null; readonly cipher: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Attempts a TLS handshake with `options` and reports how it ended. */
function handshake(port: number, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      servername: 'localhost',
      ...options,
    });
    socket.once('secureConnect', () => {
      const result = { ok: true as const, protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, code: error.code ?? '', message: error.message }),
    );
  });
}

/** Sends `request` over plain TCP and collects whatever comes back until the server closes (or 3 s). */
function plainExchange(port: number, request: string): Promise<{ data: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data, closedByServer: false });
    }, 3000);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closedByServer: true });
    });
    socket.write(request);
  });
}

/** A new self-signed pair made the way the server makes its own, in a separate directory. */
async function newCertificatePair(): Promise<{
  dir: string;
  cert: string;
  key: string;
  fingerprint: string;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'signaling-cert-'));
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  assert.equal(await ensureCertificate({ sslCertfile: cert, sslKeyfile: key }), 'generated');
  return { dir, cert, key, fingerprint: new X509Certificate(await readFile(cert)).fingerprint256 };
}

/** Renames a new pair over the server's files, as a certificate renewal tool would. */
async function installPair(
  pair: { cert: string; key: string },
  certfile: string,
  keyfile: string,
): Promise<void> {
  await rename(pair.key, keyfile);
  await rename(pair.cert, certfile);
}

describe('TLS with REQUIRE_HTTPS=true', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  const dirs: string[] = [];

  before(async () => {
    server = await startServer(secureEnv(randomKey()));
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
    for (const dir of [server.dir, ...dirs]) await rm(dir, { recursive: true, force: true });
  });

  test('refuses a client limited to TLS 1.1 or 1.0 with a protocol_version alert', async () => {
    // SECLEVEL=0 makes Node's OpenSSL really offer the old versions, so the refusal is the server's.
    for (const version of ['TLSv1.1', 'TLSv1'] as const) {
      const result = await handshake(server.port, {
        minVersion: version,
        maxVersion: version,
        ciphers: 'DEFAULT@SECLEVEL=0',
      });
      assert.equal(result.ok, false, `${version} was accepted: ${JSON.stringify(result)}`);
      assert.equal(
        result.ok === false && result.code,
        'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
        JSON.stringify(result),
      );
    }
    const defaultClient = await handshake(server.port, { maxVersion: 'TLSv1.1' });
    assert.equal(defaultClient.ok, false);
  });

  test('accepts TLS 1.2 with a forward-secret AEAD suite, and TLS 1.3', async () => {
    const tls12 = await handshake(server.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    assert.ok(tls12.ok, JSON.stringify(tls12));
    assert.equal(tls12.protocol, 'TLSv1.2');
    assert.match(tls12.cipher, /^ECDHE-.*(GCM|CHACHA20)/);
    const tls13 = await handshake(server.port, { minVersion: 'TLSv1.3' });
    assert.ok(tls13.ok, JSON.stringify(tls13));
    assert.equal(tls13.protocol, 'TLSv1.3');
  });

  test('refuses a TLS 1.2 client that offers only CBC suites', async () => {
    const result = await handshake(server.port, {
      maxVersion: 'TLSv1.2',
      ciphers:
        'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA:AES256-SHA@SECLEVEL=0',
    });
    assert.equal(result.ok, false, JSON.stringify(result));
    assert.match(
      result.ok === false ? result.code : '',
      /ALERT_HANDSHAKE_FAILURE/,
      'refused by the server, not by the client',
    );
  });

  test('sends HSTS on every HTTPS response, errors included', async () => {
    const answers = [
      await call(server, 'GET', '/'),
      await call(server, 'GET', '/health'),
      await call(server, 'GET', '/no-such-route'),
      await call(server, 'GET', '/api/rooms'),
      await call(server, 'POST', '/auth/login', { body: {} }),
    ];
    for (const answer of answers) {
      const hsts = answer.headers['strict-transport-security'];
      assert.equal(typeof hsts, 'string', `status ${answer.status} lacks HSTS`);
      const maxAge = Number(/max-age=(\d+)/.exec(hsts as string)?.[1]);
      assert.ok(maxAge >= 15_552_000, `max-age ${maxAge} is under 180 days`);
    }
  });

  test('generates a key file with mode 0600 and a certificate for localhost, 127.0.0.1 and ::1', async () => {
    const keyMode = (await stat(server.config.sslKeyfile)).mode & 0o777;
    assert.equal(keyMode.toString(8), '600');
    const pem = await readFile(server.config.sslCertfile, 'utf8');
    const cert = new X509Certificate(pem);
    const sans = (cert.subjectAltName ?? '').split(',').map((s) => s.trim());
    assert.ok(sans.includes('DNS:localhost'), cert.subjectAltName);
    assert.ok(sans.includes('IP Address:127.0.0.1'), cert.subjectAltName);
    assert.ok(
      sans.some((s) => /^IP Address:(::1|0:0:0:0:0:0:0:1)$/i.test(s)),
      cert.subjectAltName,
    );
    assert.ok(Date.parse(cert.validTo) > Date.now() + 30 * 24 * 3600 * 1000, `expires ${cert.validTo}`);
    assert.ok(Date.parse(cert.validFrom) <= Date.now());
    assert.equal(
      await peerFingerprint(server.port),
      cert.fingerprint256,
      'the server presents the file it generated',
    );
    assert.match(await readFile(server.config.sslKeyfile, 'utf8'), /-----BEGIN (EC |RSA )?PRIVATE KEY-----/);
  });

  test('does not answer a plain HTTP request or a plain WebSocket upgrade', async () => {
    const http = await plainExchange(
      server.port,
      'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    assert.doesNotMatch(http.data, /^HTTP\//, `answered plain HTTP: ${http.data.slice(0, 200)}`);
    assert.doesNotMatch(http.data, /healthy/);
    const upgrade = await plainExchange(
      server.port,
      'GET /ws/plain HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    assert.doesNotMatch(upgrade.data, /^HTTP\//, `answered a plain upgrade: ${upgrade.data.slice(0, 200)}`);
  });

  test('reload() swaps in a renewed certificate for new connections while an open WebSocket keeps working', async () => {
    const token = await tokenFor(server, 'user1', 'password123');
    const { client } = await joinRoom(server.wsUrl, 'reload-room', { token });
    clients.push(client);
    const before = await peerFingerprint(server.port);

    const pair = await newCertificatePair();
    dirs.push(pair.dir);
    assert.notEqual(pair.fingerprint, before);
    await installPair(pair, server.config.sslCertfile, server.config.sslKeyfile);
    await server.app.reload();

    await client.expectAlive();
    assert.equal(client.ws.readyState, client.ws.OPEN, 'the open WebSocket was not dropped');
    assert.equal(
      await peerFingerprint(server.port),
      pair.fingerprint,
      'a new connection sees the new certificate',
    );
    const after = await joinRoom(server.wsUrl, 'reload-room', { token });
    clients.push(after.client);
    await after.client.expectAlive();
    await client.expectAlive();
  });
});

describe('a real server process with REQUIRE_HTTPS=true', () => {
  test('reloads its certificate on SIGHUP without dropping an open WSS connection, and stops with 1001 on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signaling-process-'));
    const port = await freePort();
    const server = runTs('src/main.ts', [], {
      cwd: dir,
      env: {
        REQUIRE_HTTPS: 'true',
        REQUIRE_AUTH: 'true',
        DEBUG: 'false',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'info',
        JWT_SECRET_KEY: randomKey(),
        USERS_FILE: join(dir, 'users.csv'),
        SSL_CERTFILE: join(dir, 'ssl', 'server.crt'),
        SSL_KEYFILE: join(dir, 'ssl', 'server.key'),
        JWT_SECRET_FILE: join(dir, '.jwt_secret'),
      },
    });
    let client: TestClient | undefined;
    let pairDir: string | undefined;
    try {
      await server.waitFor(/signaling server listening/);
      const password = /Generated password for user "admin"[^:]*: (\S+)/.exec(server.stdout)?.[1];
      assert.ok(password, `no generated admin password printed: ${server.stdout}`);
      const token = await tokenFor({ port }, 'admin', password);
      const joined = await joinRoom(`wss://127.0.0.1:${port}`, 'sighup', { token });
      client = joined.client;
      const original = new X509Certificate(await readFile(join(dir, 'ssl', 'server.crt'))).fingerprint256;
      assert.equal(await peerFingerprint(port), original);

      const pair = await newCertificatePair();
      pairDir = pair.dir;
      await installPair(pair, join(dir, 'ssl', 'server.crt'), join(dir, 'ssl', 'server.key'));
      server.child.kill('SIGHUP');
      await server.waitFor(/TLS certificate reloaded/);

      await client.expectAlive();
      assert.equal(await peerFingerprint(port), pair.fingerprint);
      assert.equal(server.child.exitCode, null, 'SIGHUP must not stop the server');

      const stopped = await server.stop();
      assert.equal(stopped.code, 0, server.stderr);
      assert.equal((await client.closed).code, 1001);
    } finally {
      client?.ws.terminate();
      server.child.kill('SIGKILL');
      await server.exited;
      await rm(dir, { recursive: true, force: true });
      if (pairDir) await rm(pairDir, { recursive: true, force: true });
    }
  });
});
