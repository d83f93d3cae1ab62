import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { hashPassword } from '../src/auth/password-hasher.js';
import { parseUsersCsv } from '../src/auth/users-csv.js';
import { updateUsersFile } from '../src/auth/users-file.js';
import { prepareResources, StartupError } from '../src/bootstrap.js';
import { type Config, loadConfig } from '../src/config/config.js';
import { login, randomKey, runTs } from './helpers/secure.js';
import { startServer } from './helpers/server.js';

const PLACEHOLDER = 'your-secret-key-here';
// Long enough for the 32-byte rule, so only the placeholder check can refuse it.
const LONG_PLACEHOLDER = 'your-secret-key-change-this-in-production';

/** A production (DEBUG=false) secure environment with every file in `dir`, for a child process too. */
function productionEnv(dir: string, env: Record<string, string>): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    DEBUG: 'false',
    REQUIRE_HTTPS: 'true',
    REQUIRE_AUTH: 'true',
    USERS_FILE: join(dir, 'users.csv'),
    SSL_CERTFILE: join(dir, 'ssl', 'server.crt'),
    SSL_KEYFILE: join(dir, 'ssl', 'server.key'),
    JWT_SECRET_FILE: join(dir, '.jwt_secret'),
    ...env,
  };
}

/** The configuration of `productionEnv`. */
function productionConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig(productionEnv(dir, env));
}

const silent = pino({ level: 'silent' });

/** Writes a users file holding exactly `users` (passwords hashed as the server does). */
async function writeUsers(
  path: string,
  users: { username: string; password: string; role: 'admin' | 'user' }[],
): Promise<void> {
  const records = await Promise.all(
    users.map(async (u) => ({
      username: u.username,
      passwordHash: await hashPassword(u.password),
      role: u.role,
      createdAt: new Date().toISOString(),
      disabled: false,
    })),
  );
  await updateUsersFile(path, () => records);
}

