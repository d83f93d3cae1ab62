import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { type RunningServer, startServer } from './server.js';

/** Debian's Chromium; CI installs it with apt, and a browser is never downloaded. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export const chromiumMissing: string | null = existsSync(CHROMIUM_PATH)
  ? null
  : 'chromium not installed: apt-get install -y chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium with fake camera and microphone that are granted without a prompt. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...FLAGS, ...extraArgs] });
}

/** A context (one profile) that accepts the server's self-signed certificate. */
export function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
}

/**
 * Builds dist/client/signaling-client.js, which the server serves at /client/, so the pages never
 * load a stale or missing bundle. The build script writes atomically, so parallel test files may
 * both run it.
 */
export function buildClientBundle(): void {
  const script = fileURLToPath(new URL('../../scripts/build-client.mjs', import.meta.url));
  execFileSync(process.execPath, [script], { stdio: 'inherit' });
}

/** The browser and server one test file shares; `server` may be replaced (a restart test does). */
export interface BrowserFixture {
  browser: Browser | undefined;
  server: RunningServer | undefined;
}

/**
 * Registers the file's `before`/`after` hooks: build the client bundle, launch Chromium and start a
 * server with `env`; afterwards close both. Nothing starts when Chromium is missing (tests skip).
 */
export function useBrowserAndServer(env: Record<string, string>): BrowserFixture {
  const fixture: BrowserFixture = { browser: undefined, server: undefined };
  before(async () => {
    if (chromiumMissing) return;
    buildClientBundle();
    [fixture.browser, fixture.server] = await Promise.all([launchChromium(), startServer(env)]);
  });
  after(async () => {
    await fixture.browser?.close();
    await fixture.server?.stop();
  });
  return fixture;
}
