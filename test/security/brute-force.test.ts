import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { MAX_LOGIN_DELAY_SECONDS } from '../../src/security/auth-guard.js';
import { closedWithin, sleep } from '../helpers/measure.js';
import { httpRequest } from '../helpers/raw-socket.js';
import { type Answer, login } from '../helpers/secure.js';
import { type RunningServer, withServer as withTestServer } from '../helpers/server.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const LIMITS = {
  AUTH_MAX_FAILURES: '3',
  AUTH_BLOCK_SECONDS: '2',
  AUTH_FAILURE_WINDOW: '2',
  RATE_LIMIT_PER_MINUTE: '100000',
};

const withServer: typeof withTestServer = (env, body) => withTestServer({ ...LIMITS, ...env }, body);

function retryAfterSeconds(answer: Answer | TestClient): number {
  const value = 'httpHeaders' in answer ? answer.httpHeaders['retry-after'] : answer.headers['retry-after'];
  assert.match(String(value), /^[1-9]\d*$/, `Retry-After: ${value}`);
  return Number(value);
}

function tokenOf(answer: Answer): string {
  assert.equal(answer.status, 200, answer.text);
  return answer.json.access_token as string;
}

async function upgradeStatus(server: RunningServer, from: string, token?: string): Promise<TestClient> {
  const client = new TestClient(
    `${server.wsUrl}/ws/brute${token ? `?token=${encodeURIComponent(token)}` : ''}`,
    {
      localAddress: from,
    },
  );
  await closedWithin(client);
  return client;
}

/** Nothing secret may reach the log: no password, no token, whatever happened. */
function assertNoSecretsLogged(server: RunningServer, secrets: string[]): void {
  const text = server.logs.map((line) => JSON.stringify(line)).join('\n');
  for (const secret of secrets)
    assert.equal(text.includes(secret), false, `the log contains ${secret.slice(0, 12)}…`);
}

describe('brute force (AUTH_MAX_FAILURES=3, AUTH_BLOCK_SECONDS=2)', () => {
  test('three bad logins block the IP: login (even with the right password) and upgrade get 429 until the block expires', async () => {
    await withServer({}, async (server, track) => {
      const attacker = '127.0.0.2';
      for (let i = 1; i <= 3; i += 1)
        assert.equal((await login(server, 'admin', `wrong-guess-${i}`, attacker)).status, 401);
      const refused = await login(server, 'admin', 'admin123', attacker);
      assert.equal(refused.status, 429);
      const wait = retryAfterSeconds(refused);
      assert.ok(wait <= 2);
      const upgrade = track(await upgradeStatus(server, attacker));
      assert.equal(upgrade.httpStatus, 429);
      retryAfterSeconds(upgrade);
      assert.equal(
        (await login(server, 'user1', 'password123', '127.0.0.3')).status,
        200,
        'another IP is not blocked',
      );

      await sleep(wait * 1000 + 100);
      tokenOf(await login(server, 'admin', 'admin123', attacker));
      await track((await joinRoom(server.wsUrl, 'brute', { localAddress: attacker })).client).expectAlive();

      assert.ok(server.app.diagnostics.securityEvents('auth_failed') >= 3);
      assert.ok(server.app.diagnostics.securityEvents('ip_blocked') >= 1);
      const blocked = server.logs.find((l) => l.security_event === 'ip_blocked');
      assert.equal(blocked?.ip, attacker);
      assertNoSecretsLogged(server, ['wrong-guess-', 'admin123']);

      await sleep(2100);
      const tracked = server.app.diagnostics.trackedLimitEntries();
      assert.equal(tracked.authFailureIps, 0, 'expired blocks and windows are swept away');
      assert.equal(tracked.authFailureUsernames, 0);
    });
  });

  test('with REQUIRE_AUTH=true three bad WebSocket tokens block the IP for upgrades, logins and the API', async () => {
    await withServer({ REQUIRE_AUTH: 'true' }, async (server, track) => {
      const attacker = '127.0.0.2';
      const good = tokenOf(await login(server, 'user1', 'password123', attacker));
      const forged = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('admin')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode('a-key-the-attacker-made-up-of-32-bytes!!'));
      const tampered = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      for (const bad of ['garbage', forged, tampered]) {
        const client = track(await upgradeStatus(server, attacker, bad));
        assert.equal((await closedWithin(client)).code, 4401);
      }
      const refused = track(await upgradeStatus(server, attacker, good));
      assert.equal(refused.httpStatus, 429, 'even a valid token is refused from a blocked IP');
      const wait = retryAfterSeconds(refused);
      assert.equal((await login(server, 'user1', 'password123', attacker)).status, 429);
      const me = await httpRequest(server.port, '/auth/me', {
        headers: { authorization: `Bearer ${good}` },
        localAddress: attacker,
      });
      assert.equal(me.status, 429);

      await track(
        (await joinRoom(server.wsUrl, 'brute', { token: good, localAddress: '127.0.0.3' })).client,
      ).expectAlive();
      await sleep(wait * 1000 + 100);
      await track(
        (await joinRoom(server.wsUrl, 'brute', { token: good, localAddress: attacker })).client,
      ).expectAlive();
      assertNoSecretsLogged(server, [good, forged, tampered, 'password123']);
    });
  });

  test('anyone could keep any account locked: bad logins from rotating IPs refused the right password; now it gets in, at most a few seconds late', async () => {
    await withServer({ AUTH_FAILURE_WINDOW: '300', AUTH_BLOCK_SECONDS: '900' }, async (server) => {
      const attackers = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'];
      for (let round = 1; round <= 3; round += 1) {
        for (const ip of attackers)
          assert.equal((await login(server, 'user1', `guess-${round}`, ip)).status, 401);
        const started = Date.now();
        const answer = await login(server, 'user1', 'password123', '127.0.0.20');
        const took = Date.now() - started;
        assert.equal(answer.status, 200, `round ${round}: the right password is never refused`);
        assert.equal(answer.headers['retry-after'], undefined);
        assert.ok(took >= 1000, `round ${round}: the throttled username is slowed (${took} ms)`);
        assert.ok(
          took <= (MAX_LOGIN_DELAY_SECONDS + 2) * 1000,
          `round ${round}: but only briefly (${took} ms)`,
        );
      }
      tokenOf(await login(server, 'admin', 'admin123', '127.0.0.20'));
      assert.equal(await server.app.diagnostics.isBlocked('127.0.0.20'), false);
      assert.equal(
        (await login(server, 'user1', 'password123', '127.0.0.11')).status,
        429,
        'the attackers are',
      );
    });
  });
});
