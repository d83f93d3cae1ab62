import { test } from 'node:test';
import { withCallPages } from '../helpers/call-page.js';
import { chromiumMissing, useBrowserAndServer } from '../helpers/chromium.js';

const ENV = { ICE_SERVERS: '[]', RATE_LIMIT_PER_MINUTE: '600' };

const fixture = useBrowserAndServer(ENV);

test('three pages form a full mesh and each plays the fake camera of the two others', {
  timeout: 60_000,
}, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  await withCallPages(t, browser, `${server.url}/examples/simple_client.html`, 3, async (pages) => {
    // Joining all at once makes offers collide: perfect negotiation has to sort it out.
    await Promise.all(pages.map((page) => page.join('mesh-call', { media: true })));
    await Promise.all(pages.map((page) => page.waitForConnectedPeers(2)));
    await Promise.all(pages.map((page) => page.waitForPlayingRemoteVideos(2)));

    await pages[0]!.sendChat('hello mesh');
    await Promise.all([pages[1]!.waitForChat('hello mesh'), pages[2]!.waitForChat('hello mesh')]);
  });
});
