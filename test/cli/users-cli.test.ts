import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hashPassword, verifyPassword } from '../../src/auth/password-hasher.js';
import { MAX_PASSWORD_BYTES } from '../../src/auth/user-store.js';
import { USERS_CSV_HEADER } from '../../src/auth/users-csv.js';
import { writeUsersFileAtomic } from '../../src/auth/users-file.js';
import { runUsersCli } from '../../src/cli/users.js';
import { readUsers, useUsersFiles } from '../helpers/users-files.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `users.ts` as a real process; `input` becomes its (non-TTY) standard input. */
function users(
  args: readonly string[],
  input: string | Buffer = '',
  env: NodeJS.ProcessEnv = process.env,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/users.ts', ...args], {
      cwd: root,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => {}); // the CLI may exit before reading everything
    child.stdin.end(input);
  });
}

const { dir: tempDir, freshPath } = useUsersFiles('users-cli-');

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

function assertNoSecrets(result: Result, ...secrets: string[]): void {
  const output = result.stdout + result.stderr;
  assert.ok(!output.includes('$argon2'), 'no hash in the output');
  for (const secret of secrets) assert.ok(!output.includes(secret), 'no password in the output');
}

describe('users CLI', () => {
  it('adds, lists, changes the password of, disables, enables and removes a user', async () => {
    const file = freshPath();
    const add = await users(['add', 'alice', '--file', file], 'first-pass\n');
    assert.deepEqual(add, { code: 0, stdout: 'added user "alice" (role user)\n', stderr: '' });
    assert.equal(await mode(file), 0o600);
    const [alice] = await readUsers(file);
    assert.equal(alice!.role, 'user');
    assert.equal(
      await verifyPassword(alice!.passwordHash, 'first-pass'),
      true,
      'one trailing newline is stripped',
    );

    const admin = await users(['add', 'root-admin', '--role', 'admin', `--file=${file}`], 'admin-pass');
    assert.equal(admin.code, 0, admin.stderr);
    assert.equal(await mode(file), 0o600);

    const passwd = await users(['passwd', 'alice', '--file', file], 'second-pass\n');
    assert.equal(passwd.code, 0, passwd.stderr);
    assert.equal(await mode(file), 0o600);
    const changed = (await readUsers(file)).find((u) => u.username === 'alice')!;
    assert.equal(await verifyPassword(changed.passwordHash, 'second-pass'), true);
    assert.equal(await verifyPassword(changed.passwordHash, 'first-pass'), false);
    assert.equal(changed.createdAt, alice!.createdAt);

    const disable = await users(['disable', 'alice', '--file', file]);
    assert.equal(disable.code, 0, disable.stderr);
    assert.equal(await mode(file), 0o600);
    const list = await users(['list', '--file', file]);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s+/));
    assert.deepEqual(
      rows.map((r) => [r[0], r[1], r[3]]),
      [
        ['username', 'role', 'disabled'],
        ['alice', 'user', 'true'],
        ['root-admin', 'admin', 'false'],
      ],
    );
    assert.match(rows[1]![2]!, /^\d{4}-\d{2}-\d{2}T/);
    assertNoSecrets(list, 'second-pass', 'admin-pass');

    const enable = await users(['enable', 'alice', '--file', file]);
    assert.equal(enable.code, 0, enable.stderr);
    assert.equal((await readUsers(file)).find((u) => u.username === 'alice')!.disabled, false);

    const remove = await users(['remove', 'alice', '--file', file]);
    assert.equal(remove.code, 0, remove.stderr);
    assert.equal(await mode(file), 0o600);
    assert.deepEqual(
      (await readUsers(file)).map((u) => u.username),
      ['root-admin'],
    );
    assert.deepEqual(await readdir(dirname(file)), ['users.csv'], 'no temp or lock files are left');
    for (const result of [add, admin, passwd, disable, enable, remove])
      assertNoSecrets(result, 'first-pass', 'second-pass');
  });

  it('exits 2 for an unknown user', async () => {
    const file = freshPath();
    await writeUsersFileAtomic(file, []);
    const commands = ['passwd', 'remove', 'disable', 'enable'];
    const results = await Promise.all(
      commands.map((command) => users([command, 'nobody', '--file', file], 'pw')),
    );
    for (const [i, result] of results.entries()) {
      assert.deepEqual(result, { code: 2, stdout: '', stderr: 'no such user "nobody"\n' }, commands[i]);
    }
  });

  it('exits 3 for a user that already exists, also differing only in case', async () => {
    const file = freshPath();
    assert.equal((await users(['add', 'bob', '--file', file], 'pw-one-12')).code, 0);
    const before = await readFile(file, 'utf8');
    const again = await users(['add', 'bob', '--file', file], 'pw-two-12');
    assert.deepEqual(again, { code: 3, stdout: '', stderr: 'user "bob" already exists\n' });
    assert.equal((await users(['add', 'BOB', '--file', file], 'pw-two-12')).code, 3);
    assert.equal(await readFile(file, 'utf8'), before);
  });

  it('exits 1 for a bad name, a bad password, or bad usage, with one line on stderr', async () => {
    const file = freshPath();
    const cases: [string[], string | Buffer][] = [
      [['add', 'a b'], 'pw'],
      [['add', 'x'.repeat(65)], 'pw'],
      [['add', 'carol'], ''],
      [['add', 'carol'], '\n'],
      [['add', 'carol'], 'seven-7'],
      [['add', 'carol'], 'a'.repeat(MAX_PASSWORD_BYTES + 1)],
      [['add', 'carol'], Buffer.from([0x70, 0xff, 0xfe])],
      [['add', 'carol', '--role', 'root'], 'pw'],
      [['add'], 'pw'],
      [['add', 'carol', 'dave'], 'pw'],
      [['frobnicate'], ''],
      [['list', '--verbose'], ''],
      [['remove', 'carol', '--role', 'admin'], ''],
      [[], ''],
    ];
    const results = await Promise.all(cases.map(([args, input]) => users([...args, '--file', file], input)));
    results.forEach((result, i) => {
      const label = JSON.stringify(cases[i]![0]);
      assert.equal(result.code, 1, `${label}: ${result.stderr}`);
      assert.equal(result.stdout, '', label);
      assert.match(result.stderr, /^[^\n]+\n$/, label);
    });
    assert.match(results[0]!.stderr, /invalid user name "a b"/);
    assert.match(results[4]!.stderr, /at least 8 characters/);
    assert.match(results[5]!.stderr, /longer than 1024 bytes/);
    await assert.rejects(stat(file), { code: 'ENOENT' }, 'nothing was written');
  });

  it('accepts a password of exactly 1024 bytes whole', async () => {
    const file = freshPath();
    const password = 'p'.repeat(MAX_PASSWORD_BYTES - 1) + 'q';
    const result = await users(['add', 'long', '--file', file], `${password}\n`);
    assert.equal(result.code, 0, result.stderr);
    const [user] = await readUsers(file);
    assert.equal(await verifyPassword(user!.passwordHash, password), true);
    assert.equal(await verifyPassword(user!.passwordHash, 'p'.repeat(MAX_PASSWORD_BYTES)), false);
  });

  it('exits 4 when the users file is malformed, naming the bad line, and leaves it alone', async () => {
    const file = freshPath();
    await writeUsersFileAtomic(file, []);
    const broken = `${USERS_CSV_HEADER}\nalice,not-a-hash,user,2025-01-01T00:00:00Z,false\n`;
    await writeFile(file, broken);
    const attempts = [['list'], ['add', 'bob'], ['remove', 'alice']];
    const results = await Promise.all(
      attempts.map((args) => users([...args, '--file', file], 'pw-long-enough')),
    );
    for (const [i, result] of results.entries()) {
      assert.equal(result.code, 4, JSON.stringify(attempts[i]));
      assert.match(result.stderr, /users\.csv line 2: invalid password hash/);
    }
    assert.equal(await readFile(file, 'utf8'), broken);
    const missing = await users(['list', '--file', join(tempDir(), 'missing.csv')]);
    assert.equal(missing.code, 4);
    assert.match(missing.stderr, /cannot read the users file .*ENOENT/);
  });

  it('uses USERS_FILE from the environment when --file is not given', async () => {
    const file = freshPath();
    const env = { ...process.env, USERS_FILE: file };
    assert.equal((await users(['add', 'erin'], 'pw-long-enough', env)).code, 0);
    const list = await users(['list'], '', env);
    assert.match(list.stdout, /^erin\s+user\s/m);
  });

  it('prints usage for help', async () => {
    const result = await users(['help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /^Usage: npm run users -- <command>/);
  });

  it('keeps every user when 20 add processes run at once', async () => {
    const file = freshPath();
    await writeUsersFileAtomic(file, [
      {
        username: 'existing',
        passwordHash: await hashPassword('existing-pass'),
        role: 'admin',
        createdAt: new Date().toISOString(),
        disabled: false,
      },
    ]);
    const names = Array.from({ length: 20 }, (_, i) => `user${String(i).padStart(2, '0')}`);
    const results = await Promise.all(
      names.map((name) => users(['add', name, '--file', file], `pw-${name}\n`)),
    );
    for (const [i, result] of results.entries())
      assert.equal(result.code, 0, `${names[i]}: ${result.stderr}`);
    const stored = await readUsers(file);
    assert.deepEqual(stored.map((u) => u.username).sort(), ['existing', ...names].sort());
    assert.equal(await mode(file), 0o600);
    assert.deepEqual(await readdir(dirname(file)), ['users.csv']);
    const sample = stored.find((u) => u.username === 'user07')!;
    assert.equal(await verifyPassword(sample.passwordHash, 'pw-user07'), true);
  });
});

