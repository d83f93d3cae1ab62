import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { hashPassword } from '../../src/auth/password-hasher.js';
import type { Role } from '../../src/auth/user-store.js';
import { updateUsersFile } from '../../src/auth/users-file.js';
import { AUDIENCE, call, decodeJwt, ISSUER, login, randomKey, secureEnv } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';

const KEY = randomKey();
const EXPIRE_MINUTES = 7;
const PASSWORD_1024 = `${'p'.repeat(1023)}Z`;
const PASSWORD_1024_MULTIBYTE = 'é'.repeat(512);
const DISABLED_PASSWORD = 'disabled-but-correct-1';

describe('POST /auth/login and GET /auth/me over HTTPS', () => {
  let server: RunningServer;

  before(async () => {
    server = await startServer(secureEnv(KEY, { JWT_EXPIRE_MINUTES: String(EXPIRE_MINUTES) }));
    const extra: { username: string; password: string; role: Role; disabled: boolean }[] = [
      { username: 'long.pw', password: PASSWORD_1024, role: 'user', disabled: false },
      { username: 'wide_pw', password: PASSWORD_1024_MULTIBYTE, role: 'user', disabled: false },
      { username: 'gone-user', password: DISABLED_PASSWORD, role: 'user', disabled: true },
      { username: 'old-short', password: 'short-7', role: 'user', disabled: false },
    ];
    const records = await Promise.all(
      extra.map(async (u) => ({
        username: u.username,
        passwordHash: await hashPassword(u.password),
        role: u.role,
        createdAt: new Date().toISOString(),
        disabled: u.disabled,
      })),
    );
    await updateUsersFile(server.config.usersFile, (users) => [...users, ...records]);
    await server.app.reload();
  });
  after(async () => {
    await server.stop();
  });

  test('a password under 8 characters never logs in, even the right one stored before the rule (401)', async () => {
    const answer = await login(server, 'old-short', 'short-7');
    assert.equal(answer.status, 401, answer.text);
    assert.deepEqual(answer.json, { detail: 'invalid username or password' });
    await rm(server.dir, { recursive: true, force: true });
  });

  test('answers 200 with a bearer HS256 token carrying sub, role, iat, exp, jti, iss and aud', async () => {
    const answer = await login(server, 'admin', 'admin123');
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(Object.keys(answer.json).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(answer.json.token_type, 'bearer');
    assert.equal(answer.json.expires_in, EXPIRE_MINUTES * 60);
    const token = answer.json.access_token as string;
    const { header, payload } = decodeJwt(token);
    assert.equal(header.alg, 'HS256');
    assert.equal(payload.sub, 'admin');
    assert.equal(payload.role, 'admin');
    assert.equal(payload.iss, ISSUER);
    assert.equal(payload.aud, AUDIENCE);
    assert.equal(typeof payload.jti, 'string');
    assert.ok((payload.jti as string).length >= 16);
    assert.equal(typeof payload.iat, 'number');
    assert.equal((payload.exp as number) - (payload.iat as number), EXPIRE_MINUTES * 60);
    assert.ok(Math.abs((payload.iat as number) - Date.now() / 1000) < 30);
    // Signed with the key this test configured, and nothing else.
    const verified = await jwtVerify(token, new TextEncoder().encode(KEY), {
      algorithms: ['HS256'],
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    assert.equal(verified.payload.sub, 'admin');

    const second = await login(server, 'admin', 'admin123');
    assert.notEqual(
      decodeJwt(second.json.access_token as string).payload.jti,
      payload.jti,
      'every token gets its own jti',
    );
  });

  test('gives a user token the role user', async () => {
    const answer = await login(server, 'user1', 'password123');
    assert.equal(answer.status, 200, answer.text);
    assert.equal(decodeJwt(answer.json.access_token as string).payload.role, 'user');
  });

  test('answers 401 with the identical detail for an unknown user and for a wrong password', async () => {
    const unknown = await login(server, 'nobody-here', 'admin123');
    const wrong = await login(server, 'admin', 'not-the-password');
    assert.equal(unknown.status, 401);
    assert.equal(wrong.status, 401);
    assert.equal(typeof unknown.json.detail, 'string');
    assert.ok((unknown.json.detail as string).length > 0);
    assert.equal(unknown.text, wrong.text, 'the body must not tell an unknown user from a wrong password');
    assert.equal(unknown.json.access_token, undefined);
  });

  test('refuses a disabled user with the correct password with the same 401 as a wrong password', async () => {
    const disabled = await login(server, 'gone-user', DISABLED_PASSWORD);
    const wrong = await login(server, 'admin', 'not-the-password');
    assert.equal(disabled.status, 401);
    assert.equal(disabled.text, wrong.text);
  });

  test('answers 422 with a detail for a malformed body, missing fields, wrong types and bad usernames', async () => {
    const cases: { name: string; body: unknown; mentions: RegExp }[] = [
      { name: 'empty object', body: {}, mentions: /username|password/ },
      { name: 'missing password', body: { username: 'admin' }, mentions: /password/ },
      { name: 'missing username', body: { password: 'admin123' }, mentions: /username/ },
      { name: 'numeric username', body: { username: 123, password: 'admin123' }, mentions: /username/ },
      { name: 'numeric password', body: { username: 'admin', password: 123456 }, mentions: /password/ },
      { name: 'null password', body: { username: 'admin', password: null }, mentions: /password/ },
      { name: 'object username', body: { username: { $ne: '' }, password: 'x' }, mentions: /username/ },
      { name: 'username with a space', body: { username: 'ad min', password: 'x' }, mentions: /username/ },
      { name: 'username with a comma', body: { username: 'a,b', password: 'x' }, mentions: /username/ },
      {
        name: 'formula username',
        body: { username: '=HYPERLINK("x")', password: 'x' },
        mentions: /username/,
      },
      { name: 'username with a slash', body: { username: '../admin', password: 'x' }, mentions: /username/ },
      { name: 'non-ASCII username', body: { username: 'adminé', password: 'x' }, mentions: /username/ },
      { name: 'empty username', body: { username: '', password: 'x' }, mentions: /username/ },
      {
        name: '65-character username',
        body: { username: 'a'.repeat(65), password: 'x' },
        mentions: /username/,
      },
      { name: 'empty password', body: { username: 'admin', password: '' }, mentions: /password/ },
      { name: 'array body', body: [{ username: 'admin', password: 'admin123' }], mentions: /./ },
      { name: 'string body', body: 'admin:admin123', mentions: /./ },
      { name: 'null body', body: null, mentions: /./ },
    ];
    for (const c of cases) {
      const answer = await call(server, 'POST', '/auth/login', { rawBody: JSON.stringify(c.body) });
      assert.equal(answer.status, 422, `${c.name}: ${answer.status} ${answer.text}`);
      assert.equal(typeof answer.json.detail, 'string', `${c.name}: ${answer.text}`);
      assert.match(answer.json.detail as string, c.mentions, c.name);
      assert.doesNotMatch(answer.text, /\n\s+at /, `${c.name}: no stack trace`);
    }
  });

  test('answers 400 or 422 with a detail, never 500, for a body that is not JSON', async () => {
    const bodies = [
      '{"username":"admin","password":',
      'username=admin&password=admin123',
      '{username: admin}',
      '\u0000\u0001',
      '',
    ];
    for (const rawBody of bodies) {
      const answer = await call(server, 'POST', '/auth/login', {
        rawBody,
        headers: { 'Content-Type': 'application/json' },
      });
      assert.ok(
        answer.status === 400 || answer.status === 422,
        `${JSON.stringify(rawBody)}: ${answer.status} ${answer.text}`,
      );
      assert.equal(typeof answer.json.detail, 'string', answer.text);
      assert.doesNotMatch(answer.text, /\n\s+at /);
    }
    const form = await call(server, 'POST', '/auth/login', {
      rawBody: 'username=admin&password=admin123',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.ok(form.status >= 400 && form.status < 500, `form body: ${form.status} ${form.text}`);
    assert.equal(typeof form.json.detail, 'string', form.text);
  });

  test('accepts a password of exactly 1024 bytes whole, not a prefix or a variant of it', async () => {
    assert.equal(Buffer.byteLength(PASSWORD_1024), 1024);
    assert.equal((await login(server, 'long.pw', PASSWORD_1024)).status, 200);
    assert.equal(
      (await login(server, 'long.pw', `${'p'.repeat(1023)}Y`)).status,
      401,
      'the last byte counts',
    );
    assert.equal((await login(server, 'long.pw', 'p'.repeat(1023))).status, 401, 'a prefix is not enough');

    assert.equal(Buffer.byteLength(PASSWORD_1024_MULTIBYTE), 1024);
    assert.equal((await login(server, 'wide_pw', PASSWORD_1024_MULTIBYTE)).status, 200);
    assert.equal((await login(server, 'wide_pw', `${'é'.repeat(511)}e`)).status, 401);
  });

  test('refuses a 1025-byte password with 422, counting UTF-8 bytes', async () => {
    for (const password of [`${PASSWORD_1024}!`, `${PASSWORD_1024_MULTIBYTE}a`, 'x'.repeat(5000)]) {
      for (const username of ['long.pw', 'nobody-here']) {
        const answer = await login(server, username, password);
        assert.equal(answer.status, 422, `${username}/${Buffer.byteLength(password)} bytes: ${answer.text}`);
        assert.match(answer.json.detail as string, /password/);
        assert.match(answer.json.detail as string, /1024/);
      }
    }
  });

  test('GET /auth/me returns the username and role of the token holder', async () => {
    const admin = (await login(server, 'admin', 'admin123')).json.access_token as string;
    const user = (await login(server, 'user1', 'password123')).json.access_token as string;
    const me = await call(server, 'GET', '/auth/me', { token: admin });
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.json, { username: 'admin', role: 'admin' });
    assert.deepEqual((await call(server, 'GET', '/auth/me', { token: user })).json, {
      username: 'user1',
      role: 'user',
    });
  });

  test('GET /auth/me answers 401 with a detail without a token or with a bad one', async () => {
    const none = await call(server, 'GET', '/auth/me');
    assert.equal(none.status, 401);
    assert.equal(typeof none.json.detail, 'string');
    assert.match(String(none.headers['www-authenticate']), /^Bearer/);
    const bad = await call(server, 'GET', '/auth/me', { token: 'not.a.jwt' });
    assert.equal(bad.status, 401);
    assert.equal(typeof bad.json.detail, 'string');
  });
});
