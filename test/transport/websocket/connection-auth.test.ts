import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  AUDIENCE,
  decodeJwt,
  forgeToken,
  ISSUER,
  randomKey,
  secureEnv,
  segment,
  tokenFor,
} from '../../helpers/secure.js';
import { type RunningServer, startServer } from '../../helpers/server.js';
import { joinRoom, TestClient } from '../../helpers/ws-client.js';

const KEY = randomKey();
const EXPIRE_MINUTES = 5;

/** How a token reaches the server: the browser's query parameter or a non-browser client's header. */
const PATHS = ['query', 'header'] as const;
type TokenPath = (typeof PATHS)[number];

/** An RSA key for RS256 tokens, made once (generation takes a while). */
let rsaKey: KeyObject | undefined;

describe('WebSocket authentication over WSS', () => {
  let server: RunningServer;
  let userToken: string;
  let adminToken: string;
  const clients: TestClient[] = [];

  /** Opens `/ws/{room}` with `token` sent the `path` way (or no token when undefined). */
  const open = (room: string, token: string | undefined, path: TokenPath): TestClient => {
    let client: TestClient;
    if (token === undefined) client = new TestClient(`${server.wsUrl}/ws/${room}`);
    else if (path === 'query')
      client = new TestClient(`${server.wsUrl}/ws/${room}?token=${encodeURIComponent(token)}`);
    else
      client = new TestClient(`${server.wsUrl}/ws/${room}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
    clients.push(client);
    return client;
  };

  /** Asserts the connection is refused with 4401, a non-empty reason, and never joins. */
  const expect4401 = async (client: TestClient, reason?: RegExp) => {
    const closed = await client.closed;
    assert.equal(closed.code, 4401, `closed with ${closed.code} ${closed.reason}`);
    assert.ok(closed.reason.length > 0, 'a 4401 close carries a reason');
    if (reason) assert.match(closed.reason, reason);
    assert.equal(
      client.inbox.find((m) => m.type === 'joined'),
      undefined,
      'a refused client must never join',
    );
  };

  before(async () => {
    server = await startServer(
      secureEnv(KEY, { JWT_EXPIRE_MINUTES: String(EXPIRE_MINUTES), WEBSOCKET_TIMEOUT: '2' }),
    );
    userToken = await tokenFor(server, 'user1', 'password123');
    adminToken = await tokenFor(server, 'admin', 'admin123');
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  test('a late joiner learns the usernames of the peers already there (peer_info), not only their ids', async () => {
    const admin = open('named', adminToken, 'query');
    const first = await admin.next('joined');
    const user = open('named', userToken, 'header');
    const second = await user.next('joined');
    assert.deepEqual(second.peers, [first.peer_id]);
    assert.deepEqual(second.peer_info, [{ peer_id: first.peer_id, username: 'admin' }]);
    assert.equal((await admin.next('peer_joined')).username, 'user1');
  });

  for (const path of PATHS) {
    describe(`token in the ${path === 'query' ? '?token= query parameter' : 'Authorization: Bearer header'}`, () => {
      test('joins with a valid token from /auth/login', async () => {
        const client = open(`ok-${path}`, userToken, path);
        const joined = await client.next('joined');
        assert.equal(typeof joined.peer_id, 'string');
        await client.expectAlive();
        client.close();
      });

      test('closes with 4401 when the token is missing', async () => {
        await expect4401(open(`missing-${path}`, undefined, path), /missing/);
      });

      test('closes with 4401 for a garbage token', async () => {
        await expect4401(open(`garbage-${path}`, 'this-is-not-a-jwt', path), /invalid/);
        await expect4401(open(`garbage-${path}`, 'a.b.c', path), /invalid/);
      });

      test('closes with 4401 for a token signed with another key', async () => {
        await expect4401(open(`wrong-key-${path}`, await forgeToken(randomKey()), path), /invalid/);
      });

      test('closes with 4401 for an alg:none token', async () => {
        const now = Math.floor(Date.now() / 1000);
        const claims = {
          sub: 'admin',
          role: 'admin',
          iss: ISSUER,
          aud: AUDIENCE,
          iat: now,
          exp: now + 600,
          jti: 'none-1',
        };
        const unsigned = `${segment({ alg: 'none', typ: 'JWT' })}.${segment(claims)}.`;
        await expect4401(open(`alg-none-${path}`, unsigned, path), /invalid/);
        // Some libraries accepted "None"/"NONE" or a stray signature after alg:none.
        const variant = `${segment({ alg: 'None' })}.${segment(claims)}.${segment('x')}`;
        await expect4401(open(`alg-none-${path}`, variant, path), /invalid/);
      });

      test('closes with 4401 for a token whose payload was tampered with (role user changed to admin)', async () => {
        const [header, , signature] = userToken.split('.');
        const payload = { ...decodeJwt(userToken).payload, role: 'admin' };
        const tampered = `${header}.${segment(payload)}.${signature}`;
        await expect4401(open(`tampered-${path}`, tampered, path), /invalid/);
        const renamed = `${header}.${segment({ ...decodeJwt(userToken).payload, sub: 'admin' })}.${signature}`;
        await expect4401(open(`tampered-${path}`, renamed, path), /invalid/);
      });

      test('closes with 4401 for an expired token', async () => {
        const now = Math.floor(Date.now() / 1000);
        const expired = await forgeToken(KEY, { iat: now - 3600, exp: now - 60 });
        await expect4401(open(`expired-${path}`, expired, path), /expired/);
      });

      test('closes with 4401 for a token without exp', async () => {
        await expect4401(open(`no-exp-${path}`, await forgeToken(KEY, { exp: null }), path), /invalid/);
      });

      test('closes with 4401 for a token from another issuer or for another audience', async () => {
        await expect4401(
          open(`issuer-${path}`, await forgeToken(KEY, { issuer: 'someone-else' }), path),
          /invalid/,
        );
        await expect4401(
          open(`audience-${path}`, await forgeToken(KEY, { audience: 'another-service' }), path),
          /invalid/,
        );
      });

      test('closes with 4401 for an HS512 token signed with the right key', async () => {
        await expect4401(open(`hs512-${path}`, await forgeToken(KEY, { alg: 'HS512' }), path), /invalid/);
      });

      test('closes with 4401 for an RS256 token, and for one HMAC-signed under an RS256 header', async () => {
        rsaKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
        const now = Math.floor(Date.now() / 1000);
        const rs256 = await new SignJWT({ role: 'admin' })
          .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
          .setSubject('admin')
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setIssuedAt(now)
          .setExpirationTime(now + 600)
          .setJti('rs256-1')
          .sign(rsaKey);
        await expect4401(open(`rs256-${path}`, rs256, path), /invalid/);
        // Key confusion: an RS256 header with an HMAC-SHA256 signature made with the shared key.
        const head = `${segment({ alg: 'RS256', typ: 'JWT' })}.${segment({ sub: 'admin', role: 'admin', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600, jti: 'confused' })}`;
        const confused = `${head}.${createHmac('sha256', KEY).update(head).digest('base64url')}`;
        await expect4401(open(`rs256-${path}`, confused, path), /invalid/);
      });

      test('closes with 4401 for a well-signed token of a user who does not exist', async () => {
        await expect4401(open(`ghost-${path}`, await forgeToken(KEY, { sub: 'ghost' }), path));
      });
    });
  }

  test('closes with 4401 when both the header and the query parameter carry a bad token', async () => {
    const client = new TestClient(`${server.wsUrl}/ws/both?token=garbage`, {
      headers: { Authorization: 'Bearer garbage' },
    });
    clients.push(client);
    await expect4401(client);
  });

  test('answers a token refresh with auth_ok and expires_in and stays open', async () => {
    const { client } = await joinRoom(server.wsUrl, 'refresh', { token: userToken });
    clients.push(client);
    const fresh = await tokenFor(server, 'user1', 'password123');
    client.send({ type: 'auth', token: fresh });
    const ok = await client.next('auth_ok');
    assert.equal(typeof ok.expires_in, 'number');
    assert.ok(
      (ok.expires_in as number) > EXPIRE_MINUTES * 60 - 10 &&
        (ok.expires_in as number) <= EXPIRE_MINUTES * 60,
      `expires_in ${ok.expires_in}`,
    );
    await client.expectAlive();
    client.close();
  });

  test('closes with 4401 when the refresh token is for another user', async () => {
    const { client } = await joinRoom(server.wsUrl, 'refresh-other', { token: userToken });
    clients.push(client);
    client.send({ type: 'auth', token: adminToken });
    await expect4401(client, /another user/);
  });

  test('closes with 4401 when the refresh token is invalid or expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const bad of [
      'garbage',
      await forgeToken(KEY, { iat: now - 3600, exp: now - 60 }),
      await forgeToken(randomKey()),
    ]) {
      const { client } = await joinRoom(server.wsUrl, 'refresh-bad', { token: userToken });
      clients.push(client);
      client.send({ type: 'auth', token: bad });
      const closed = await client.closed;
      assert.equal(closed.code, 4401, closed.reason);
      assert.ok(closed.reason.length > 0);
    }
  });

  test('closes an unrefreshed connection with 4401 when its token expires, and keeps a refreshed one open', async () => {
    const fresh = await tokenFor(server, 'user1', 'password123');
    const exp = Math.floor(Date.now() / 1000) + 4;
    const shortLived = await forgeToken(KEY, { sub: 'user1', exp });
    const [expiring, refreshed] = await Promise.all([
      joinRoom(server.wsUrl, 'expiry', { token: shortLived }),
      joinRoom(server.wsUrl, 'expiry', { headers: { Authorization: `Bearer ${shortLived}` } }),
    ]);
    clients.push(expiring.client, refreshed.client);
    refreshed.client.send({ type: 'auth', token: fresh });
    await refreshed.client.next('auth_ok');
    assert.ok(
      Date.now() < exp * 1000,
      'the refresh must land before the old token expires (machine too slow?)',
    );

    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      expiring.client.closed,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), (exp + 3) * 1000 - Date.now());
      }),
    ]);
    clearTimeout(timer);
    assert.ok(closed, 'the unrefreshed connection must be closed soon after its token expires');
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /expired/);
    assert.ok(Date.now() >= exp * 1000, 'not closed before the token expired');

    // Past the old expiry plus two liveness ticks (WEBSOCKET_TIMEOUT=2: a tick every 500 ms).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 + 1200 - Date.now())));
    await refreshed.client.expectAlive();
    assert.equal(refreshed.client.ws.readyState, refreshed.client.ws.OPEN);
    refreshed.client.close();
  });
});
