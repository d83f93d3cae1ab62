import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { type RunningServer, startServer } from '../helpers/server.js';
import { CallPage } from './call-page.js';
import { buildClientBundle, chromiumMissing, launchChromium, newContext } from './chromium.js';

const ENV = { ICE_SERVERS: '[]', RATE_LIMIT_PER_MINUTE: '600' };

let browser: Browser | undefined;
let server: RunningServer | undefined;

before(async () => {
  if (chromiumMissing) return;
  buildClientBundle();
  [browser, server] = await Promise.all([launchChromium(), startServer(ENV)]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a page whose WebSocket is cut by a server restart reconnects by itself and can call again', {
  timeout: 60_000,
}, async (t) => {
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  const context = await newContext(browser);
  const pages: CallPage[] = [];
  try {
    for (let i = 0; i < 2; i += 1)
      pages.push(await CallPage.open(context, `${server.url}/examples/simple_client.html`));
    const [alice, bob] = pages as [CallPage, CallPage];
    await alice.join('reconnect-call');
    await bob.join('reconnect-call');
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);
    const before = await alice.peerId();

    const { port, dir } = server;
    await server.stop();
    await Promise.all([
      alice.waitForConnectionState('reconnecting'),
      bob.waitForConnectionState('reconnecting'),
    ]);
    server = await startServer(ENV, { port, dir });

    await Promise.all([alice.waitForConnectionState('joined'), bob.waitForConnectionState('joined')]);
    assert.notEqual(await alice.peerId(), before, 'a rejoin gets a new peer id');
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);
    await alice.sendChat('after the restart');
    await bob.waitForChat('after the restart');
    await bob.sendChat('still here');
    await alice.waitForChat('still here');
  } catch (error) {
    for (const [i, page] of pages.entries()) t.diagnostic(`page ${i}:\n${await page.describe()}`);
    throw error;
  } finally {
    await context.close();
  }
});
