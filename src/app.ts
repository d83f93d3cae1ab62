import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppDiagnostics } from './app-diagnostics.js';
import {
  createHub,
  createPeerSessions,
  createTokenService,
  createUnblockRequests,
  registerHttpRoutes,
} from './app-parts.js';
import { AccessVerifier } from './auth/access.js';
import type { UserStore } from './auth/user-store.js';
import type { RuntimeResources } from './bootstrap.js';
import { type Cluster, createCluster } from './cluster/create-cluster.js';
import type { Config } from './config/config.js';
import { Integration } from './integration/integration.js';
import { Operations } from './operations/operations.js';
import { AuthGuard } from './security/auth-guard.js';
import { ClientAddressResolver } from './security/client-address.js';
import { HostCheck } from './security/host-check.js';
import { OriginPolicy } from './security/origin-policy.js';
import { SecurityEvents } from './security/security-events.js';
import type { UnblockRequests } from './security/unblock-requests.js';
import type { PeerSessions } from './signaling/peer-sessions.js';
import { randomBase64url } from './signaling/random-pool.js';
import { registerHostGuard } from './transport/host-guard.js';
import { registerErrorHandlers } from './transport/http-errors.js';
import { createHttpLayer, type HttpLayer, listenOn } from './transport/http-server.js';
import { registerSecurityHeaders } from './transport/security-headers.js';
import { loadTlsMaterial } from './transport/tls.js';
import { createWebSocketGateway } from './transport/websocket/create-gateway.js';
import type { WebSocketGateway } from './transport/websocket/websocket-gateway.js';

/** What `buildApp` needs besides the configuration. */
export interface AppDeps {
  readonly log: Logger;
  readonly jwtSecret: Uint8Array;
  /** Verify-only key of a rotation in progress (`JWT_SECRET_KEY_PREVIOUS`). */
  readonly jwtPreviousSecret?: Uint8Array | null;
  readonly users: UserStore & {
    reload?(): Promise<unknown>;
    close?(): void;
    /** The users file, when there is one: outdated password hashes are upgraded in it on login. */
    readonly path?: string;
    /** Called after each change of the users; open connections that lost access are closed. */
    onChange?(listener: () => void): unknown;
  };
  readonly tls: RuntimeResources['tls'];
  readonly now?: () => number;
  readonly randomId?: () => string;
}

const LIMIT_SWEEP_INTERVAL_MS = 30_000;
/** How often ended resume grace periods and overflowed buffers are looked for. */
const SESSION_SWEEP_INTERVAL_MS = 1000;
// Shares of `SHUTDOWN_TIMEOUT`, in the order a drain spends them; together the whole budget.
/** For relays accepted before the drain to reach their recipients. */
const RELAY_FLUSH_SHARE = 0.2;
/** For WebSocket closing handshakes (1001). */
const WEBSOCKET_CLOSE_SHARE = 0.5;
/** For dropped peers' sessions to be handed to the broker for a resume. */
const SESSION_HANDOVER_SHARE = 0.2;
/** For queued webhook events (the peers' `peer_left`) to go out. */
const WEBHOOK_FLUSH_SHARE = 0.1;

/** 128 random bits, URL-safe: peer ids nobody can guess. */
export function randomPeerId(): string {
  return randomBase64url(16);
}

/**
 * Wires configuration, security, the signaling core and the transports. Never listens by itself.
 * Rejects with `BrokerUnavailableError` when `REDIS_URL` is set but Redis cannot be reached.
 */
export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const { log } = deps;
  const now = deps.now ?? Date.now;
  if (config.requireHttps && !deps.tls) throw new Error('REQUIRE_HTTPS=true needs TLS material');
  const cluster = await createCluster(config, {
    now,
    onBrokerError: (error, context) => log.error({ err: error, context }, 'broker error'),
    onLimitFallback: (error, context) =>
      log.warn({ err: error, context }, 'shared limit store failed; using this instance’s own limits'),
  });
  const ops = new Operations(config, now);
  const broker = ops.instrument(cluster.broker);
  const events = new SecurityEvents(log);
  const addresses = new ClientAddressResolver(config.trustProxy);
  const origins = new OriginPolicy(config);
  const hosts = new HostCheck(config);
  const guard = new AuthGuard(ops.watchBlocks(cluster.limits.authFailures), events);
  const tokens = createTokenService(config, deps, now);
  const integration = new Integration(config, { log, broker, events, now, registry: ops.metrics.registry });
  const access = new AccessVerifier(tokens, deps.users, (jti) => broker.isTokenDenied(jti));
  const hub = createHub(config, { broker, integration, ops, log, now });
  const randomId = deps.randomId ?? randomPeerId;
  const sessions = createPeerSessions(config, { hub, broker, log, now, randomId });

  const layer = createHttpLayer(log, config.requireHttps ? deps.tls : null);
  const gateway = createWebSocketGateway(config, {
    ...{ hub, access, guard, addresses, origins, hosts, events, log, now, randomId, sessions },
    gate: integration.gate,
    limits: cluster.limits,
    traffic: ops.traffic,
  });
  gateway.attach(layer.server);
  deps.users.onChange?.(() => gateway.closeRevoked());

  const { http } = layer;
  await registerSecurityHeaders(http, origins, config.requireHttps);
  registerHostGuard(http, hosts);
  registerErrorHandlers(http);
  const connectionCount = () => gateway.connectionCount;
  await ops.register(http, {
    connections: connectionCount,
    peers: () => hub.localPeerCount,
    rooms: () => hub.localRoomCount,
    events,
  });
  await registerHttpRoutes(http, config, deps, {
    access,
    guard,
    addresses,
    tokens,
    broker,
    ops,
    integration,
    connectionCount,
    now,
  });

  const unblocks = createUnblockRequests(config, guard, log);
  const diagnostics = new AppDiagnostics({ gateway, hub, events, ...cluster });
  return new App({
    config,
    deps,
    layer,
    gateway,
    cluster,
    diagnostics,
    operations: ops,
    unblocks,
    integration,
    sessions,
  });
}