/** Runs `node --import tsx src/main.ts` and expects exit 1 with exactly one stderr line. */
async function expectRefusal(dir: string, env: Record<string, string>): Promise<string> {
  const run = runTs('src/main.ts', [], { cwd: dir, env: productionEnv(dir, env) });
  try {
    const exit = await run.exited;
    assert.equal(exit.code, 1, `exit ${exit.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line expected, got:\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /\bat .*\(.*:\d+:\d+\)|StartupError:|\n\s+at /, 'no stack trace');
    assert.doesNotMatch(run.stdout, /listening/);
    return lines[0]!;
  } finally {
    run.child.kill('SIGKILL');
  }
}

describe('production mode (DEBUG=false)', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signaling-prod-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  /** A production start with exactly `users` in the users file: the StartupError's message. */
  const defaultPasswordRefusal = async (users: Parameters<typeof writeUsers>[1]) => {
    const dir = await tempDir();
    const config = productionConfig(dir, { JWT_SECRET_KEY: randomKey() });
    await writeUsers(config.usersFile, users);
    let message = '';
    await assert.rejects(
      prepareResources(config, silent, () => {}),
      (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        message = error.message;
        return true;
      },
    );
    return { dir, message };
  };

  test('prepareResources refuses a placeholder SECRET_KEY or JWT_SECRET_KEY with a StartupError naming it, creating nothing', async () => {
    const dir = await tempDir();
    const base = productionConfig(dir);
    for (const [name, field, value] of [
      ['JWT_SECRET_KEY', 'jwtSecretKey', PLACEHOLDER],
      ['SECRET_KEY', 'secretKey', PLACEHOLDER],
      ['JWT_SECRET_KEY', 'jwtSecretKey', LONG_PLACEHOLDER],
      ['SECRET_KEY', 'secretKey', LONG_PLACEHOLDER],
    ] as const) {
      // `your-secret-key-here` is also under 32 bytes, which loadConfig refuses first; build the
      // config around that check so the placeholder check itself is what answers.
      const config = Object.freeze({ ...base, [field]: value });
      await assert.rejects(
        prepareResources(config, silent, () => {}),
        (error: unknown) => {
          assert.ok(error instanceof StartupError, String(error));
          assert.match(error.message, new RegExp(`^${name} `));
          assert.match(error.message, /placeholder/);
          return true;
        },
      );
    }
    assert.equal(existsSync(base.usersFile), false, 'no users file was created');
    assert.equal(existsSync(base.jwtSecretFile), false, 'no key was generated');
    assert.equal(existsSync(base.sslKeyfile), false, 'no certificate was generated');
  });

  test('prepareResources refuses SECRET_KEY=your-secret-key-here beside a good JWT_SECRET_KEY', async () => {
    // Here loadConfig's 32-byte rule does not apply to SECRET_KEY (JWT_SECRET_KEY is the JWT key),
    // so only the placeholder check stands between the operator and a guessable secret.
    const dir = await tempDir();
    const config = productionConfig(dir, { JWT_SECRET_KEY: randomKey(), SECRET_KEY: PLACEHOLDER });
    await assert.rejects(
      prepareResources(config, silent, () => {}),
      (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, /^SECRET_KEY is a placeholder/);
        return true;
      },
    );
  });

  test('a server process with a placeholder secret exits 1 with one line and no stack trace', async () => {
    const [jwtKey, secretKey] = await Promise.all([
      tempDir().then((dir) => expectRefusal(dir, { JWT_SECRET_KEY: PLACEHOLDER })),
      tempDir().then((dir) => expectRefusal(dir, { JWT_SECRET_KEY: randomKey(), SECRET_KEY: PLACEHOLDER })),
    ]);
    assert.match(jwtKey, /JWT_SECRET_KEY/);
    assert.ok(!jwtKey.includes(PLACEHOLDER), 'the secret is not echoed');
    assert.match(secretKey, /\bSECRET_KEY\b/);
    assert.match(secretKey, /placeholder/);
  });

  test('refuses a malformed users file, naming each bad line, in-process and as a process', async () => {
    const dir = await tempDir();
    const config = productionConfig(dir, { JWT_SECRET_KEY: randomKey() });
    await writeUsers(config.usersFile, [{ username: 'admin', password: 'a-real-password-1', role: 'admin' }]);
    const good = (await readFile(config.usersFile, 'utf8')).trimEnd().split('\n');
    // line 1 header, line 2 admin, line 3 bad role, line 4 fine, line 5 too few columns
    const lines = [
      good[0]!,
      good[1]!,
      good[1]!.replace(/^admin,/, 'eve,').replace(',admin,', ',root,'),
      good[1]!.replace(/^admin,/, 'frank,').replace(',admin,', ',user,'),
      'mallory,not-a-hash',
    ];
    await writeFile(config.usersFile, `${lines.join('\n')}\n`);
    await assert.rejects(
      prepareResources(config, silent, () => {}),
      (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, /line 3/);
        assert.match(error.message, /line 5/);
        assert.doesNotMatch(error.message, /line [124]\b/);
        return true;
      },
    );
    const run = runTs('src/main.ts', [], {
      cwd: dir,
      env: productionEnv(dir, { JWT_SECRET_KEY: randomKey() }),
    });
    try {
      assert.equal((await run.exited).code, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /line 3/);
      assert.match(run.stderr, /line 5/);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  test('refuses to start while admin still has the password admin123', async () => {
    const { dir, message } = await defaultPasswordRefusal([
      { username: 'admin', password: 'admin123', role: 'admin' },
      { username: 'carol', password: 'a-real-password-9', role: 'user' },
    ]);
    assert.match(message, /\badmin\b/);
    assert.doesNotMatch(message, /carol/);
    assert.ok(!message.includes('admin123'), 'the password itself is not printed');
    const line = await expectRefusal(dir, { JWT_SECRET_KEY: randomKey() });
    assert.match(line, /\badmin\b/);
    assert.match(line, /default password/);

    // The same file is fine for development.
    const dev = await startServer(
      { REQUIRE_HTTPS: 'true', REQUIRE_AUTH: 'true', JWT_SECRET_KEY: randomKey() },
      { dir },
    );
    await dev.stop();
  });

  test('refuses to start with the development users file, naming every default-password user', async () => {
    const { message } = await defaultPasswordRefusal([
      { username: 'admin', password: 'changed-admin-password', role: 'admin' },
      { username: 'user1', password: 'password123', role: 'user' },
      { username: 'user2', password: 'password123', role: 'user' },
    ]);
    assert.match(message, /user1/);
    assert.match(message, /user2/);
    assert.doesNotMatch(message, /\badmin\b/);
  });

  test('first run creates only admin with a random password printed once, which logs in', async () => {
    const server = await startServer({
      DEBUG: 'false',
      REQUIRE_HTTPS: 'true',
      REQUIRE_AUTH: 'true',
      JWT_SECRET_KEY: randomKey(),
    });
    dirs.push(server.dir);
    let password: string;
    try {
      assert.equal(server.printed.length, 1, JSON.stringify(server.printed));
      password = /"admin".*: (\S+)$/.exec(server.printed[0]!)?.[1] ?? '';
      assert.ok(password.length >= 16, `printed: ${server.printed[0]}`);

      const text = await readFile(server.config.usersFile, 'utf8');
      const parsed = parseUsersCsv(text);
      assert.ok('users' in parsed);
      assert.deepEqual(
        parsed.users.map((u) => [u.username, u.role, u.disabled]),
        [['admin', 'admin', false]],
      );
      assert.ok(!text.includes(password), 'stored only hashed');
      assert.ok(!JSON.stringify(server.logs).includes(password), 'never logged');

      const ok = await login(server, 'admin', password);
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await login(server, 'admin', 'admin123')).status, 401);
      assert.equal((await login(server, 'user1', 'password123')).status, 401);
    } finally {
      await server.stop();
    }

    const again = await startServer(
      { DEBUG: 'false', REQUIRE_HTTPS: 'true', REQUIRE_AUTH: 'true', JWT_SECRET_KEY: randomKey() },
      { dir: server.dir },
    );
    try {
      assert.deepEqual(again.printed, [], 'the password is shown only on the first run');
      assert.equal((await login(again, 'admin', password)).status, 200);
    } finally {
      await again.stop();
    }
  });

  test('with DEBUG=true the first run creates the three documented development users', async () => {
    const server = await startServer({
      DEBUG: 'true',
      REQUIRE_HTTPS: 'true',
      REQUIRE_AUTH: 'true',
      JWT_SECRET_KEY: randomKey(),
    });
    dirs.push(server.dir);
    try {
      assert.deepEqual(server.printed, []);
      const parsed = parseUsersCsv(await readFile(server.config.usersFile, 'utf8'));
      assert.ok('users' in parsed);
      assert.deepEqual(parsed.users.map((u) => [u.username, u.role]).sort(), [
        ['admin', 'admin'],
        ['user1', 'user'],
        ['user2', 'user'],
      ]);
      for (const [username, password, role] of [
        ['admin', 'admin123', 'admin'],
        ['user1', 'password123', 'user'],
        ['user2', 'password123', 'user'],
      ] as const) {
        const answer = await login(server, username, password);
        assert.equal(answer.status, 200, `${username}: ${answer.text}`);
        const payload = JSON.parse(
          Buffer.from((answer.json.access_token as string).split('.')[1]!, 'base64url').toString(),
        ) as { role: string };
        assert.equal(payload.role, role);
      }
    } finally {
      await server.stop();
    }
  });
});
