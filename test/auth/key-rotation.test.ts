import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { call, decodeJwt, randomKey, tokenFor } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';

const AUTH = { REQUIRE_AUTH: 'true', AUTH_MAX_FAILURES: '1000' };

async function me(server: RunningServer, token: string): Promise<number> {
  return (await call(server, 'GET', '/auth/me', { token })).status;
}

describe('rotating the JWT key', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('a new JWT_SECRET_KEY logged everyone out: tokens of JWT_SECRET_KEY_PREVIOUS stay valid until removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'key-rotation-'));
    dirs.push(dir);
    const oldKey = randomKey();
    const newKey = randomKey();

    const before = await startServer({ ...AUTH, JWT_SECRET_KEY: oldKey }, { dir });
    let oldToken: string;
    try {
      oldToken = await tokenFor(before, 'user1', 'password123');
      assert.equal(typeof decodeJwt(oldToken).header.kid, 'string', 'tokens name their key with kid');
    } finally {
      await before.stop();
    }

    const rotating = await startServer(
      { ...AUTH, JWT_SECRET_KEY: newKey, JWT_SECRET_KEY_PREVIOUS: oldKey },
      { dir },
    );
    let newToken: string;
    try {
      assert.equal(await me(rotating, oldToken), 200, 'a token of the previous key is still accepted');
      newToken = await tokenFor(rotating, 'user1', 'password123');
      assert.notEqual(decodeJwt(newToken).header.kid, decodeJwt(oldToken).header.kid);
      assert.equal(await me(rotating, newToken), 200);
    } finally {
      await rotating.stop();
    }

    const after = await startServer({ ...AUTH, JWT_SECRET_KEY: newKey }, { dir });
    try {
      assert.equal(await me(after, oldToken), 401, 'once the previous key is removed its tokens end');
      assert.equal(await me(after, newToken), 200, 'tokens signed with the new key never depended on it');
    } finally {
      await after.stop();
    }
  });

  test('JWT_SECRET_KEY_PREVIOUS verifies only: new tokens are never signed with it', async () => {
    const previous = randomKey();
    const server = await startServer({
      ...AUTH,
      JWT_SECRET_KEY: randomKey(),
      JWT_SECRET_KEY_PREVIOUS: previous,
    });
    dirs.push(server.dir);
    try {
      const token = await tokenFor(server, 'admin', 'admin123');
      const verifier = await startServer({ ...AUTH, JWT_SECRET_KEY: previous }, { dir: server.dir });
      try {
        assert.equal(await me(verifier, token), 401);
      } finally {
        await verifier.stop();
      }
    } finally {
      await server.stop();
    }
  });

  test('a short JWT_SECRET_KEY_PREVIOUS is refused at start-up without showing it', () => {
    assert.throws(
      () => loadConfig({ JWT_SECRET_KEY: randomKey(), JWT_SECRET_KEY_PREVIOUS: 'short-old-key' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /JWT_SECRET_KEY_PREVIOUS/.test(error.message) &&
        !error.message.includes('short-old-key'),
    );
  });
});
