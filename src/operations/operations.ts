import cluster from 'node:cluster';
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import type { LimitStores } from '../security/limit-stores.js';
import type { SecurityEvents } from '../security/security-events.js';
import type { Broker } from '../signaling/broker.js';
import type { PeerId, RelayableMessage } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import { TrafficCounters } from '../transport/websocket/traffic-counters.js';
import { ActiveBlocks } from './active-blocks.js';
import { registerApiDocsRoutes } from './api-docs-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import { InstrumentedBroker } from './instrumented-broker.js';
import { listenMetricsServer, registerMetricsRoute } from './metrics-endpoint.js';
import { NegotiationTracker } from './negotiation-tracker.js';
import { type LoginOutcome, type RelayCounts, ServerMetrics } from './server-metrics.js';

export type OperationsConfig = Pick<
  Config,
  'metricsToken' | 'metricsPort' | 'authBlockSeconds' | 'peerjsPath'
>;

/** The parts whose figures the metrics read, once `buildApp` has made them. */
export interface WatchedParts {
  readonly connections: () => number;
  readonly peers: () => number;
  readonly rooms: () => number;
  readonly events: SecurityEvents;
}

/**
 * What operators see and steer: metrics, health probes, API documentation and the drain. Built before
 * the other parts so they can be given its counters (`traffic`, `onRelay`) and its wrapped broker and
 * auth-failure store; `register` then adds its routes. Everything it reports is this instance's own.
 */
export class Operations {
  readonly metrics = new ServerMetrics();
  /** The gateway's message and byte totals. */
  readonly traffic = new TrafficCounters();
  readonly #config: OperationsConfig;
  readonly #relayed: RelayCounts = { offer: 0, answer: 0, ice_candidate: 0 };
  readonly #negotiations: NegotiationTracker;
  readonly #blocks: ActiveBlocks;
  #broker: InstrumentedBroker | null = null;
  #draining = false;
  #metricsServer: Server | null = null;
  /** Every route registered on the HTTP app, as `METHOD url` (for the API documentation's checks). */
  readonly routes: string[] = [];

  constructor(config: OperationsConfig, now: () => number) {
    this.#config = config;
    this.#negotiations = new NegotiationTracker(now, (seconds) => this.metrics.offerAnswered(seconds));
    this.#blocks = new ActiveBlocks(config.authBlockSeconds, now);
  }

  /** True from the moment a drain begins; `/health/ready` answers 503 from then on. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The hub's `onRelay`: two integer increments per relayed message. */
  readonly onRelay = (
    roomId: RoomId,
    from: PeerId,
    to: PeerId | undefined,
    type: RelayableMessage['type'],
  ) => {
    this.#relayed[type] += 1;
    if (type !== 'ice_candidate') this.#negotiations.relayed(roomId, from, to, type);
  };

  /** Login's `onPasswordChecked`. */
  readonly passwordChecked = (seconds: number) => this.metrics.passwordChecked(seconds);

  /** Messages accepted for relay from this instance's peers since start, by type. */
  get relayed(): Readonly<RelayCounts> {
    return this.#relayed;
  }

  /** The broker every other part should use: measured, and able to flush before a drain. */
  instrument(broker: Broker): Broker {
    this.#broker = new InstrumentedBroker(broker, this.metrics, this.#negotiations);
    return this.#broker;
  }

  /** The auth-failure store the guard should use, with the blocks it starts counted. */
  watchBlocks(store: LimitStores['authFailures']): LimitStores['authFailures'] {
    return this.#blocks.watch(store);
  }

  /** Adds `/metrics` (unless `METRICS_PORT`), `/health/live`, `/health/ready` and the API docs. */
  async register(http: FastifyInstance, parts: WatchedParts): Promise<void> {
    const broker = this.#broker;
    if (broker === null) throw new Error('Operations.instrument must be called before register');
    this.metrics.watch({
      ...parts,
      traffic: this.traffic,
      relayed: this.#relayed,
      activeBlocks: () => this.#blocks.count(),
      negotiations: this.#negotiations,
      broker,
      draining: () => this.#draining,
    });
    http.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) this.routes.push(`${method} ${route.url}`);
    });
    http.addHook('onResponse', async (request, reply) => {
      if (request.method === 'POST' && request.routeOptions.url === '/auth/login')
        this.metrics.login(loginOutcome(reply.statusCode));
    });
    if (this.#config.metricsPort === null)
      registerMetricsRoute(http, this.metrics, this.#config.metricsToken);
    registerHealthRoutes(http, { broker, draining: () => this.#draining });
    await registerApiDocsRoutes(http, this.#config.peerjsPath);
  }

  /**
   * Starts the `METRICS_PORT` server when configured. Not in a `WORKERS` worker: there the pool's
   * primary serves every worker's metrics on that port (see worker-pool.ts).
   */
  async listen(host: string): Promise<void> {
    const port = this.#config.metricsPort;
    if (port === null || this.#metricsServer !== null || cluster.isWorker) return;
    this.#metricsServer = await listenMetricsServer(
      host,
      port,
      () => this.metrics.render(),
      this.#config.metricsToken,
    );
  }

  /** The port `/metrics` is served on when `METRICS_PORT` is set and listening, else null. */
  get metricsPort(): number | null {
    const address = this.#metricsServer?.address();
    return typeof address === 'object' && address !== null ? address.port : null;
  }

  /** First step of a drain: report not ready at once. */
  beginDrain(): void {
    this.#draining = true;
  }

  /**
   * Waits until every relay this instance accepted has reached this instance's recipients (at most
   * `timeoutMs`); false when the broker did not confirm in time.
   */
  flushRelays(timeoutMs: number): Promise<boolean> {
    return this.#broker?.flush(timeoutMs) ?? Promise.resolve(true);
  }

  /** Stops the metrics server. */
  async close(): Promise<void> {
    const server = this.#metricsServer;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function loginOutcome(status: number): LoginOutcome {
  if (status === 200) return 'success';
  if (status === 401) return 'invalid_credentials';
  if (status === 429) return 'blocked';
  return 'malformed';
}
