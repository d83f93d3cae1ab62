import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CallPage, withCallPages } from '../helpers/call-page.js';
import { chromiumMissing, useBrowserAndServer } from '../helpers/chromium.js';
import { startServer } from '../helpers/server.js';

const ENV = { ICE_SERVERS: '[]', RATE_LIMIT_PER_MINUTE: '600' };

const fixture = useBrowserAndServer(ENV);

test('a page whose WebSocket is cut by a server restart reconnects by itself and can call again', {
  timeout: 60_000,
}, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  await withCallPages(t, browser, `${server.url}/examples/simple_client.html`, 2, async (pages) => {
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
    // The fixture stops whichever server is current after the file's tests.
    fixture.server = await startServer(ENV, { port, dir });

    await Promise.all([alice.waitForConnectionState('joined'), bob.waitForConnectionState('joined')]);
    assert.notEqual(await alice.peerId(), before, 'a rejoin gets a new peer id');
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);
    await alice.sendChat('after the restart');
    await bob.waitForChat('after the restart');
    await bob.sendChat('still here');
    await alice.waitForChat('still here');
  });
});
