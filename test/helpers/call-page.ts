import type { TestContext } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { newContext } from './chromium.js';

const WAIT_MS = 20_000;

/** An example page (simple or secure client) driven through its DOM. */
export class CallPage {
  readonly page: Page;
  readonly #log: string[] = [];

  private constructor(page: Page) {
    this.page = page;
    page.on('console', (message) => this.#log.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => this.#log.push(`[pageerror] ${error.message}`));
  }

  /** Opens `url` in a new page of `context`. */
  static async open(context: BrowserContext, url: string): Promise<CallPage> {
    const call = new CallPage(await context.newPage());
    await call.page.goto(url);
    return call;
  }

  /** Console output and page errors so far, for failure messages. */
  get log(): string {
    return this.#log.join('\n');
  }

  /** The page's visible state and console, for failure messages. */
  async describe(): Promise<string> {
    // No named inner functions: the evaluated source must not depend on helpers of the test's compiler.
    const state = await this.page
      .evaluate(() =>
        [
          `url: ${location.href}`,
          `connection: ${document.querySelector('#connection-state')?.textContent}`,
          `peer id: ${document.querySelector('#peer-id')?.textContent}`,
          `notice: ${document.querySelector('#notice')?.textContent}`,
          `peers: ${[...document.querySelectorAll<HTMLElement>('#peer-list li')]
            .map(
              (item) =>
                `${item.dataset.peerId} state=${item.dataset.state} channel=${item.dataset.channel ?? '-'}`,
            )
            .join('; ')}`,
          `remote videos: ${document.querySelectorAll('#remote-videos video').length}`,
          `chat: ${[...document.querySelectorAll('#chat-log p')].map((line) => line.textContent).join(' | ')}`,
        ].join('\n'),
      )
      .catch((error: unknown) => `(page state unavailable: ${String(error)})`);
    return `${state}\nconsole:\n${this.log}`;
  }

  /** Signs in through the secure page's form. */
  async signIn(username: string, password: string): Promise<void> {
    await this.page.fill('#username', username);
    await this.page.fill('#password', password);
    await this.page.click('#login');
  }

  /** Joins `room`, with the fake camera and microphone when `media` is set. */
  async join(room: string, { media = false } = {}): Promise<void> {
    await this.page.waitForSelector('#room-id', { state: 'visible', timeout: WAIT_MS });
    await this.page.fill('#room-id', room);
    if (media) await this.page.check('#use-media');
    await this.page.click('#join');
  }

  /** Resolves when the signaling connection is in `state` (`joined`, `reconnecting`, ...). */
  async waitForConnectionState(state: string, timeout = WAIT_MS): Promise<void> {
    await this.page.waitForSelector(`#connection-state[data-state="${state}"]`, { timeout });
  }

  /** Resolves when exactly `count` peers are connected with an open data channel. */
  async waitForConnectedPeers(count: number, timeout = WAIT_MS): Promise<void> {
    await this.page.waitForFunction(
      (expected) =>
        document.querySelectorAll('#peer-list li[data-state="connected"][data-channel="open"]').length ===
          expected && document.querySelectorAll('#peer-list li').length === expected,
      count,
      { timeout },
    );
  }

  /** Sends a chat message to everyone connected. */
  async sendChat(text: string): Promise<void> {
    await this.page.fill('#chat-input', text);
    await this.page.click('#chat-send');
  }

  /** Resolves when a chat message with exactly `text` has arrived from another peer. */
  async waitForChat(text: string, timeout = WAIT_MS): Promise<void> {
    await this.page.waitForFunction(
      (expected) =>
        [...document.querySelectorAll('#chat-log p:not(.mine):not(.system) .text')].some(
          (node) => node.textContent === expected,
        ),
      text,
      { timeout },
    );
  }

  /** Resolves when `count` remote videos are playing frames (fake camera tracks from the peers). */
  async waitForPlayingRemoteVideos(count: number, timeout = WAIT_MS): Promise<void> {
    await this.page.waitForFunction(
      (expected) =>
        [...document.querySelectorAll<HTMLVideoElement>('#remote-videos video')].filter((video) => {
          const stream = video.srcObject;
          return stream instanceof MediaStream && stream.getVideoTracks().length > 0 && video.videoWidth > 0;
        }).length === expected,
      count,
      { timeout },
    );
  }

  /** The ICE candidate types (host, srflx, relay) of the connected peers' selected pairs. */
  async routes(): Promise<string[]> {
    await this.page.waitForFunction(
      () =>
        [...document.querySelectorAll('#peer-list li')].every((item) => (item as HTMLElement).dataset.route),
      undefined,
      { timeout: WAIT_MS },
    );
    return this.page.$$eval('#peer-list li', (items) =>
      items.map((item) => (item as HTMLElement).dataset.route ?? ''),
    );
  }

  /** Our peer id as the page shows it. */
  async peerId(): Promise<string> {
    return (await this.page.textContent('#peer-id'))?.trim() ?? '';
  }
}

/**
 * Opens `count` pages of `path` in one fresh context, runs `body`, and closes the context; when
 * `body` fails, every page's state goes to the test's diagnostics first.
 */
export async function withCallPages(
  t: TestContext,
  browser: Browser,
  url: string,
  count: number,
  body: (pages: CallPage[]) => Promise<void>,
): Promise<void> {
  const context = await newContext(browser);
  const pages: CallPage[] = [];
  try {
    for (let i = 0; i < count; i += 1) pages.push(await CallPage.open(context, url));
    await body(pages);
  } catch (error) {
    for (const [i, page] of pages.entries()) t.diagnostic(`page ${i}:\n${await page.describe()}`);
    throw error;
  } finally {
    await context.close();
  }
}
