import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { PeerOptions } from 'peerjs';
import type { Browser, Page } from 'playwright-core';
import type { PeerjsPageApi } from '../helpers/browser-pages/peerjs-page.js';
import { chromiumMissing, newContext } from '../helpers/chromium.js';
import { type DialectPages, useDialectBrowser } from '../helpers/dialect-pages.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { randomKey, secureEnv, tokenFor } from '../helpers/secure.js';
import type { RunningServer } from '../helpers/server.js';

// The real peerjs 1.5 client in Chromium, on a page of another origin (as apps embed it), pointed at
// our server with the documented two-line change: new Peer({ host, port, path, token }).
const WAIT_MS = 20_000;
const hasRedis = await redisReachable();

const fixture = useDialectBrowser();
const { start } = fixture;

/** The options an app passes to `new Peer`: our server, no ICE servers (nothing leaves the machine). */
function peerOptions(server: RunningServer, token?: string): PeerOptions {
  return {
    host: '127.0.0.1',
    port: server.port,
    path: '/peerjs',
    secure: server.url.startsWith('https:'),
    config: { iceServers: [] },
    ...(token ? { token } : {}),
  };
}

/** A PeerJS page in a context of its own (another user's browser). */
async function peerPage(b: Browser, p: DialectPages): Promise<Page> {
  const page = await (await newContext(b)).newPage();
  await page.goto(p.url('peerjs'));
  await page.waitForFunction(() => 'dialectTest' in window);
  return page;
}

async function describePage(page: Page): Promise<string> {
  return page
    .evaluate(() => {
      const t = (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest;
      return `received: ${JSON.stringify(t.received)} errors: ${JSON.stringify(t.errors)}`;
    })
    .catch((error: unknown) => String(error));
}

/**
 * Alice gets her id from the server (GET /peerjs/peerjs/id, cross-origin), Bob chooses his; Bob
 * opens a DataConnection to Alice and they exchange a message each way.
 */
async function call(t: TestContext, one: RunningServer, two: RunningServer, token?: string): Promise<void> {
  if (!fixture.browser || !fixture.pages) return t.skip(chromiumMissing ?? 'setup failed');
  const [alice, bob] = await Promise.all([
    peerPage(fixture.browser, fixture.pages),
    peerPage(fixture.browser, fixture.pages),
  ]);
  try {
    const aliceId = await alice.evaluate(
      (options) => (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.open(null, options),
      peerOptions(one, token),
    );
    assert.match(aliceId, /^[0-9a-f-]{36}$/);
    const bobId = `bob ${Math.random().toString(36).slice(2, 8)}`;
    assert.equal(
      await bob.evaluate(
        ([id, options]) =>
          (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.open(id, options),
        [bobId, peerOptions(two, token)] as const,
      ),
      bobId,
    );
    await bob.evaluate(
      (id) => (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.connect(id),
      aliceId,
    );
    await bob.evaluate(() =>
      (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.send('hi alice'),
    );
    await alice.waitForFunction(
      () => (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.received.includes('hi alice'),
      undefined,
      { timeout: WAIT_MS },
    );
    await alice.evaluate(() =>
      (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.send('hi bob'),
    );
    await bob.waitForFunction(
      () => (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.received.includes('hi bob'),
      undefined,
      { timeout: WAIT_MS },
    );
  } catch (error) {
    t.diagnostic(`alice: ${await describePage(alice)}\nbob: ${await describePage(bob)}`);
    throw error;
  } finally {
    await Promise.all([alice.context().close(), bob.context().close()]);
  }
}

test('two peerjs clients open a DataConnection through our server and exchange messages', {
  timeout: 60_000,
}, async (t) => {
  if (chromiumMissing) return t.skip(chromiumMissing);
  const server = await start({});
  await call(t, server, server);
});

test('peerjs clients on two instances of a Redis fleet connect to each other', {
  timeout: 60_000,
  skip: hasRedis ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, async (t) => {
  if (chromiumMissing) return t.skip(chromiumMissing);
  const env = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: `peerjs-browser-${process.pid}-${Date.now()}:` };
  const [one, two] = await Promise.all([start(env), start(env)]);
  await call(t, one, two);
});

test('secure mode (HTTPS, REQUIRE_AUTH): with our JWT as the PeerJS token they connect; without, ERROR', {
  timeout: 60_000,
}, async (t) => {
  if (chromiumMissing || !fixture.browser || !fixture.pages) return t.skip(chromiumMissing ?? 'setup failed');
  const server = await start(secureEnv(randomKey(), { AUTH_MAX_FAILURES: '5' }));
  await call(t, server, server, await tokenFor(server, 'user1', 'password123'));

  const anonymous = await peerPage(fixture.browser, fixture.pages);
  try {
    const refused = await anonymous.evaluate(
      (options) =>
        (window as unknown as { dialectTest: PeerjsPageApi }).dialectTest.open('anon', options).then(
          () => 'opened',
          (error: Error) => error.message,
        ),
      peerOptions(server),
    );
    assert.match(refused, /^server-error: .*token/);
    assert.equal(server.app.diagnostics.securityEvents('auth_failed'), 0);
  } finally {
    await anonymous.context().close();
  }
});
