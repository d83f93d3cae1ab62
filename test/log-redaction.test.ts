import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hashPassword } from '../src/auth/password-hasher.js';
import { updateUsersFile } from '../src/auth/users-file.js';
import { call, forgeToken, freePort, login, randomKey, runTs, secureEnv } from './helpers/secure.js';
import { startServer } from './helpers/server.js';
import { TestClient } from './helpers/ws-client.js';

/** Where to reach a secure server. */
interface Target {
  readonly port: number;
  readonly wsUrl: string;
}

/**
 * Does what exposes secrets to a careless logger: good and bad logins, WebSocket connections with
 * `?token=` and `Authorization: Bearer`, bad tokens of several kinds, a token refresh, tokens in
 * HTTP query strings. Returns every secret it used (passwords, tokens and token signatures).
 */
async function exercise(
  target: Target,
  key: string,
  users: { admin: string; user: string; userName: string },
): Promise<string[]> {
  const secrets: string[] = [users.admin, users.user];
  const wrongPassword = 'Wr0ng-Guess-For-Logs-7431';
  const unknownPassword = 'Unkn0wn-User-Pass-9517';
  const tooLong = `L0ng-${'q'.repeat(1100)}`;
  secrets.push(wrongPassword, unknownPassword, tooLong.slice(0, 60));

  assert.equal((await login(target, 'admin', users.admin)).status, 200);
  const userAnswer = await login(target, users.userName, users.user);
  assert.equal(userAnswer.status, 200);
  const token = userAnswer.json.access_token as string;
  const adminToken = (await login(target, 'admin', users.admin)).json.access_token as string;
  assert.equal((await login(target, 'admin', wrongPassword)).status, 401);
  assert.equal((await login(target, 'no-such-user', unknownPassword)).status, 401);
  assert.equal((await login(target, 'admin', tooLong)).status, 422);
  assert.equal(
    (
      await call(target, 'POST', '/auth/login', {
        rawBody: `{"username":"admin","password":"${wrongPassword}"`,
      })
    ).status,
    400,
  );

  const now = Math.floor(Date.now() / 1000);
  const wrongKey = await forgeToken(randomKey(), { sub: 'admin', role: 'admin' });
  const expired = await forgeToken(key, { sub: users.userName, iat: now - 7200, exp: now - 3600 });
  const garbage = 'garbage-token-Xq9Zk2mPv7LrT4wN';
  const refresh = await forgeToken(key, { sub: users.userName });
  const otherUserRefresh = adminToken;
  secrets.push(token, adminToken, wrongKey, expired, garbage, refresh);

  const clients: TestClient[] = [];
  try {
    const good = new TestClient(`${target.wsUrl}/ws/logs-room?token=${encodeURIComponent(token)}`);
    const byHeader = new TestClient(`${target.wsUrl}/ws/logs-room`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    clients.push(good, byHeader);
    await good.next('joined');
    await byHeader.next('joined');
    good.send({ type: 'auth', token: refresh });
    await good.next('auth_ok');
    byHeader.send({ type: 'auth', token: otherUserRefresh });
    assert.equal((await byHeader.closed).code, 4401);

    for (const bad of [wrongKey, expired, garbage]) {
      const viaQuery = new TestClient(`${target.wsUrl}/ws/logs-room?token=${encodeURIComponent(bad)}`);
      const viaHeader = new TestClient(`${target.wsUrl}/ws/logs-room`, {
        headers: { Authorization: `Bearer ${bad}` },
      });
      clients.push(viaQuery, viaHeader);
      assert.equal((await viaQuery.closed).code, 4401);
      assert.equal((await viaHeader.closed).code, 4401);
    }
    // A bad token in the query of a route that does not exist, and of one that does, reach the access log.
    await call(target, 'GET', `/ws/logs-room?token=${encodeURIComponent(token)}`);
    await call(
      target,
      'GET',
      `/api/rooms/logs-room/info?token=${encodeURIComponent(token)}&access_token=${encodeURIComponent(adminToken)}`,
    );
    await call(target, 'GET', `/auth/me?password=${encodeURIComponent(wrongPassword)}`, { token: garbage });
    assert.equal((await call(target, 'GET', '/api/rooms', { token: wrongKey })).status, 401);
    assert.equal((await call(target, 'GET', '/auth/me', { token })).status, 200);
    good.close();
    await good.closed;
  } finally {
    for (const c of clients) c.ws.terminate();
  }
  // A signature alone is enough to replay a token: none may appear either.
  for (const jwt of [token, adminToken, wrongKey, expired, refresh]) secrets.push(jwt.split('.')[2]!);
  return secrets;
}

function assertNoSecrets(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.ok(secret.length >= 8, `secret too short to search for: ${secret}`);
    const at = output.indexOf(secret);
    assert.equal(at, -1, `a secret appears in the logs: …${output.slice(Math.max(0, at - 120), at + 40)}…`);
  }
}

describe('secrets in logs', () => {
  test('no token or password appears in any log line of an in-process server at debug level', async () => {
    const key = randomKey();
    const server = await startServer(secureEnv(key, { LOG_LEVEL: 'debug' }));
    try {
      const secrets = await exercise(server, key, {
        admin: 'admin123',
        user: 'password123',
        userName: 'user1',
      });
      const logged = JSON.stringify(server.logs);
      assert.ok(server.logs.length > 20, `expected a busy log, got ${server.logs.length} lines`);
      assert.ok(
        server.logs.some(
          (line) => typeof line.url === 'string' && (line.url as string).includes('token=[redacted]'),
        ),
        'the access log keeps the URL, redacted',
      );
      assertNoSecrets(logged, [...secrets, key]);
    } finally {
      await server.stop();
      await rm(server.dir, { recursive: true, force: true });
    }
  });

  test('no token or password appears on the stdout or stderr of a server process at LOG_LEVEL=debug', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signaling-logs-'));
    const key = randomKey();
    const adminPassword = 'Adm1n-Process-Pass-4821';
    const userPassword = 'B0b-Process-Pass-1937';
    const records = await Promise.all(
      [
        ['admin', adminPassword, 'admin'],
        ['bob', userPassword, 'user'],
      ].map(async ([username, password, role]) => ({
        username: username!,
        passwordHash: await hashPassword(password!),
        role: role as 'admin' | 'user',
        createdAt: new Date().toISOString(),
        disabled: false,
      })),
    );
    await updateUsersFile(join(dir, 'users.csv'), () => records);
    const port = await freePort();
    const server = runTs('src/main.ts', [], {
      cwd: dir,
      env: {
        ...secureEnv(key),
        DEBUG: 'false',
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'debug',
        USERS_FILE: join(dir, 'users.csv'),
        SSL_CERTFILE: join(dir, 'ssl', 'server.crt'),
        SSL_KEYFILE: join(dir, 'ssl', 'server.key'),
      },
    });
    try {
      await server.waitFor(/signaling server listening/);
      const secrets = await exercise({ port, wsUrl: `wss://127.0.0.1:${port}` }, key, {
        admin: adminPassword,
        user: userPassword,
        userName: 'bob',
      });
      await server.waitFor(/login: invalid credentials/);
      const exit = await server.stop();
      assert.equal(exit.code, 0, server.stderr);
      const output = server.stdout + server.stderr;
      assert.ok(output.split('\n').length > 20, `expected a busy log:\n${output}`);
      assertNoSecrets(output, [...secrets, key]);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