describe('users CLI password prompt on a terminal', () => {
  function terminal() {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let shown = '';
    stderr.setEncoding('utf8').on('data', (chunk: string) => (shown += chunk));
    stdout.resume();
    const waitForPrompt = async (prompt: string) => {
      for (let i = 0; i < 200 && !shown.includes(prompt); i += 1) await new Promise((r) => setTimeout(r, 5));
      assert.ok(
        shown.includes(prompt),
        `prompt ${JSON.stringify(prompt)} shown; got ${JSON.stringify(shown)}`,
      );
    };
    return {
      io: { stdin, stdout, stderr, environment: () => ({}) },
      stdin,
      shown: () => shown,
      waitForPrompt,
    };
  }

  it('asks twice without echoing and stores the password', async () => {
    const file = freshPath();
    const tty = terminal();
    const run = runUsersCli(['add', 'tty-user', '--file', file], tty.io);
    await tty.waitForPrompt('Password: ');
    tty.stdin.write('typed-secret\r');
    await tty.waitForPrompt('Repeat password: ');
    tty.stdin.write('typed-secret\r');
    assert.equal(await run, 0, tty.shown());
    assert.ok(!tty.shown().includes('typed-secret'), 'the password is not echoed');
    const [user] = await readUsers(file);
    assert.equal(await verifyPassword(user!.passwordHash, 'typed-secret'), true);
  });

  it('refuses with exit 1 when the two entries differ', async () => {
    const file = freshPath();
    const tty = terminal();
    const run = runUsersCli(['add', 'tty-user', '--file', file], tty.io);
    await tty.waitForPrompt('Password: ');
    tty.stdin.write('one-secret\r');
    await tty.waitForPrompt('Repeat password: ');
    tty.stdin.write('another-secret\r');
    assert.equal(await run, 1);
    assert.match(tty.shown(), /the passwords do not match\n$/);
    await assert.rejects(stat(file), { code: 'ENOENT' });
  });
});
