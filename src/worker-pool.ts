import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';

/** A worker that dies sooner than this after its start counts as crash-looping: it is replaced later. */
const QUICK_DEATH_MS = 2000;
const MAX_RESPAWN_DELAY_MS = 5000;

export interface WorkerPoolOptions {
  /** Worker count, or `auto` for one per CPU. */
  readonly workers: number | 'auto';
  readonly log: Logger;
  /** Time the workers get to drain on SIGTERM/SIGINT before the pool exits anyway. */
  readonly hardExitMs: number;
  /** `METRICS_PORT` (and its token): the primary serves every worker's metrics there. */
  readonly metrics?: { readonly host: string; readonly port: number; readonly token: string | null };
}

/** True in the process that should supervise workers rather than serve (WORKERS above 1 or auto). */
export function isPoolPrimary(workers: number | 'auto'): boolean {
  return workers !== 1 && cluster.isPrimary;
}

/** `WORKERS` as a count: `auto` is one per CPU. */
export function workerCount(workers: number | 'auto'): number {
  return workers === 'auto' ? availableParallelism() : workers;
}

/**
 * The primary of `WORKERS=N`: forks N copies of this program (node:cluster), which share the listen
 * port and share rooms and limits through Redis as separate instances do. A worker that dies is
 * replaced (after a growing delay when it keeps dying at start-up). SIGTERM/SIGINT are passed to every
 * worker, which drain as a single server does (1001 to each WebSocket); the primary exits 0 once all
 * are gone, or after `hardExitMs`. SIGHUP (reload users and certificates) is passed on too.
 */
export function runWorkerPool(options: WorkerPoolOptions): void {
  const { log } = options;
  const count = workerCount(options.workers);
  let stopping = false;
  let quickDeaths = 0;
  const started = new Map<Worker, number>();

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker, Date.now());
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker) ?? 0);
    started.delete(worker);
    if (stopping) {
      if (started.size === 0) {
        log.info('all workers stopped');
        log.flush?.();
        process.exit(0);
      }
      return;
    }
    quickDeaths = lived < QUICK_DEATH_MS ? quickDeaths + 1 : 0;
    const delay = quickDeaths === 0 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 250 * 2 ** quickDeaths);
    log.error({ pid: worker.process.pid, code, signal, respawnInMs: delay }, 'worker died; replacing it');
    setTimeout(fork, delay);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: started.size }, 'stopping workers');
    setTimeout(() => process.exit(0), options.hardExitMs).unref();
    if (started.size === 0) process.exit(0);
    for (const worker of started.keys()) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    for (const worker of started.keys()) worker.process.kill('SIGHUP');
  });

  log.info({ workers: count }, `starting ${count} workers`);
  for (let i = 0; i < count; i += 1) fork();
  if (options.metrics) serveWorkerMetrics(options.metrics, log);
}

/**
 * `GET /metrics` on `METRICS_PORT` from the primary: prom-client asks each worker for its registry
 * and merges them; every series carries a `worker` label, so nothing is lost and sums work.
 */
function serveWorkerMetrics(options: NonNullable<WorkerPoolOptions['metrics']>, log: Logger): void {
  void (async () => {
    const [{ AggregatorRegistry }, { listenMetricsServer }] = await Promise.all([
      import('prom-client'),
      import('./operations/metrics-endpoint.js'),
    ]);
    const aggregator = new AggregatorRegistry();
    await listenMetricsServer(
      options.host,
      options.port,
      async () => ({ body: await aggregator.clusterMetrics(), contentType: aggregator.contentType }),
      options.token,
    );
    log.info({ port: options.port }, 'serving every worker’s metrics');
  })().catch((error: unknown) => log.error({ err: error }, 'cannot serve the workers’ metrics'));
}
