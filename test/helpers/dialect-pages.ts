import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { chromiumMissing, launchChromium } from './chromium.js';
import { type RunningServer, startServer } from './server.js';

const PAGES = {
  peerjs: fileURLToPath(new URL('./browser-pages/peerjs-page.ts', import.meta.url)),
  'y-webrtc': fileURLToPath(new URL('./browser-pages/ywebrtc-page.ts', import.meta.url)),
} as const;

/** A page of the real PeerJS or y-webrtc client, bundled with esbuild. */
export type DialectPage = keyof typeof PAGES;

/** The origin serving the pages: another origin than the signaling server's, as in production. */
export interface DialectPages {
  /** `http://127.0.0.1:<port>/<page>.html` */
  url(page: DialectPage): string;
  close(): Promise<void>;
}

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
    define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
  });
  return result.outputFiles[0]!.text;
}

/** Bundles both client pages and serves them on a free port of 127.0.0.1. */
export async function startDialectPages(): Promise<DialectPages> {
  const scripts = new Map<string, string>();
  for (const [name, entry] of Object.entries(PAGES)) scripts.set(`/${name}.js`, await bundle(entry));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const script = scripts.get(path);
    if (script !== undefined) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
    } else if (path.endsWith('.html') && scripts.has(path.replace(/\.html$/, '.js'))) {
      const src = path.replace(/\.html$/, '.js');
      res
        .writeHead(200, { 'Content-Type': 'text/html' })
        .end(`<!doctype html><title>${src}</title><script src="${src}"></script>`);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (page) => `http://127.0.0.1:${port}/${page}.html`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Chromium, the pages' origin and the servers one dialect test file shares. */
export interface DialectBrowser {
  browser: Browser | undefined;
  pages: DialectPages | undefined;
  /** Starts a server (limits raised for browsers) that is stopped after the file's tests. */
  start(env: Record<string, string>): Promise<RunningServer>;
}

/** Registers the file's hooks: Chromium and the pages' origin before, everything stopped after. */
export function useDialectBrowser(): DialectBrowser {
  const servers: RunningServer[] = [];
  const fixture: DialectBrowser = {
    browser: undefined,
    pages: undefined,
    async start(env) {
      const server = await startServer({ RATE_LIMIT_PER_MINUTE: '600', ...env });
      servers.push(server);
      return server;
    },
  };
  before(async () => {
    if (chromiumMissing) return;
    [fixture.browser, fixture.pages] = await Promise.all([launchChromium(), startDialectPages()]);
  });
  after(async () => {
    await fixture.browser?.close();
    await fixture.pages?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });
  return fixture;
}
