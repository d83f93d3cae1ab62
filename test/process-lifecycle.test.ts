import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnServer } from './helpers/server-process.js';
import { joinRoom } from './helpers/ws-client.js';

const DEV = { REQUIRE_HTTPS: 'false', REQUIRE_AUTH: 'false', DEBUG: 'false' };

describe('server process', () => {
  test('on SIGTERM closes every WebSocket with 1001 and exits 0 within 10 seconds', async () => {
    const server = await spawnServer(DEV);
    try {
      const port = await server.ready;
      const a = await joinRoom(`ws://127.0.0.1:${port}`, 'shutdown');
      const b = await joinRoom(`ws://127.0.0.1:${port}`, 'shutdown');
      const started = Date.now();
      server.child.kill('SIGTERM');
      const [closeA, closeB, exit] = await Promise.all([a.client.closed, b.client.closed, server.exited]);
      assert.equal(closeA.code, 1001);
      assert.equal(closeB.code, 1001);
      assert.deepEqual(exit, { code: 0, signal: null });
      assert.ok(Date.now() - started < 10_000);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('on 0.0.0.0 it prints a URL a person can open (localhost, then LAN addresses), as JSON lines with no colour codes when output is not a terminal', async () => {
    for (const debug of ['false', 'true']) {
      const server = await spawnServer({ ...DEV, DEBUG: debug, HOST: '0.0.0.0' });
      try {
        const port = await server.ready;
        const out = server.stdout();
        assert.match(out, new RegExp(`listening on http://localhost:${port}/`));
        assert.doesNotMatch(out, /0\.0\.0\.0:\d+\//, 'no unopenable 0.0.0.0 URL');
        assert.equal(out.includes('\u001b['), false, `no ANSI colour codes in a file (DEBUG=${debug})`);
        if (debug === 'false') {
          const line = out.split('\n').find((l) => l.includes('listening on'));
          assert.equal(JSON.parse(line ?? '').url, `http://localhost:${port}/`, 'JSON lines');
        }
      } finally {
        server.child.kill('SIGKILL');
      }
    }
  });

  test('on SIGINT exits 0', async () => {
    const server = await spawnServer(DEV);
    try {
      await server.ready;
      server.child.kill('SIGINT');
      assert.deepEqual(await server.exited, { code: 0, signal: null });
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  test('a bad value stops start-up with one line naming the variable, exit 1 and no stack trace', async () => {
    const server = await spawnServer({ ...DEV, PORT: 'eighty', MAX_CONNECTIONS_PER_IP: 'lots' });
    const exit = await server.exited;
    assert.equal(exit.code, 1);
    const lines = server.stderr().trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(server.stderr(), /PORT="eighty": expected a whole number/);
    assert.match(server.stderr(), /MAX_CONNECTIONS_PER_IP="lots"/);
    assert.doesNotMatch(server.stderr(), /\n\s+at /);
  });

  test('reads .env from the working directory, and the environment wins over it', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'signaling-env-'));
    await writeFile(
      join(dir, '.env'),
      'REQUIRE_HTTPS=false\nREQUIRE_AUTH=false\nDEBUG=false\nMAX_CONNECTIONS_PER_ROOM=lots\n',
    );
    const bad = await spawnServer({}, dir);
    assert.equal((await bad.exited).code, 1);
    assert.match(bad.stderr(), /MAX_CONNECTIONS_PER_ROOM="lots"/);
    const good = await spawnServer({ MAX_CONNECTIONS_PER_ROOM: '4' }, dir);
    try {
      const port = await good.ready;
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      assert.equal(res.status, 200);
    } finally {
      good.child.kill('SIGTERM');
      await good.exited;
    }
  });

  test('warns about variables in .env it does not read, suggesting the name a typo meant', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'signaling-env-'));
    await writeFile(
      join(dir, '.env'),
      'REQUIRE_HTTPS=false\nREQUIRE_AUTH=false\nRATE_LIMIT_PER_MINIT=5\nMY_APP_SETTING=1\n',
    );
    const server = await spawnServer({ DEBUG: 'false' }, dir);
    try {
      await server.ready;
      const warning = server
        .stdout()
        .split('\n')
        .find((line) => line.includes('.env sets variables'));
      assert.ok(warning, server.stdout());
      assert.match(warning, /RATE_LIMIT_PER_MINIT \(did you mean RATE_LIMIT_PER_MINUTE\?\)/);
      assert.match(warning, /MY_APP_SETTING/);
      assert.doesNotMatch(warning, /REQUIRE_HTTPS/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
