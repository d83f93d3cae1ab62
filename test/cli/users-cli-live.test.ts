import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../helpers/measure.js';
import { call, login, randomKey, runTs, secureEnv } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

describe('the users CLI against a running secure server', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];

  /** `node --import tsx src/cli/users.ts --file <the server's users.csv> ...args`, password on stdin. */
  const users = async (args: readonly string[], input = '') => {
    const run = runTs('src/cli/users.ts', ['--file', server.config.usersFile, ...args], {
      cwd: server.dir,
      env: {},
      input,
    });
    const exit = await run.exited;
    return { code: exit.code, stdout: run.stdout, stderr: run.stderr };
  };
  const loginStatus = async (username: string, password: string) =>
    (await login(server, username, password)).status;

  before(async () => {
    server = await startServer(secureEnv(randomKey()));
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
    await rm(server.dir, { recursive: true, force: true });
  });

  test('add, passwd and remove take effect on the running server without a restart', async () => {
    const first = 'alice-first-Passw0rd';
    const second = 'alice-second-Passw0rd';
    assert.equal(await loginStatus('alice', first), 401);

    const added = await users(['add', 'alice'], `${first}\n`);
    assert.equal(added.code, 0, added.stderr);
    await waitFor(
      'alice can log in after add',
      async () => (await loginStatus('alice', first)) === 200,
      8000,
    );
    const token = (await login(server, 'alice', first)).json.access_token as string;
    assert.deepEqual((await call(server, 'GET', '/auth/me', { token })).json, {
      username: 'alice',
      role: 'user',
    });

    const changed = await users(['passwd', 'alice'], `${second}\n`);
    assert.equal(changed.code, 0, changed.stderr);
    await waitFor(
      'the new password works after passwd',
      async () => (await loginStatus('alice', second)) === 200,
      8000,
    );
    assert.equal(await loginStatus('alice', first), 401, 'the old password is refused');

    const removed = await users(['remove', 'alice']);
    assert.equal(removed.code, 0, removed.stderr);
    await waitFor(
      'alice cannot log in after remove',
      async () => (await loginStatus('alice', second)) === 401,
      8000,
    );
    assert.equal(await loginStatus('alice', first), 401);

    // A token issued before the removal no longer opens anything.
    assert.equal((await call(server, 'GET', '/auth/me', { token })).status, 401);
    const ws = new TestClient(`${server.wsUrl}/ws/after-remove?token=${encodeURIComponent(token)}`);
    clients.push(ws);
    assert.equal((await ws.closed).code, 4401);

    for (const output of [added, changed, removed]) {
      assert.ok(
        !(output.stdout + output.stderr).includes(first) && !(output.stdout + output.stderr).includes(second),
      );
    }
  });
});
