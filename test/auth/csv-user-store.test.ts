import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  CsvUserStore,
  formatUsersCsv,
  parseUsersCsv,
  USERS_CSV_HEADER,
  UsersFileError,
  updateUsersFile,
  writeUsersFileAtomic,
} from '../../src/auth/csv-user-store.js';
import { hashPassword, verifyPassword } from '../../src/auth/password-hasher.js';
import type { UserRecord } from '../../src/auth/user-store.js';
import { useUsersFiles } from '../helpers/users-files.js';

const { freshPath } = useUsersFiles('csv-user-store-');
let hash: string;

before(async () => {
  hash = await hashPassword('fixture-password');
});

function user(username: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    username,
    passwordHash: hash,
    role: 'user',
    createdAt: '2025-01-02T03:04:05.000Z',
    disabled: false,
    ...overrides,
  };
}

function row(u: UserRecord): string {
  return `${u.username},"${u.passwordHash}",${u.role},${u.createdAt},${u.disabled}`;
}

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

describe('parseUsersCsv', () => {
  it('reads quoted and bare hashes, CRLF endings, empty lines and a trailing newline', () => {
    const text = [
      USERS_CSV_HEADER,
      row(user('alice', { role: 'admin' })),
      '',
      `bob,${hash},user,2025-01-02T03:04:05Z,true`,
      '',
    ].join('\r\n');
    const parsed = parseUsersCsv(text);
    assert.ok('users' in parsed, JSON.stringify(parsed));
    assert.deepEqual(
      parsed.users.map((u) => [u.username, u.role, u.disabled, u.passwordHash === hash]),
      [
        ['alice', 'admin', false, true],
        ['bob', 'user', true, true],
      ],
    );
  });

  it('round-trips what formatUsersCsv writes', () => {
    const users = [user('a'), user('b.c-d_e', { role: 'admin', disabled: true })];
    const parsed = parseUsersCsv(formatUsersCsv(users));
    assert.deepEqual(parsed, { users });
  });

  it('accepts a header-only file as no users', () => {
    assert.deepEqual(parseUsersCsv(`${USERS_CSV_HEADER}\n`), { users: [] });
  });

  it('refuses a malformed CSV listing each bad line number', () => {
    const text = [
      USERS_CSV_HEADER,
      row(user('good')),
      row(user('a b')),
      row(user('carol', { role: 'root' as 'user' })),
      `dave,"${hash}",user,2025-01-02T03:04:05Z,maybe`,
      'erin,user,2025-01-02T03:04:05Z',
      'frank,plaintext-password,user,2025-01-02T03:04:05Z,false',
      row(user('GOOD')),
      `gina,"${hash}",user,yesterday,false`,
      `hank,"${hash},user,2025-01-02T03:04:05Z,false`,
    ].join('\n');
    const parsed = parseUsersCsv(text);
    assert.ok('errors' in parsed);
    assert.deepEqual(
      parsed.errors.map((e) => /^users\.csv line (\d+): /.exec(e)?.[1]),
      ['3', '4', '5', '6', '7', '8', '9', '10'],
    );
    assert.match(parsed.errors[0]!, /^users\.csv line 3: invalid username "a b"/);
    assert.match(parsed.errors[1]!, /invalid role "root"/);
    assert.match(parsed.errors[2]!, /invalid disabled "maybe"/);
    assert.match(parsed.errors[3]!, /expected 5 columns/);
    assert.match(parsed.errors[4]!, /invalid password hash/);
    assert.match(parsed.errors[5]!, /duplicate username "GOOD" \(line 2 has "good"\)/);
    assert.match(parsed.errors[6]!, /invalid created_at "yesterday"/);
    assert.match(parsed.errors[7]!, /malformed quoting/);
    assert.ok(!parsed.errors.join('\n').includes(hash), 'errors never echo a hash');
  });

  it('refuses a missing or wrong header and an empty file, naming line 1', () => {
    const wrong = parseUsersCsv(`user,hash,role\n${row(user('alice'))}\n`, 'people.csv');
    assert.deepEqual(wrong, {
      errors: [`people.csv line 1: expected the header "${USERS_CSV_HEADER}"`],
    });
    const headless = parseUsersCsv(`${row(user('alice'))}\n`);
    assert.ok('errors' in headless && headless.errors.length === 1);
    const empty = parseUsersCsv('');
    assert.ok('errors' in empty && /line 1: empty file/.test(empty.errors[0]!));
  });
});

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
      assert.equal(await verifyPassword(store.find('bob')!.passwordHash, 'fixture-password'), true);
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
