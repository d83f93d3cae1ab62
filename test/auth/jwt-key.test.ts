import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { call, forgeToken, randomKey, runTs, tokenFor } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';

const SECURE = { REQUIRE_HTTPS: 'true', REQUIRE_AUTH: 'true', AUTH_MAX_FAILURES: '1000' };

function keySource(server: RunningServer): unknown {
  return server.logs.find((line) => line.msg === 'JWT signing key ready')?.source;
}

describe('the JWT signing key', () => {
  const cleanup: string[] = [];
  after(async () => {
    for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
  });

  test('is generated into JWT_SECRET_FILE with mode 0600 when none is configured, and reused after a restart', async () => {
    const first = await startServer(SECURE);
    cleanup.push(first.dir);
    let token: string;
    let keyText: string;
    try {
      assert.equal(keySource(first), 'generated');
      const mode = (await stat(first.config.jwtSecretFile)).mode & 0o777;
      assert.equal(mode.toString(8), '600');
      keyText = (await readFile(first.config.jwtSecretFile, 'utf8')).trim();
      assert.ok(Buffer.byteLength(keyText) >= 32, `generated key has ${Buffer.byteLength(keyText)} bytes`);
      token = await tokenFor(first, 'user1', 'password123');
    } finally {
      await first.stop();
    }

    const second = await startServer(SECURE, { dir: first.dir });
    try {
      assert.equal(keySource(second), 'file');
      assert.equal(
        (await readFile(second.config.jwtSecretFile, 'utf8')).trim(),
        keyText,
        'the key file is not rewritten',
      );
      const me = await call(second, 'GET', '/auth/me', { token });
      assert.equal(me.status, 200, `a token from before the restart must verify: ${me.text}`);
      assert.deepEqual(me.json, { username: 'user1', role: 'user' });
      // The file's content is the key itself: a token signed with it is accepted.
      const own = await forgeToken(keyText, { sub: 'admin', role: 'admin' });
      assert.equal((await call(second, 'GET', '/auth/me', { token: own })).status, 200);
    } finally {
      await second.stop();
    }
  });

  test('comes from JWT_SECRET_KEY when set, and then no key file is written', async () => {
    const key = randomKey();
    const server = await startServer({ ...SECURE, JWT_SECRET_KEY: key });
    cleanup.push(server.dir);
    try {
      assert.equal(keySource(server), 'JWT_SECRET_KEY');
      assert.equal(existsSync(server.config.jwtSecretFile), false);
      const forged = await forgeToken(key, { sub: 'user2' });
      assert.deepEqual((await call(server, 'GET', '/auth/me', { token: forged })).json, {
        username: 'user2',
        role: 'user',
      });
    } finally {
      await server.stop();
    }
  });

  test('loadConfig refuses a JWT_SECRET_KEY or SECRET_KEY shorter than 32 bytes, naming the variable and not the value', () => {
    for (const [name, value] of [
      ['JWT_SECRET_KEY', 'k'.repeat(31)],
      ['JWT_SECRET_KEY', 'short-but-unique-secret'],
      ['SECRET_KEY', 's'.repeat(31)],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, new RegExp(name));
          assert.ok(!error.message.includes(value), 'the secret itself is not echoed');
          assert.equal(error.message.split('\n').length, 1);
          return true;
        },
        `${name} of ${value.length} bytes`,
      );
    }
    assert.equal(loadConfig({ JWT_SECRET_KEY: 'k'.repeat(32) }).jwtSecretKey, 'k'.repeat(32));
    // Bytes, not characters: 16 two-byte characters are 32 bytes, 15 are not enough.
    assert.doesNotThrow(() => loadConfig({ JWT_SECRET_KEY: 'é'.repeat(16) }));
    assert.throws(() => loadConfig({ JWT_SECRET_KEY: `${'é'.repeat(15)}x` }), ConfigError);
  });

  test('a server process with a short JWT_SECRET_KEY exits 1 with one line naming the variable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'signaling-shortkey-'));
    cleanup.push(dir);
    const secret = 'only-twenty-six-bytes-long';
    const run = runTs('src/main.ts', [], {
      cwd: dir,
      env: { ...SECURE, DEBUG: 'false', HOST: '127.0.0.1', PORT: '0', JWT_SECRET_KEY: secret },
    });
    try {
      const exit = await run.exited;
      assert.equal(exit.code, 1, `stdout: ${run.stdout}\nstderr: ${run.stderr}`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0]!, /JWT_SECRET_KEY/);
      assert.match(lines[0]!, /32 bytes/);
      assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret), 'the secret is not echoed');
      assert.doesNotMatch(run.stdout, /listening/);
      assert.equal(
        existsSync(join(dir, 'users.csv')),
        false,
        'nothing is created before the configuration is valid',
      );
    } finally {
      run.child.kill('SIGKILL');
    }
  });
});

describe('a generated JWT key and concurrent start-ups', () => {
  test('two instances starting at once each generated a different key: the file is created exclusively and re-read', async () => {
    const { resolveJwtKey } = await import('../../src/auth/jwt-key.js');
    const dir = await mkdtemp(join(tmpdir(), 'jwt-race-'));
    try {
      for (let round = 0; round < 5; round += 1) {
        const jwtSecretFile = join(dir, `.jwt_secret_${round}`);
        const config = { jwtSecretKey: null, secretKey: null, jwtSecretFile };
        const keys = await Promise.all(Array.from({ length: 8 }, () => resolveJwtKey(config)));
        const texts = new Set(keys.map((k) => Buffer.from(k.secret).toString('utf8')));
        assert.equal(texts.size, 1, `round ${round}: ${texts.size} different keys`);
        assert.equal((await readFile(jwtSecretFile, 'utf8')).trim(), [...texts][0]);
        assert.equal(keys.filter((k) => k.source === 'generated').length, 1, 'exactly one generated it');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
