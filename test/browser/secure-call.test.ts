import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { CallPage } from '../helpers/call-page.js';
import { chromiumMissing, newContext, useBrowserAndServer } from '../helpers/chromium.js';
import type { RunningServer } from '../helpers/server.js';

const ENV = {
  REQUIRE_HTTPS: 'true',
  REQUIRE_AUTH: 'true',
  ICE_SERVERS: '[]',
  RATE_LIMIT_PER_MINUTE: '600',
};
const SCREENSHOT = fileURLToPath(new URL('../../test-results/secure-client-mid-call.png', import.meta.url));

const fixture = useBrowserAndServer(ENV);

/** Two signed-in pages of the secure example in one call; `media` turns the fake camera on. */
async function secureCall(browserInstance: Browser, running: RunningServer, room: string, media: boolean) {
  const context = await newContext(browserInstance);
  const pages: CallPage[] = [];
  for (const user of ['user1', 'user2']) {
    const page = await CallPage.open(context, `${running.url}/examples/secure_client.html`);
    pages.push(page);
    await page.signIn(user, 'password123');
    await page.join(room, { media });
  }
  return { context, pages: pages as [CallPage, CallPage] };
}

test('secure mode over HTTPS: sign in through the form, connect and chat both ways', {
  timeout: 60_000,
}, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  if (!server.url.startsWith('https://')) throw new Error(`expected an HTTPS server, got ${server.url}`);
  const { context, pages } = await secureCall(browser, server, 'secure-call', false);
  const [alice, bob] = pages;
  try {
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);
    // bob joined second: he knows alice's name from `joined` (peer_info), alice his from peer_joined.
    assert.match((await bob.page.textContent('#peer-list .peer-name')) ?? '', /^user1 \(/);
    assert.match((await alice.page.textContent('#peer-list .peer-name')) ?? '', /^user2 \(/);
    await alice.sendChat('hello over wss');
    await bob.waitForChat('hello over wss');
    await bob.sendChat('hello back');
    await alice.waitForChat('hello back');
  } catch (error) {
    for (const [i, page] of pages.entries()) t.diagnostic(`page ${i}:\n${await page.describe()}`);
    throw error;
  } finally {
    await context.close();
  }
});

test('secure mode: a wrong password shows an error on the page', { timeout: 30_000 }, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  const context = await newContext(browser);
  try {
    const page = await CallPage.open(context, `${server.url}/examples/secure_client.html`);
    await page.signIn('user1', 'not-the-password');
    const error = await page.page.waitForSelector('#login-error:not([hidden])', { timeout: 10_000 });
    const text = (await error.textContent()) ?? '';
    if (text.trim() === '') throw new Error('the login error is empty');
    if (await page.page.isVisible('#room-panel'))
      throw new Error('the room panel is shown without a sign-in');
  } finally {
    await context.close();
  }
});

test('secure mode: a screenshot mid-call is saved under test-results/', { timeout: 60_000 }, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  const { context, pages } = await secureCall(browser, server, 'screenshot-call', true);
  const [alice, bob] = pages;
  try {
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);
    await Promise.all([alice.waitForPlayingRemoteVideos(1), bob.waitForPlayingRemoteVideos(1)]);
    await alice.sendChat('Hi! Can you see me?');
    await bob.waitForChat('Hi! Can you see me?');
    await bob.sendChat('Loud and clear.');
    await alice.waitForChat('Loud and clear.');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await alice.page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`screenshot: ${SCREENSHOT}`);
  } catch (error) {
    for (const [i, page] of pages.entries()) t.diagnostic(`page ${i}:\n${await page.describe()}`);
    throw error;
  } finally {
    await context.close();
  }
});
