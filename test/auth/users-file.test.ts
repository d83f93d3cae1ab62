import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseUsersCsv, USERS_CSV_HEADER } from '../../src/auth/users-csv.js';
import { UsersFileError, updateUsersFile, writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { useUsersFiles } from '../helpers/users-files.js';
import { user } from './user-fixtures.js';

const { freshPath } = useUsersFiles('users-file-');

describe('writeUsersFileAtomic', () => {
  it('writes mode 0600 and leaves no temporary file behind', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    await writeFile(path, `${USERS_CSV_HEADER}\n`, { mode: 0o644 });
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(path, '..')), ['users.csv']);
    assert.deepEqual(parseUsersCsv(await readFile(path, 'utf8')), { users: [user('alice'), user('bob')] });
  });

  it('refuses users that would not parse back and leaves the file untouched', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    const before = await readFile(path, 'utf8');
    await assert.rejects(writeUsersFileAtomic(path, [user('alice'), user('bad name')]), UsersFileError);
    assert.equal(await readFile(path, 'utf8'), before);
    assert.deepEqual(await readdir(join(path, '..')), ['users.csv']);
  });
});

describe('updateUsersFile', () => {
  it('creates a missing file with mode 0600 and removes its lock afterwards', async () => {
    const path = freshPath();
    const written = await updateUsersFile(path, (users) => [...users, user('alice')]);
    assert.deepEqual(written, [user('alice')]);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(path, '..')), ['users.csv']);
  });

  it('leaves the file untouched and releases the lock when the change throws', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    await assert.rejects(
      updateUsersFile(path, () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    assert.deepEqual(parseUsersCsv(await readFile(path, 'utf8')), { users: [user('alice')] });
    await updateUsersFile(path, (users) => [...users, user('bob')]);
    assert.deepEqual(await readdir(join(path, '..')), ['users.csv']);
  });

  it('serialises concurrent updates so none is lost', async () => {
    const path = freshPath();
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => updateUsersFile(path, (users) => [...users, user(`u${i}`)])),
    );
    const parsed = parseUsersCsv(await readFile(path, 'utf8'));
    assert.ok('users' in parsed);
    assert.deepEqual(
      parsed.users.map((u) => u.username).sort(),
      Array.from({ length: 10 }, (_, i) => `u${i}`).sort(),
    );
  });

  it('refuses to rewrite a malformed file', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    await writeFile(path, `${USERS_CSV_HEADER}\nbroken line\n`);
    await assert.rejects(
      updateUsersFile(path, (users) => users),
      (error: unknown) => {
        assert.ok(error instanceof UsersFileError);
        assert.match(error.message, /users\.csv line 2: expected 5 columns/);
        return true;
      },
    );
  });
});
