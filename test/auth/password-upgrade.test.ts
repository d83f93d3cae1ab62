import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { hash } from '@node-rs/argon2';
import { needsRehash, verifyPassword } from '../../src/auth/password-hasher.js';
import { readUsersFile, updateUsersFile } from '../../src/auth/users-file.js';
import { waitFor } from '../helpers/measure.js';
import { call, login, randomKey } from '../helpers/secure.js';
import { withServer } from '../helpers/server.js';

const CURRENT = '$argon2id$v=19$m=19456,t=2,p=1$';

function scryptHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=14,r=8,p=1$${b64(salt)}$${b64(key)}`;
}

describe('outdated password hashes', () => {
  test('a legacy or differently-parameterised hash took measurably different time: it is rehashed to the current argon2id on login', async () => {
    const env = { REQUIRE_AUTH: 'true', JWT_SECRET_KEY: randomKey(), AUTH_MAX_FAILURES: '1000' };
    await withServer(env, async (server) => {
      const cheap = await hash('cheap-Passw0rd', {
        algorithm: 2,
        memoryCost: 4096,
        timeCost: 1,
        parallelism: 1,
      });
      const legacy = scryptHash('legacy-Passw0rd');
      assert.equal(needsRehash(cheap), true);
      assert.equal(needsRehash(legacy), true);
      const createdAt = new Date().toISOString();
      await updateUsersFile(server.config.usersFile, (users) => [
        ...users,
        { username: 'cheap', passwordHash: cheap, role: 'user', createdAt, disabled: false },
        { username: 'legacy', passwordHash: legacy, role: 'user', createdAt, disabled: false },
      ]);
      await server.app.reload();

      assert.equal((await login(server, 'legacy', 'wrong-password')).status, 401);
      const tokens: string[] = [];
      for (const [name, password] of [
        ['cheap', 'cheap-Passw0rd'],
        ['legacy', 'legacy-Passw0rd'],
      ] as const) {
        const answer = await login(server, name, password);
        assert.equal(answer.status, 200, answer.text);
        tokens.push(answer.json.access_token as string);
        await waitFor(
          `${name}'s hash is upgraded`,
          async () =>
            (await readUsersFile(server.config.usersFile))
              .find((u) => u.username === name)
              ?.passwordHash.startsWith(CURRENT) === true,
          5000,
        );
        const record = (await readUsersFile(server.config.usersFile)).find((u) => u.username === name)!;
        assert.equal(await verifyPassword(record.passwordHash, password), true);
        assert.equal(record.passwordChangedAt, undefined, 'an upgrade is not a password change');
      }
      await server.app.reload();
      assert.equal((await login(server, 'legacy', 'legacy-Passw0rd')).status, 200, 'the new hash works');
      for (const token of tokens)
        assert.equal((await call(server, 'GET', '/auth/me', { token })).status, 200);
      const admin = (await readUsersFile(server.config.usersFile)).find((u) => u.username === 'admin')!;
      assert.equal(needsRehash(admin.passwordHash), false, 'current hashes are left alone');
    });
  });
});
