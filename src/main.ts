// First: the heap policy must hold before any other module allocates (see gc-policy.ts).
import './gc-policy.js';
import cluster from 'node:cluster';
import { type App, buildApp } from './app.js';
import { prepareResources, StartupError } from './bootstrap.js';
import { BrokerUnavailableError } from './cluster/create-cluster.js';
import { type Config, ConfigError, loadConfig } from './config/config.js';
import { readEnvironment, unknownDotenvVariables } from './config/environment.js';
import { listenUrls } from './listen-urls.js';
import { createLogger } from './logger.js';
import { openFileReport, readOpenFileLimit } from './open-file-limit.js';
import { isPoolPrimary, runWorkerPool } from './worker-pool.js';

/** Exit within 10 s of SIGTERM/SIGINT even if something hangs (CONTRACT.md "Shutdown"). */
const HARD_EXIT_MS = 9_500;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(readEnvironment());
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const root = createLogger(config, { tty: process.stdout.isTTY === true });
  const log = cluster.isWorker ? root.child({ pid: process.pid }) : root;
  const unknown = unknownDotenvVariables();
  if (unknown.length > 0 && cluster.isPrimary)
    log.warn(
      { variables: unknown.map((u) => u.name) },
      `.env sets variables the server does not read: ${unknown
        .map((u) => (u.suggestion ? `${u.name} (did you mean ${u.suggestion}?)` : u.name))
        .join(', ')}; see README "Configuration"`,
    );
  let app: App;
  try {
    const resources = await prepareResources(config, log);
    if (isPoolPrimary(config.workers)) {
      // The files are made once, here, before any worker reads them.
      resources.users.close();
      runWorkerPool({
        workers: config.workers,
        log,
        hardExitMs: HARD_EXIT_MS,
        ...(config.metricsPort === null
          ? {}
          : { metrics: { host: config.host, port: config.metricsPort, token: config.metricsToken } }),
      });
      return;
    }
    app = await buildApp(config, { log, ...resources });
  } catch (error) {
    if (
      error instanceof StartupError ||
      error instanceof BrokerUnavailableError ||
      (error as NodeJS.ErrnoException).code !== undefined
    ) {
      process.stderr.write(`cannot start: ${(error as Error).message}\n`);
      process.exit(1);
    }
    throw error;
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(0), Math.min(HARD_EXIT_MS, config.shutdownTimeoutSeconds * 1000)).unref();
    app.close().then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while shutting down');
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    app.reload().then(
      () => log.info('reloaded users and certificates'),
      (error: unknown) => log.error({ err: error }, 'reload failed; keeping the previous state'),
    );
  });

  try {
    const port = await app.listen();
    const [first, ...others] = listenUrls(config.requireHttps ? 'https' : 'http', config.host, port);
    log.info(
      {
        url: first,
        also: others,
        bound: `${config.host}:${port}`,
        auth: config.requireAuth,
        broker: app.brokerKind,
      },
      `signaling server listening on ${first}${others.length > 0 ? ` (on the LAN: ${others.join(', ')})` : ''}`,
    );
    const limit = readOpenFileLimit();
    if (limit !== null) {
      const report = openFileReport(limit, config);
      log[report.level](report.fields, report.message);
    }
    log.flush();
  } catch (error) {
    process.stderr.write(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

void main();