/** The parts `App` runs and stops. */
interface AppParts {
  readonly config: Config;
  readonly deps: AppDeps;
  readonly layer: HttpLayer;
  readonly gateway: WebSocketGateway;
  readonly cluster: Cluster;
  readonly diagnostics: AppDiagnostics;
  readonly operations: Operations;
  readonly unblocks: UnblockRequests;
  readonly integration: Integration;
  readonly sessions: PeerSessions;
}

/** The wired server, not yet listening. */
export class App {
  readonly http: FastifyInstance;
  /** Read-only figures of this instance, for tests and diagnostics. */
  readonly diagnostics: AppDiagnostics;
  /** Where rooms live: `memory` or `redis`. */
  readonly brokerKind: 'memory' | 'redis';
  /** Metrics, probes, API documentation and the drain state of this instance. */
  readonly operations: Operations;
  readonly #config: Config;
  readonly #deps: AppDeps;
  readonly #layer: HttpLayer;
  readonly #gateway: WebSocketGateway;
  readonly #cluster: Cluster;
  readonly #integration: Integration;
  readonly #sweeper: NodeJS.Timeout;
  readonly #unblocks: UnblockRequests;
  readonly #sessions: PeerSessions;
  readonly #sessionSweeper: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  constructor(parts: AppParts) {
    const { config, deps, layer, cluster, sessions, unblocks } = parts;
    this.#config = config;
    this.#deps = deps;
    this.#layer = layer;
    this.#gateway = parts.gateway;
    this.#cluster = cluster;
    this.#integration = parts.integration;
    this.#sessions = sessions;
    this.#unblocks = unblocks;
    this.http = layer.http;
    this.diagnostics = parts.diagnostics;
    this.operations = parts.operations;
    this.brokerKind = cluster.broker.kind;
    this.#sweeper = setInterval(() => cluster.local.sweep(), LIMIT_SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
    this.#sessionSweeper = setInterval(() => {
      sessions
        .sweep()
        .catch((error: unknown) => deps.log.error({ err: error, context: 'sweep' }, 'session sweep failed'));
    }, SESSION_SWEEP_INTERVAL_MS);
    this.#sessionSweeper.unref();
    unblocks.start();
  }

  /** Listens on the configured host and port (or `port`), resolving to the bound port. */
  async listen(port = this.#config.port): Promise<number> {
    const bound = await listenOn(this.#layer, this.#config.host, port);
    await this.operations.listen(this.#config.host);
    return bound;
  }

  /** Re-reads the users file and, over HTTPS, the certificate and key (SIGHUP); open sockets stay. */
  async reload(): Promise<void> {
    await this.#deps.users.reload?.();
    if (this.#config.requireHttps) {
      (this.#layer.server as HttpsServer).setSecureContext(await loadTlsMaterial(this.#config));
      this.#deps.log.info({ cert: this.#config.sslCertfile }, 'TLS certificate reloaded');
    }
  }

  /**
   * Drains, then stops: reports not ready at once, takes no new connections or messages, lets every
   * relay accepted so far reach its recipients, closes every WebSocket with 1001 (reconnect
   * elsewhere), finishes in-flight HTTP requests, stops timers and the broker; all within
   * `SHUTDOWN_TIMEOUT`.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const budgetMs = this.#config.shutdownTimeoutSeconds * 1000;
      clearInterval(this.#sweeper);
      this.#unblocks.stop();
      clearInterval(this.#sessionSweeper);
      this.operations.beginDrain();
      this.#gateway.stopAccepting();
      await this.operations.flushRelays(budgetMs * RELAY_FLUSH_SHARE);
      await this.#gateway.close(budgetMs * WEBSOCKET_CLOSE_SHARE);
      // Peers closed with 1001 are detached: their sessions must reach the broker before it closes.
      await this.#sessions.quiesce(budgetMs * SESSION_HANDOVER_SHARE);
      await this.#layer.http.close();
      await this.#integration.close(budgetMs * WEBHOOK_FLUSH_SHARE);
      await this.operations.close();
      await this.#cluster.close();
      this.#deps.users.close?.();
    })();
    return this.#closing;
  }
}
