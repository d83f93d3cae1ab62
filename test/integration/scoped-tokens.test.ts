import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseTokenLimits, roomAllowed } from '../../src/auth/token-limits.js';
import { updateUsersFile } from '../../src/auth/users-file.js';
import { runTokenCli } from '../../src/cli/token.js';
import { backendToken, mintHs256 } from '../helpers/backend.js';
import { ROOT, randomKey } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const KEY = randomKey();
const ENV = {
  REQUIRE_AUTH: 'true',
  JWT_SECRET_KEY: KEY,
  AUTH_MAX_FAILURES: '1000000',
  MAX_CONNECTIONS_PER_IP: '1000',
  RATE_LIMIT_PER_MINUTE: '100000',
};

/** The documented claim names of a backend token, exactly. */
const DOCUMENTED_CLAIMS = ['aud', 'exp', 'iat', 'iss', 'jti', 'max_peers', 'rooms', 'scope', 'sub'];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const code = await runTokenCli(args, {
    stdout: out,
    stderr: err,
    environment: () => ({ JWT_SECRET_KEY: KEY }),
  });
  out.end();
  err.end();
  return { code, out: String(out.read() ?? ''), err: String(err.read() ?? '') };
}

describe('token limits', () => {
  test('room ids and prefix* patterns', () => {
    assert.equal(roomAllowed(['a', 'team-*'], 'a'), true);
    assert.equal(roomAllowed(['a', 'team-*'], 'team-42'), true);
    assert.equal(roomAllowed(['a', 'team-*'], 'ab'), false);
    assert.equal(roomAllowed(['a', 'team-*'], 'tea'), false);
    assert.equal(roomAllowed(['*'], 'anything'), true);
    assert.equal(roomAllowed(null, 'anything'), true);
  });

  test('a malformed limit claim makes the whole token invalid', () => {
    for (const bad of [{ scope: 'root' }, { scope: 7 }, { rooms: 'a' }, { rooms: ['a/b'] }, { max_peers: 0 }])
      assert.equal(parseTokenLimits(bad), 'invalid', JSON.stringify(bad));
    assert.equal(parseTokenLimits({ sub: 'x' }), null);
    assert.deepEqual(parseTokenLimits({ scope: 'join admin', rooms: ['a*'], max_peers: 3 }), {
      scope: ['join', 'admin'],
      rooms: ['a*'],
      maxPeers: 3,
    });
  });
});

