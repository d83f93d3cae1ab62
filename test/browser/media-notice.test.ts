import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { CallPage } from '../helpers/call-page.js';
import { buildClientBundle, chromiumMissing, launchChromium, newContext } from '../helpers/chromium.js';
import { type RunningServer, startServer } from '../helpers/server.js';

// A LAN name for the loopback server: pages at http://lan.test are not a secure context, as a page
// opened from another machine over plain HTTP is not.
const LAN_HOST = 'lan.test';

let browser: Browser | undefined;
let server: RunningServer | undefined;
before(async () => {
  if (chromiumMissing) return;
  buildClientBundle();
  [browser, server] = await Promise.all([
    launchChromium([`--host-resolver-rules=MAP ${LAN_HOST} 127.0.0.1`]),
    startServer({ ICE_SERVERS: '[]' }),
  ]);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('over plain HTTP from a LAN address the page says why there is no camera, and keeps saying it after joining', {
  timeout: 60_000,
}, async (t) => {
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  const context = await newContext(browser);
  try {
    const page = await CallPage.open(
      context,
      `http://${LAN_HOST}:${server.port}/examples/simple_client.html`,
    );
    const notice = page.page.locator('#media-notice');
    await notice.waitFor({ state: 'visible', timeout: 10_000 });
    assert.match((await notice.textContent()) ?? '', /secure context.*HTTPS.*localhost/s);

    await page.join('lan-call', { media: true });
    await page.waitForConnectionState('joined');
    assert.ok(await notice.isVisible(), 'joining does not clear the explanation');
    assert.match((await notice.textContent()) ?? '', /Joining without camera and microphone/);
  } finally {
    await context.close();
  }
});

test('on localhost the page is a secure context and shows no media notice', {
  timeout: 30_000,
}, async (t) => {
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  const context = await newContext(browser);
  try {
    const page = await CallPage.open(context, `${server.url}/examples/simple_client.html`);
    await page.join('local-call', { media: true });
    await page.waitForConnectionState('joined');
    assert.equal(await page.page.locator('#media-notice').isVisible(), false);
  } finally {
    await context.close();
  }
});
