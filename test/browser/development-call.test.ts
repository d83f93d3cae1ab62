import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CallPage, withCallPages } from '../helpers/call-page.js';
import { chromiumMissing, useBrowserAndServer } from '../helpers/chromium.js';

// No STUN: the peers must find each other through host candidates alone.
const ENV = { ICE_SERVERS: '[]', RATE_LIMIT_PER_MINUTE: '600' };

const fixture = useBrowserAndServer(ENV);

test('two pages in development mode connect over host candidates and chat both ways', {
  timeout: 60_000,
}, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  await withCallPages(t, browser, `${server.url}/examples/simple_client.html`, 2, async (pages) => {
    const [alice, bob] = pages as [CallPage, CallPage];
    await alice.join('dev-call');
    await alice.waitForConnectionState('joined');
    await bob.join('dev-call');
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);

    assert.notEqual(await alice.peerId(), await bob.peerId());
    assert.deepEqual(await alice.routes(), ['host']);
    assert.deepEqual(await bob.routes(), ['host']);

    await alice.sendChat('hello from alice');
    await bob.waitForChat('hello from alice');
    await bob.sendChat('hello from bob');
    await alice.waitForChat('hello from bob');
  });
});