describe('backend-minted room-scoped tokens', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  const open = (room: string, token: string) => {
    const client = new TestClient(`${server.wsUrl}/ws/${room}?token=${encodeURIComponent(token)}`);
    clients.push(client);
    return client;
  };
  const join = async (room: string, token: string) => {
    const joined = await joinRoom(server.wsUrl, room, { token });
    clients.push(joined.client);
    return joined;
  };

  before(async () => {
    server = await startServer(ENV);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  test('a token for room a joins a and is refused in room b with 4403', async () => {
    const token = backendToken(KEY, 'carol', { rooms: ['a'] });
    await join('a', token);
    const refused = await open('b', token).closed;
    assert.equal(refused.code, 4403);
    assert.match(refused.reason, /does not allow this room/);
  });

  test('prefix* patterns let in every room with the prefix and no other', async () => {
    const token = backendToken(KEY, 'dave', { rooms: ['team-*', 'lobby'] });
    await join('team-1', token);
    await join('team-xyz', token);
    await join('lobby', token);
    assert.equal((await open('teams', token).closed).code, 4403);
    assert.equal((await open('lobby2', token).closed).code, 4403);
  });

  test('a change of the users file never closes a scoped token’s connection (its user is not in the file)', async () => {
    const joined = await join('users-change', backendToken(KEY, 'app-user-7'));
    await updateUsersFile(server.config.usersFile, (users) => users.filter((u) => u.username !== 'user2'));
    await server.app.reload();
    await joined.client.expectAlive();
  });

  test('a scoped token needs no users-file entry; a plain token for an unknown user still gets 4401', async () => {
    const joined = await join('anyroom', backendToken(KEY, 'not-in-the-file'));
    assert.ok(joined.peerId);
    const now = Math.floor(Date.now() / 1000);
    const plain = mintHs256(KEY, {
      iss: 'webrtc-signaling-server',
      aud: 'webrtc-signaling',
      sub: 'not-in-the-file',
      role: 'admin',
      iat: now,
      exp: now + 600,
      jti: 'plain-1',
    });
    assert.equal((await open('anyroom', plain).closed).code, 4401);
  });

  test('max_peers caps the room the token creates, for every later joiner too', async () => {
    const creator = backendToken(KEY, 'host', { rooms: ['small'], max_peers: 2 });
    await join('small', creator);
    await join('small', backendToken(KEY, 'guest'));
    assert.equal((await open('small', backendToken(KEY, 'third')).closed).code, 4409);
  });

  test('a join-only token cannot use the Admin API; an admin-scoped one can', async () => {
    const call = (token: string) =>
      fetch(`${server.url}/api/rooms`, { headers: { authorization: `Bearer ${token}` } }).then(
        (r) => r.status,
      );
    assert.equal(await call(backendToken(KEY, 'carol')), 403);
    assert.equal(await call(backendToken(KEY, 'backend', { scope: 'admin' })), 200);
    const adminOnly = open('a', backendToken(KEY, 'backend', { scope: 'admin' }));
    assert.equal((await adminOnly.closed).code, 4403);
  });

  test('a revoked jti is refused fleet-wide until it expires', async () => {
    const jti = 'revoke-me-1';
    const token = backendToken(KEY, 'eve', { jti });
    await join('r', token);
    const admin = backendToken(KEY, 'backend', { scope: 'admin' });
    const revoked = await fetch(`${server.url}/api/tokens/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jti, expires_at: Math.floor(Date.now() / 1000) + 600 }),
    });
    assert.equal(revoked.status, 204);
    const closed = await open('r', token).closed;
    assert.equal(closed.code, 4401);
    assert.equal(closed.reason, 'revoked token');
    const audit = server.logs.find((l) => l.security_event === 'admin_action');
    assert.equal(audit?.user, 'backend');
  });

  test('npm run token prints a token with exactly the documented claims, accepted by the server', async () => {
    const { code, out, err } = await cli([
      '--user',
      'frank',
      '--rooms',
      'a,b-*',
      '--ttl',
      '10m',
      '--max-peers',
      '4',
      '--json',
    ]);
    assert.equal(code, 0, err);
    const { token, claims } = JSON.parse(out) as { token: string; claims: Record<string, unknown> };
    const [, payload] = token.split('.');
    const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(decoded).sort(), DOCUMENTED_CLAIMS);
    assert.deepEqual(decoded, claims);
    assert.equal(decoded.exp as number, (decoded.iat as number) + 600);
    assert.deepEqual(decoded.rooms, ['a', 'b-*']);
    assert.equal(decoded.scope, 'join');
    // The same HMAC check a receiver of the documented scheme does, on the token itself.
    const [h, p, s] = token.split('.') as [string, string, string];
    assert.equal(mintHs256(KEY, decoded), `${h}.${p}.${s}`);
    await join('b-1', token);
    assert.equal((await open('c', token).closed).code, 4403);
  });

  test('the token command refuses bad options with exit code 1', async () => {
    assert.equal((await cli(['--rooms', 'a'])).code, 1);
    assert.equal((await cli(['--user', 'x', '--ttl', 'forever'])).code, 1);
    assert.equal((await cli(['--user', 'x', '--rooms', 'a/b'])).code, 1);
  });

  test('the token command runs as a program and prints the token alone', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'src/cli/token.ts', '--user', 'gina', '--rooms', 'a'],
      { cwd: ROOT, env: { ...process.env, JWT_SECRET_KEY: KEY } },
    );
    const token = stdout.trim();
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    await join('a', token);
  });
});
