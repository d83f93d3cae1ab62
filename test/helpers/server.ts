import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type App, buildApp } from '../../src/app.js';
import { prepareResources } from '../../src/bootstrap.js';
import { type Config, loadConfig } from '../../src/config/config.js';
import type { TestClient } from './ws-client.js';

/** A real server listening on 127.0.0.1 for one test. */
export interface RunningServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly port: number;
  /** Temp dir holding users.csv, ssl/ and .jwt_secret. */
  readonly dir: string;
  readonly config: Config;
  readonly app: App;
  /** Every log line the server wrote (JSON objects), for tests that check what is logged. */
  readonly logs: Record<string, unknown>[];
  /** Lines the server printed to the console (e.g. a generated admin password). */
  readonly printed: string[];
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly port?: number;
  readonly dir?: string;
  /** Runs before `listen`, e.g. to register a test-only route (Fastify refuses routes afterwards). */
  readonly beforeListen?: (app: App) => void;
}

/**
 * Starts the real app in-process: development mode by default (plain HTTP, no auth, DEBUG users),
 * files in a temp dir, a free port. `env` overrides any variable, e.g. `{REQUIRE_HTTPS:'true'}`.
 */
export async function startServer(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<RunningServer> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'signaling-test-')));
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    REQUIRE_HTTPS: 'false',
    REQUIRE_AUTH: 'false',
    DEBUG: 'true',
    LOG_LEVEL: 'info',
    USERS_FILE: join(dir, 'users.csv'),
    SSL_CERTFILE: join(dir, 'ssl', 'server.crt'),
    SSL_KEYFILE: join(dir, 'ssl', 'server.key'),
    JWT_SECRET_FILE: join(dir, '.jwt_secret'),
    ICE_SERVERS: '[]',
    // Resume off unless a test turns it on: the older tests observe a dropped client as peer_left at
    // once; test/transport/websocket/resume*.test.ts and the browser resume test turn it on.
    RESUME_GRACE_SECONDS: '0',
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const printed: string[] = [];
  const log = pino(
    { level: config.logLevel },
    {
      write(line: string) {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  const resources = await prepareResources(config, log, (line) => printed.push(line));
  const app = await buildApp(config, { log, ...resources });
  options.beforeListen?.(app);
  const port = await app.listen(options.port ?? 0);
  const scheme = config.requireHttps ? 'https' : 'http';
  const wsScheme = config.requireHttps ? 'wss' : 'ws';
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    wsUrl: `${wsScheme}://127.0.0.1:${port}`,
    port,
    dir,
    config,
    app,
    logs,
    printed,
    stop: () => app.close(),
  };
}

/** A tracker for clients a test opens; `withServer` terminates every tracked client afterwards. */
export type TrackClient = (client: TestClient) => TestClient;

/** Runs `body` against a fresh server started with `env`, then terminates its clients and stops it. */
export async function withServer(
  env: Record<string, string>,
  body: (server: RunningServer, track: TrackClient) => Promise<void>,
): Promise<void> {
  const server = await startServer(env);
  const clients: TestClient[] = [];
  try {
    await body(server, (c) => {
      clients.push(c);
      return c;
    });
  } finally {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  }
}
