import { randomBytes } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppDiagnostics } from './app-diagnostics.js';
import { AccessVerifier } from './auth/access.js';
import { TokenService } from './auth/tokens.js';
import type { UserStore } from './auth/user-store.js';
import type { RuntimeResources } from './bootstrap.js';
import { type Cluster, createCluster } from './cluster/create-cluster.js';
import type { Config } from './config/config.js';
import { Operations } from './operations/operations.js';
import { AuthGuard } from './security/auth-guard.js';
import { ClientAddressResolver } from './security/client-address.js';
import { OriginPolicy } from './security/origin-policy.js';
import { SecurityEvents } from './security/security-events.js';
import { PeerSessions } from './signaling/peer-sessions.js';
import { SignalingHub } from './signaling/signaling-hub.js';
import { registerErrorHandlers } from './transport/http-errors.js';
import { createHttpLayer, type HttpLayer, listenOn } from './transport/http-server.js';
import { iceGrant, registerIceRoutes } from './transport/ice-servers.js';
import { registerLoginRoutes } from './transport/login-routes.js';
import { registerRoomRoutes } from './transport/room-routes.js';
import { registerSecurityHeaders } from './transport/security-headers.js';
import { registerStaticMounts } from './transport/static-mounts.js';
import { registerStatusRoutes } from './transport/status-routes.js';
import { loadTlsMaterial } from './transport/tls.js';
import { ConnectionAuth } from './transport/websocket/connection-auth.js';
import { LivenessMonitor } from './transport/websocket/liveness-monitor.js';
import { MessageAdmission } from './transport/websocket/message-admission.js';
import { SignalingDialect } from './transport/websocket/signaling-dialect.js';
import { UpgradeAdmission } from './transport/websocket/upgrade-admission.js';
import { WebSocketGateway } from './transport/websocket/websocket-gateway.js';

/** What `buildApp` needs besides the configuration. */
export interface AppDeps {
  readonly log: Logger;
  readonly jwtSecret: Uint8Array;
  readonly users: UserStore & { reload?(): Promise<unknown>; close?(): void };
  readonly tls: RuntimeResources['tls'];
  readonly now?: () => number;
  readonly randomId?: () => string;
}

const LIMIT_SWEEP_INTERVAL_MS = 30_000;
/**
 * Share of `SHUTDOWN_TIMEOUT` that WebSocket closing handshakes may take; the rest is for in-flight
 * HTTP requests and the broker, so the whole shutdown fits the budget.
 */
const WEBSOCKET_CLOSE_SHARE = 0.5;
/** Share of `SHUTDOWN_TIMEOUT` for relays accepted before the drain to reach their recipients. */
const RELAY_FLUSH_SHARE = 0.2;
/** Share of `SHUTDOWN_TIMEOUT` for dropped peers' sessions to be handed to the broker for a resume. */
const SESSION_HANDOVER_SHARE = 0.2;
/** How often ended resume grace periods and overflowed buffers are looked for. */
const SESSION_SWEEP_INTERVAL_MS = 1000;

/** 128 random bits, URL-safe: peer ids nobody can guess. */
export function randomPeerId(): string {
  return randomBytes(16).toString('base64url');
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
  const guard = new AuthGuard(ops.watchBlocks(cluster.limits.authFailures), events);
  const tokens = new TokenService({
    secret: deps.jwtSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expireMinutes: config.jwtExpireMinutes,
    now,
  });
  const access = new AccessVerifier(tokens, deps.users);
  const hub = new SignalingHub({
    broker,
    onRelay: ops.onRelay,
    maxPeersPerRoom: config.maxConnectionsPerRoom,
    now,
    onBrokerError: (error, context) => log.error({ err: error, context }, 'broker operation failed'),
  });

  const randomId = deps.randomId ?? randomPeerId;
  const sessions = new PeerSessions({
    hub,
    broker,
    graceMs: config.resumeGraceSeconds * 1000,
    now,
    randomId,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
    iceServers: (user) => iceGrant(config, user, now()),
    onError: (error, context) => log.error({ err: error, context }, 'session operation failed'),
  });

  const layer = createHttpLayer(log, config.requireHttps ? deps.tls : null);
  const auth = new ConnectionAuth({ requireAuth: config.requireAuth, access, guard, now });
  const gateway = new WebSocketGateway({
    config,
    secure: config.requireHttps,
    dialects: [new SignalingDialect({ hub, auth, events, log, randomId, sessions })],
    admission: new UpgradeAdmission({ addresses, guard, connections: cluster.limits.connections, events }),
    auth,
    messages: new MessageAdmission({ ...cluster.limits, events, now }),
    liveness: new LivenessMonitor({ timeoutSeconds: config.websocketTimeout, log, now }),
    origins,
    events,
    log,
    now,
    traffic: ops.traffic,
  });
  gateway.attach(layer.server);

  const { http } = layer;
  await registerSecurityHeaders(http, origins, config.requireHttps);
  registerErrorHandlers(http);
  await ops.register(http, {
    connections: () => gateway.connectionCount,
    peers: () => hub.localPeerCount,
    rooms: () => hub.localRoomCount,
    events,
  });
  const requestAuth = { access, guard, addresses };
  registerStatusRoutes(http, {
    config,
    broker,
    connectionCount: () => gateway.connectionCount,
    startedAt: now(),
    now,
  });
  registerLoginRoutes(http, {
    ...requestAuth,
    tokens,
    users: deps.users,
    onPasswordChecked: ops.passwordChecked,
  });
  registerRoomRoutes(http, { config, broker, auth: requestAuth });
  registerIceRoutes(http, { config, auth: requestAuth, now });
  await registerStaticMounts(http);

  const diagnostics = new AppDiagnostics({ gateway, hub, events, ...cluster });
  return new App(config, deps, layer, gateway, cluster, diagnostics, ops, sessions);
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
  readonly #sweeper: NodeJS.Timeout;
  readonly #sessions: PeerSessions;
  readonly #sessionSweeper: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  constructor(
    config: Config,
    deps: AppDeps,
    layer: HttpLayer,
    gateway: WebSocketGateway,
    cluster: Cluster,
    diagnostics: AppDiagnostics,
    operations: Operations,
    sessions: PeerSessions,
  ) {
    this.#config = config;
    this.#deps = deps;
    this.#layer = layer;
    this.#gateway = gateway;
    this.#cluster = cluster;
    this.http = layer.http;
    this.diagnostics = diagnostics;
    this.operations = operations;
    this.brokerKind = cluster.broker.kind;
    this.#sweeper = setInterval(() => cluster.local.sweep(), LIMIT_SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
    this.#sessions = sessions;
    this.#sessionSweeper = setInterval(() => {
      sessions
        .sweep()
        .catch((error: unknown) => deps.log.error({ err: error, context: 'sweep' }, 'session sweep failed'));
    }, SESSION_SWEEP_INTERVAL_MS);
    this.#sessionSweeper.unref();
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
      clearInterval(this.#sessionSweeper);
      this.operations.beginDrain();
      this.#gateway.stopAccepting();
      await this.operations.flushRelays(budgetMs * RELAY_FLUSH_SHARE);
      await this.#gateway.close(budgetMs * WEBSOCKET_CLOSE_SHARE);
      // Peers closed with 1001 are detached: their sessions must reach the broker before it closes.
      await this.#sessions.quiesce(budgetMs * SESSION_HANDOVER_SHARE);
      await this.#layer.http.close();
      await this.operations.close();
      await this.#cluster.close();
      this.#deps.users.close?.();
    })();
    return this.#closing;
  }
}
