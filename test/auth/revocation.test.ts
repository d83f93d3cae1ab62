import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { readUsersFile } from '../../src/auth/users-file.js';
import { runUsersCli, USERS_CLI_EXIT } from '../../src/cli/users.js';
import { sleep, within } from '../helpers/measure.js';
import { call, randomKey, tokenFor } from '../helpers/secure.js';
import { type RunningServer, withServer } from '../helpers/server.js';
import { joinRoom } from '../helpers/ws-client.js';

const AUTH = { REQUIRE_AUTH: 'true', JWT_SECRET_KEY: randomKey(), AUTH_MAX_FAILURES: '1000' };

/** `npm run users -- <args> --file <the server's users file>`, in-process, `input` on stdin. */
async function users(
  server: RunningServer,
  args: string[],
  input = '',
): Promise<{ code: number; stderr: string }> {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const code = await runUsersCli([...args, '--file', server.config.usersFile], {
    stdin: Readable.from([input]),
    stdout: new PassThrough(),
    stderr,
    environment: () => ({}),
  });
  return { code, stderr: text };
}

async function meStatus(server: RunningServer, token: string): Promise<number> {
  return (await call(server, 'GET', '/auth/me', { token })).status;
}

describe('revoking access when the users file changes', () => {
  test('users passwd left earlier tokens valid: tokens issued before the change are refused, new ones work', async () => {
    await withServer(AUTH, async (server) => {
      const before = await tokenFor(server, 'user1', 'password123');
      assert.equal(await meStatus(server, before), 200);
      await sleep(1100); // tokens carry whole seconds; the change must be in a later second
      const changed = await users(server, ['passwd', 'user1'], 'a-new-Passw0rd\n');
      assert.equal(changed.code, USERS_CLI_EXIT.ok, changed.stderr);
      const record = (await readUsersFile(server.config.usersFile)).find((u) => u.username === 'user1');
      assert.ok(record?.passwordChangedAt, 'the change time is kept');
      await server.app.reload();
      assert.equal(await meStatus(server, before), 401, 'the old token is refused');
      const after = await tokenFor(server, 'user1', 'a-new-Passw0rd');
      assert.equal(await meStatus(server, after), 200, 'a token issued after the change is fine');
      assert.equal(await meStatus(server, await tokenFor(server, 'user2', 'password123')), 200);
    });
  });

  test("disable and remove left the user's open WebSockets connected: they are closed with 4401 within seconds", async () => {
    await withServer(AUTH, async (server, track) => {
      const open = async (username: string, password: string) => {
        const token = await tokenFor(server, username, password);
        return track((await joinRoom(server.wsUrl, 'revoked', { token })).client);
      };
      const disabled = await open('user1', 'password123');
      const removed = await open('user2', 'password123');
      const bystander = await open('admin', 'admin123');

      assert.equal((await users(server, ['disable', 'user1'])).code, USERS_CLI_EXIT.ok);
      const closedDisabled = await within(disabled.closed, 5000, 'the disabled user is disconnected');
      assert.equal(closedDisabled.code, 4401);

      assert.equal((await users(server, ['remove', 'user2'])).code, USERS_CLI_EXIT.ok);
      const closedRemoved = await within(removed.closed, 5000, 'the removed user is disconnected');
      assert.equal(closedRemoved.code, 4401);

      await bystander.expectAlive();
    });
  });

  test('users passwd closes the sockets opened with tokens issued before the change', async () => {
    await withServer(AUTH, async (server, track) => {
      const token = await tokenFor(server, 'user1', 'password123');
      const client = track((await joinRoom(server.wsUrl, 'passwd', { token })).client);
      await sleep(1100);
      assert.equal((await users(server, ['passwd', 'user1'], 'another-Passw0rd\n')).code, USERS_CLI_EXIT.ok);
      const closed = await within(client.closed, 5000, 'the socket of the old token is closed');
      assert.equal(closed.code, 4401);
    });
  });

  test('users remove and disable could remove the last admin: they are refused', async () => {
    await withServer(AUTH, async (server) => {
      const removeLast = await users(server, ['remove', 'admin']);
      assert.equal(removeLast.code, USERS_CLI_EXIT.lastAdmin);
      assert.match(removeLast.stderr, /last (enabled )?admin/);
      assert.equal((await users(server, ['disable', 'admin'])).code, USERS_CLI_EXIT.lastAdmin);
      const names = (await readUsersFile(server.config.usersFile)).map((u) => `${u.username}:${u.disabled}`);
      assert.deepEqual(names, ['admin:false', 'user1:false', 'user2:false'], 'the file is untouched');

      const add = await users(server, ['add', 'root', '--role', 'admin'], 'root-Passw0rd-1\n');
      assert.equal(add.code, USERS_CLI_EXIT.ok, add.stderr);
      assert.equal(
        (await users(server, ['disable', 'admin'])).code,
        USERS_CLI_EXIT.ok,
        'another admin remains',
      );
      assert.equal((await users(server, ['remove', 'root'])).code, USERS_CLI_EXIT.lastAdmin);
    });
  });
});
