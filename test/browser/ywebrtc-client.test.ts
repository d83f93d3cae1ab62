import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { YwebrtcPageApi } from '../helpers/browser-pages/ywebrtc-page.js';
import { chromiumMissing, newContext } from '../helpers/chromium.js';
import { type DialectPages, useDialectBrowser } from '../helpers/dialect-pages.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { randomKey, secureEnv, tokenFor } from '../helpers/secure.js';

// The real yjs + y-webrtc 10 clients in Chromium, pointed at our server with the documented change:
// new WebrtcProvider(room, doc, { signaling: [url] }). Each page has a browser context of its own,
// so the docs cannot sync through BroadcastChannel, and the test checks the WebRTC connection too.
const WAIT_MS = 20_000;
const hasRedis = await redisReachable();

const fixture = useDialectBrowser();
const { start } = fixture;

async function docPage(b: Browser, p: DialectPages, room: string, url: string): Promise<Page> {
  const page = await (await newContext(b)).newPage();
  await page.goto(p.url('y-webrtc'));
  await page.waitForFunction(() => 'dialectTest' in window);
  await page.evaluate(
    ([r, u]) => (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.start(r, u),
    [room, url] as const,
  );
  return page;
}

async function describePage(page: Page): Promise<string> {
  return page
    .evaluate(() => {
      const t = (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest;
      return `signaling: ${t.signalingConnected()} webrtc peers: ${t.webrtcPeers()} value: ${t.get('greeting')}`;
    })
    .catch((error: unknown) => String(error));
}

/** Two pages share one Y.Doc: each writes, the other sees it, over a WebRTC connection. */
async function share(t: TestContext, urlA: string, urlB: string): Promise<void> {
  if (!fixture.browser || !fixture.pages) return t.skip(chromiumMissing ?? 'setup failed');
  const room = `doc-${Math.random().toString(36).slice(2)}`;
  const a = await docPage(fixture.browser, fixture.pages, room, urlA);
  const b = await docPage(fixture.browser, fixture.pages, room, urlB);
  try {
    for (const page of [a, b])
      await page.waitForFunction(
        () => (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.webrtcPeers() === 1,
        undefined,
        { timeout: WAIT_MS },
      );
    await a.evaluate(() =>
      (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.set('greeting', 'from a'),
    );
    await b.waitForFunction(
      () => (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.get('greeting') === 'from a',
      undefined,
      { timeout: WAIT_MS },
    );
    await b.evaluate(() =>
      (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.set('reply', 'from b'),
    );
    await a.waitForFunction(
      () => (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.get('reply') === 'from b',
      undefined,
      { timeout: WAIT_MS },
    );
  } catch (error) {
    t.diagnostic(`a: ${await describePage(a)}\nb: ${await describePage(b)}`);
    throw error;
  } finally {
    await Promise.all([a.context().close(), b.context().close()]);
  }
}

test('two y-webrtc providers share a Y.Doc through our server', { timeout: 60_000 }, async (t) => {
  if (chromiumMissing) return t.skip(chromiumMissing);
  const server = await start({});
  await share(t, `${server.wsUrl}/y-webrtc`, `${server.wsUrl}/y-webrtc`);
});

test('y-webrtc providers on two instances of a Redis fleet share a Y.Doc', {
  timeout: 60_000,
  skip: hasRedis ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, async (t) => {
  if (chromiumMissing) return t.skip(chromiumMissing);
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: `ywebrtc-browser-${process.pid}-${Date.now()}:`,
  };
  const [one, two] = await Promise.all([start(env), start(env)]);
  await share(t, `${one.wsUrl}/y-webrtc`, `${two.wsUrl}/y-webrtc`);
});

test('secure mode (WSS, REQUIRE_AUTH): our JWT in the signaling URL’s query string', {
  timeout: 60_000,
}, async (t) => {
  if (chromiumMissing || !fixture.browser || !fixture.pages) return t.skip(chromiumMissing ?? 'setup failed');
  const server = await start(secureEnv(randomKey(), { AUTH_MAX_FAILURES: '5' }));
  const token = await tokenFor(server, 'user1', 'password123');
  await share(t, `${server.wsUrl}/y-webrtc?token=${token}`, `${server.wsUrl}/y-webrtc?token=${token}`);

  // Without a token the client is refused and reconnects forever; its address is never blocked.
  const anonymous = await docPage(fixture.browser, fixture.pages, 'closed-doc', `${server.wsUrl}/y-webrtc`);
  try {
    // Its socket opens and is closed at once, again and again: sampled, it is mostly seen closed
    // (a sample can fall between an open and its close), and it never joins a topic.
    let closedSamples = 0;
    for (let i = 0; i < 15; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const connected = await anonymous.evaluate(() =>
        (window as unknown as { dialectTest: YwebrtcPageApi }).dialectTest.signalingConnected(),
      );
      if (connected === 0) closedSamples += 1;
    }
    assert.ok(closedSamples > 0, 'the refused socket does not stay open');
    assert.equal(server.app.diagnostics.localPeers, 0, 'it never joined a topic');
    assert.equal(server.app.diagnostics.securityEvents('auth_failed'), 0);
    assert.equal(await server.app.diagnostics.isBlocked('127.0.0.1'), false);
  } finally {
    await anonymous.context().close();
  }
});
