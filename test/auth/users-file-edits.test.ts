import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import {
  addUser,
  changeUser,
  DuplicateUserError,
  removeUser,
  UnknownUserError,
} from '../../src/auth/users-file-edits.js';
import { readUsers, useUsersFiles } from '../helpers/users-files.js';
import { user } from './user-fixtures.js';

const { freshPath } = useUsersFiles('users-file-edits-');

describe('users file edits', () => {
  it('adds a user to a missing file, creating it', async () => {
    const path = freshPath();
    await addUser(path, user('alice'));
    assert.deepEqual(await readUsers(path), [user('alice')]);
  });

  it('refuses to add a name that differs only in case, leaving the file untouched', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    const before = await readFile(path, 'utf8');
    await assert.rejects(addUser(path, user('ALICE')), (error: unknown) => {
      assert.ok(error instanceof DuplicateUserError);
      assert.equal(error.message, 'user "ALICE" already exists');
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), before);
  });

  it('changes one user in place and keeps the file order', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice'), user('bob'), user('carol')]);
    await changeUser(path, 'bob', (u) => ({ ...u, disabled: true }));
    assert.deepEqual(await readUsers(path), [user('alice'), user('bob', { disabled: true }), user('carol')]);
  });

  it('removes a user by exact name', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    await removeUser(path, 'alice');
    assert.deepEqual(await readUsers(path), [user('bob')]);
  });

  it('refuses to change or remove an unknown user, also one differing only in case', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    const before = await readFile(path, 'utf8');
    for (const edit of [() => removeUser(path, 'Alice'), () => changeUser(path, 'bob', (u) => u)]) {
      await assert.rejects(edit(), (error: unknown) => {
        assert.ok(error instanceof UnknownUserError);
        assert.match(error.message, /^no such user "(Alice|bob)"$/);
        return true;
      });
    }
    assert.equal(await readFile(path, 'utf8'), before);
  });
});
