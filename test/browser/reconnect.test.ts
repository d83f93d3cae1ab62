import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CallPage } from '../helpers/call-page.js';
import { chromiumMissing, newContext, useBrowserAndServer } from '../helpers/chromium.js';
import { startServer } from '../helpers/server.js';

const ENV = { ICE_SERVERS: '[]', RATE_LIMIT_PER_MINUTE: '600' };

const fixture = useBrowserAndServer(ENV);

test('a page whose WebSocket is cut by a server restart reconnects by itself and can call again', {
  timeout: 60_000,
}, async (t) => {
  const { browser } = fixture;
  let { server } = fixture;
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
    fixture.server = server;

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
