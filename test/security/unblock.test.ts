import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../helpers/measure.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { login, runTs } from '../helpers/secure.js';
import { type RunningServer, startServer, withServer } from '../helpers/server.js';

const hasRedis = await redisReachable();
const LIMITS = { AUTH_MAX_FAILURES: '2', AUTH_BLOCK_SECONDS: '900' };
const ADDRESS = '127.0.0.9';

/** Two bad logins from ADDRESS: it is blocked for 15 minutes, and the 429 says how to lift it. */
async function blockAddress(server: RunningServer): Promise<void> {
  for (const guess of ['wrong-guess-1', 'wrong-guess-2'])
    assert.equal((await login(server, 'user1', guess, ADDRESS)).status, 401);
  const refused = await login(server, 'user1', 'password123', ADDRESS);
  assert.equal(refused.status, 429);
  assert.match(String(refused.json.detail), /npm run users -- unblock <address>/);
}

/** `npm run users -- unblock ADDRESS` as a real process against the server's users file. */
async function unblockWithCli(server: RunningServer): Promise<void> {
  const run = runTs('src/cli/users.ts', ['unblock', ADDRESS, '--file', server.config.usersFile], {
    cwd: server.dir,
    env: {},
  });
  const { code } = await run.exited;
  assert.equal(code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`unblock ${ADDRESS.replaceAll('.', '\\.')}`));
}

describe('locked out of your own server: npm run users -- unblock ADDRESS', () => {
  test('lifts a 15-minute block within a few seconds, without a restart, and logs who was unblocked', async () => {
    await withServer(LIMITS, async (server) => {
      await blockAddress(server);
      await unblockWithCli(server);
      await waitFor(
        'the block to be lifted',
        async () => !(await server.app.diagnostics.isBlocked(ADDRESS)),
        5000,
      );
      assert.equal((await login(server, 'user1', 'password123', ADDRESS)).status, 200);
      assert.equal(server.app.diagnostics.securityEvents('ip_unblocked'), 1);
    });
  });

  test('refuses something that is not an IP address, exit 1', async () => {
    const run = runTs('src/cli/users.ts', ['unblock', 'not-an-ip', '--file', '/tmp/none.csv'], {
      cwd: '/tmp',
      env: {},
    });
    assert.equal((await run.exited).code, 1);
    assert.match(run.stderr, /invalid IP address "not-an-ip"/);
  });

  test('in a fleet, the block is lifted for every instance (it lives in Redis)', {
    skip: hasRedis ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
  }, async () => {
    const env = {
      ...LIMITS,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `unblock-${process.pid}-${Date.now()}:`,
    };
    const one = await startServer(env);
    const two = await startServer(env);
    try {
      await blockAddress(one);
      assert.equal((await login(two, 'user1', 'password123', ADDRESS)).status, 429, 'blocked on both');
      await unblockWithCli(one);
      await waitFor(
        'the block to be lifted',
        async () => !(await two.app.diagnostics.isBlocked(ADDRESS)),
        5000,
      );
      assert.equal((await login(two, 'user1', 'password123', ADDRESS)).status, 200);
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});
