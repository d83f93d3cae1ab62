import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ensureUsersFile,
  findDefaultPasswordUsers,
  isPlaceholderSecret,
} from '../../src/auth/default-users.js';
import { hashPassword, verifyPassword } from '../../src/auth/password-hasher.js';
import type { UserRecord, UserStore } from '../../src/auth/user-store.js';
import { readUsers, useUsersFiles } from '../helpers/users-files.js';

const { freshPath } = useUsersFiles('default-users-');

function storeOf(users: readonly UserRecord[]): UserStore {
  return { find: (name) => users.find((u) => u.username === name), list: () => users };
}

describe('ensureUsersFile', () => {
  it('creates the documented development users in debug mode', async () => {
    const path = freshPath();
    assert.deepEqual(await ensureUsersFile(path, { debug: true }), { created: true });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const users = await readUsers(path);
    assert.deepEqual(
      users.map((u) => [u.username, u.role, u.disabled]),
      [
        ['admin', 'admin', false],
        ['user1', 'user', false],
        ['user2', 'user', false],
      ],
    );
    assert.equal(await verifyPassword(users[0]!.passwordHash, 'admin123'), true);
    assert.equal(await verifyPassword(users[1]!.passwordHash, 'password123'), true);
    assert.equal(await verifyPassword(users[2]!.passwordHash, 'password123'), true);
    assert.deepEqual(await readdir(join(path, '..')), ['users.csv']);
  });

  it('creates only admin with a random password, returned once and stored hashed, outside debug', async () => {
    const path = freshPath();
    const result = await ensureUsersFile(path, { debug: false });
    assert.equal(result.created, true);
    const password = result.generatedAdminPassword!;
    assert.match(password, /^[A-Za-z0-9_-]{24}$/);
    const text = await readFile(path, 'utf8');
    assert.ok(!text.includes(password), 'the password is not stored in clear');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const users = await readUsers(path);
    assert.deepEqual(
      users.map((u) => [u.username, u.role]),
      [['admin', 'admin']],
    );
    assert.equal(await verifyPassword(users[0]!.passwordHash, password), true);
    assert.equal(await verifyPassword(users[0]!.passwordHash, 'admin123'), false);

    const other = await ensureUsersFile(freshPath(), { debug: false });
    assert.notEqual(other.generatedAdminPassword, password);
  });

  it('leaves an existing file alone, even a malformed one', async () => {
    const path = freshPath();
    await ensureUsersFile(path, { debug: true });
    const before = await readFile(path, 'utf8');
    assert.deepEqual(await ensureUsersFile(path, { debug: false }), { created: false });
    assert.equal(await readFile(path, 'utf8'), before);
    await writeFile(path, 'not,a,users,file\n');
    assert.deepEqual(await ensureUsersFile(path, { debug: true }), { created: false });
    assert.equal(await readFile(path, 'utf8'), 'not,a,users,file\n');
  });

  it('creates the file exactly once when two starts race', async () => {
    const path = freshPath();
    const results = await Promise.all([
      ensureUsersFile(path, { debug: false }),
      ensureUsersFile(path, { debug: false }),
    ]);
    assert.deepEqual(results.map((r) => r.created).sort(), [false, true]);
    const winner = results.find((r) => r.created)!;
    const users = await readUsers(path);
    assert.equal(await verifyPassword(users[0]!.passwordHash, winner.generatedAdminPassword!), true);
  });
});

describe('findDefaultPasswordUsers', () => {
  it('names every development user still using a documented password', async () => {
    const path = freshPath();
    await ensureUsersFile(path, { debug: true });
    assert.deepEqual(await findDefaultPasswordUsers(storeOf(await readUsers(path))), [
      'admin',
      'user1',
      'user2',
    ]);
  });

  it('detects admin123 and ignores users whose password was changed', async () => {
    const createdAt = new Date().toISOString();
    const users: UserRecord[] = [
      {
        username: 'admin',
        passwordHash: await hashPassword('admin123'),
        role: 'admin',
        createdAt,
        disabled: false,
      },
      {
        username: 'user1',
        passwordHash: await hashPassword('a-new-password'),
        role: 'user',
        createdAt,
        disabled: false,
      },
      {
        username: 'user2',
        passwordHash: await hashPassword('admin123'),
        role: 'user',
        createdAt,
        disabled: true,
      },
      {
        username: 'bob',
        passwordHash: await hashPassword('password123'),
        role: 'user',
        createdAt,
        disabled: false,
      },
    ];
    assert.deepEqual(await findDefaultPasswordUsers(storeOf(users)), ['admin', 'user2']);
  });

  it('finds nothing in a production first-run file', async () => {
    const path = freshPath();
    await ensureUsersFile(path, { debug: false });
    assert.deepEqual(await findDefaultPasswordUsers(storeOf(await readUsers(path))), []);
    assert.deepEqual(await findDefaultPasswordUsers(storeOf([])), []);
  });
});

describe('isPlaceholderSecret', () => {
  it('recognises documented placeholders', () => {
    for (const secret of [
      'your-secret-key-here',
      'your-jwt-secret-key',
      'your-secret-key-change-this-in-production',
      'YOUR_SECRET_KEY',
      'change-me',
      'changeme',
      'Change this please, it is only an example',
      'secret',
      'password',
      ' secret ',
      'x'.repeat(40),
      '',
    ]) {
      assert.equal(isPlaceholderSecret(secret), true, secret);
    }
  });

  it('accepts generated and real secrets', () => {
    for (const secret of [
      randomBytes(32).toString('base64url'),
      randomBytes(48).toString('hex'),
      'correct horse battery staple and a long tail 2025',
    ]) {
      assert.equal(isPlaceholderSecret(secret), false, secret);
    }
  });
});
