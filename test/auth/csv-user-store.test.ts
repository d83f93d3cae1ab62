import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CsvUserStore } from '../../src/auth/csv-user-store.js';
import { verifyPassword } from '../../src/auth/password-hasher.js';
import type { UserRecord } from '../../src/auth/user-store.js';
import { formatUsersCsv, USERS_CSV_HEADER } from '../../src/auth/users-csv.js';
import { UsersFileError, writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { useUsersFiles } from '../helpers/users-files.js';
import { FIXTURE_PASSWORD, row, user } from './user-fixtures.js';

const { freshPath } = useUsersFiles('csv-user-store-');

function waitFor<T>(register: (resolve: (value: T) => void) => void, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    register((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
describe('CsvUserStore', () => {
  it('refuses to open a malformed file, listing every bad line', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    await writeFile(path, `${USERS_CSV_HEADER}\n${row(user('a b'))}\n${row(user('ok'))}\nbad\n`);
    await assert.rejects(CsvUserStore.open(path), (error: unknown) => {
      assert.ok(error instanceof UsersFileError);
      assert.equal(error.errors.length, 2);
      assert.deepEqual(
        error.message.split('\n').map((line) => line.slice(0, 16)),
        ['users.csv line 2', 'users.csv line 4'],
      );
      return true;
    });
  });

  it('refuses to open a missing file', async () => {
    await assert.rejects(CsvUserStore.open(freshPath()), /cannot read the users file \(ENOENT\)/);
  });

  it('finds users by exact name and lists them in file order', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('bob'), user('alice', { role: 'admin' })]);
    const store = await CsvUserStore.open(path);
    try {
      assert.equal(store.find('alice')?.role, 'admin');
      assert.equal(store.find('Alice'), undefined);
      assert.deepEqual(
        store.list().map((u) => u.username),
        ['bob', 'alice'],
      );
      assert.equal(await verifyPassword(store.find('bob')!.passwordHash, FIXTURE_PASSWORD), true);
    } finally {
      store.close();
    }
  });

  it('picks up an external change within the poll interval', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    let onReload: (users: readonly UserRecord[]) => void = () => {};
    const store = await CsvUserStore.open(path, { pollIntervalMs: 20, onReload: (users) => onReload(users) });
    try {
      const reloaded = waitFor<readonly UserRecord[]>((resolve) => (onReload = resolve), 2000, 'a reload');
      await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
      assert.deepEqual(
        (await reloaded).map((u) => u.username),
        ['alice', 'bob'],
      );
      assert.equal(store.find('bob')?.username, 'bob');
    } finally {
      store.close();
    }
  });

  it('keeps the previous users when the changed file is malformed', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    let onError: (errors: string[]) => void = () => {};
    const store = await CsvUserStore.open(path, {
      pollIntervalMs: 20,
      onReloadError: (errors) => onError(errors),
    });
    try {
      const failed = waitFor<string[]>((resolve) => (onError = resolve), 2000, 'a reload error');
      await writeFile(path, `${USERS_CSV_HEADER}\n${row(user('bob'))}\n${row(user('x y'))}\n`);
      assert.deepEqual(await failed, [
        'users.csv line 3: invalid username "x y" (1 to 64 of A-Z a-z 0-9 _ - .)',
      ]);
      assert.equal(store.find('alice')?.username, 'alice');
      assert.equal(store.find('bob'), undefined);
    } finally {
      store.close();
    }
  });

  it('does not serve a half-written file truncated mid-line', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    const errors: string[][] = [];
    const store = await CsvUserStore.open(path, {
      pollIntervalMs: 60_000,
      onReloadError: (e) => errors.push(e),
    });
    try {
      const full = formatUsersCsv([user('alice'), user('bob'), user('carol')]);
      for (const cut of [full.length - 3, full.lastIndexOf('carol') + 20, full.lastIndexOf('carol') + 3]) {
        await writeFile(path, full.slice(0, cut));
        assert.equal(await store.reload(), false, `cut at ${cut}`);
        assert.deepEqual(
          store.list().map((u) => u.username),
          ['alice'],
        );
      }
      assert.equal(errors.length, 3);
      await writeFile(path, full);
      assert.equal(await store.reload(), true);
      assert.deepEqual(
        store.list().map((u) => u.username),
        ['alice', 'bob', 'carol'],
      );
    } finally {
      store.close();
    }
  });

  it('keeps the previous users when the file disappears', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    const store = await CsvUserStore.open(path, { pollIntervalMs: 60_000, onReloadError: () => {} });
    try {
      await rm(path);
      assert.equal(await store.reload(), false);
      assert.equal(store.find('alice')?.username, 'alice');
    } finally {
      store.close();
    }
  });

  it('stops watching after close', async () => {
    const path = freshPath();
    await writeUsersFileAtomic(path, [user('alice')]);
    let reloads = 0;
    const store = await CsvUserStore.open(path, { pollIntervalMs: 20, onReload: () => (reloads += 1) });
    store.close();
    await writeUsersFileAtomic(path, [user('alice'), user('bob')]);
    await sleep(150);
    assert.equal(reloads, 0);
    assert.equal(store.find('bob'), undefined);
  });
});
