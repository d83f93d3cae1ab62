import { randomBytes } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppDiagnostics } from './app-diagnostics.js';
import { AccessVerifier } from './auth/access.js';
import { createHashUpgrader } from './auth/password-upgrade.js';
import { TokenService } from './auth/tokens.js';
import type { UserStore } from './auth/user-store.js';
import type { RuntimeResources } from './bootstrap.js';
import { type Cluster, createCluster } from './cluster/create-cluster.js';
import type { Config } from './config/config.js';
import { AuthGuard } from './security/auth-guard.js';
import { ClientAddressResolver } from './security/client-address.js';
import { HostCheck } from './security/host-check.js';
import { LoginLimiter } from './security/login-limiter.js';
import { OriginPolicy } from './security/origin-policy.js';
import { SecurityEvents } from './security/security-events.js';
import { SignalingHub } from './signaling/signaling-hub.js';
import { registerHostGuard } from './transport/host-guard.js';
import { registerErrorHandlers } from './transport/http-errors.js';
import { createHttpLayer, type HttpLayer, listenOn } from './transport/http-server.js';
import { registerIceServerRoutes } from './transport/ice-server-routes.js';
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
/** Logins one client address may have in flight; more are refused (429) before any hashing. */
const LOGINS_IN_FLIGHT_PER_ADDRESS = 2;
/** Password checks of one username at once; more wait their turn in the login queue. */
const LOGINS_IN_FLIGHT_PER_USERNAME = 2;
/**
 * Share of `SHUTDOWN_TIMEOUT` that WebSocket closing handshakes may take; the rest is for in-flight
 * HTTP requests and the broker, so the whole shutdown fits the budget.
 */
const WEBSOCKET_CLOSE_SHARE = 0.5;

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
  const events = new SecurityEvents(log);
  const addresses = new ClientAddressResolver(config.trustProxy);
  const origins = new OriginPolicy(config);
  const hosts = new HostCheck(config);
  const guard = new AuthGuard(cluster.limits.authFailures, events);
  const tokens = new TokenService({
    secret: deps.jwtSecret,
    previousSecrets: deps.jwtPreviousSecret ? [deps.jwtPreviousSecret] : [],
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expireMinutes: config.jwtExpireMinutes,
    now,
  });
  const access = new AccessVerifier(tokens, deps.users);
  const hub = new SignalingHub({
    broker: cluster.broker,
    maxPeersPerRoom: config.maxConnectionsPerRoom,
    now,
    onBrokerError: (error, context) => log.error({ err: error, context }, 'broker operation failed'),
  });

  const layer = createHttpLayer(log, config.requireHttps ? deps.tls : null);
  const auth = new ConnectionAuth({ requireAuth: config.requireAuth, access, guard, now });
  const gateway = new WebSocketGateway({
    config,
    secure: config.requireHttps,
    dialects: [new SignalingDialect({ hub, auth, events, log, randomId: deps.randomId ?? randomPeerId })],
    admission: new UpgradeAdmission({ addresses, guard, connections: cluster.limits.connections, events }),
    auth,
    messages: new MessageAdmission({ ...cluster.limits, events, now }),
    liveness: new LivenessMonitor({ timeoutSeconds: config.websocketTimeout, log, now }),
    origins,
    hosts,
    events,
    log,
    now,
  });
  gateway.attach(layer.server);
  deps.users.onChange?.(() => gateway.closeRevoked((c) => auth.revokedReason(c)));

  const { http } = layer;
  await registerSecurityHeaders(http, origins, config.requireHttps);
  registerHostGuard(http, hosts);
  registerErrorHandlers(http);
  const requestAuth = { access, guard, addresses };
  registerStatusRoutes(http, {
    config,
    broker: cluster.broker,
    connectionCount: () => gateway.connectionCount,
    startedAt: now(),
    now,
  });
  registerLoginRoutes(http, {
    ...requestAuth,
    tokens,
    users: deps.users,
    limiter: new LoginLimiter({
      maxPerAddress: LOGINS_IN_FLIGHT_PER_ADDRESS,
      maxPerUsername: LOGINS_IN_FLIGHT_PER_USERNAME,
      maxConcurrent: config.loginMaxConcurrent,
      maxQueued: config.loginQueueLength,
    }),
    upgradeHash:
      deps.users.path === undefined
        ? undefined
        : createHashUpgrader(deps.users.path, (err, user) =>
            log.warn({ err, user }, 'could not upgrade the password hash; the old one stays'),
          ),
  });
  registerRoomRoutes(http, { config, broker: cluster.broker, auth: requestAuth });
  registerIceServerRoutes(http, { config, auth: requestAuth });
  await registerStaticMounts(http);

  const diagnostics = new AppDiagnostics({ gateway, hub, events, ...cluster });
  return new App(config, deps, layer, gateway, cluster, diagnostics);
}

/** The wired server, not yet listening. */
export class App {
  readonly http: FastifyInstance;
  /** Read-only figures of this instance, for tests and diagnostics. */
  readonly diagnostics: AppDiagnostics;
  /** Where rooms live: `memory` or `redis`. */
  readonly brokerKind: 'memory' | 'redis';
  readonly #config: Config;
  readonly #deps: AppDeps;
  readonly #layer: HttpLayer;
  readonly #gateway: WebSocketGateway;
  readonly #cluster: Cluster;
  readonly #sweeper: NodeJS.Timeout;
  #closing: Promise<void> | null = null;

  constructor(
    config: Config,
    deps: AppDeps,
    layer: HttpLayer,
    gateway: WebSocketGateway,
    cluster: Cluster,
    diagnostics: AppDiagnostics,
  ) {
    this.#config = config;
    this.#deps = deps;
    this.#layer = layer;
    this.#gateway = gateway;
    this.#cluster = cluster;
    this.http = layer.http;
    this.diagnostics = diagnostics;
    this.brokerKind = cluster.broker.kind;
    this.#sweeper = setInterval(() => cluster.local.sweep(), LIMIT_SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
  }

  /** Listens on the configured host and port (or `port`), resolving to the bound port. */
  listen(port = this.#config.port): Promise<number> {
    return listenOn(this.#layer, this.#config.host, port);
  }

  /** Re-reads the users file and, over HTTPS, the certificate and key (SIGHUP); open sockets stay. */
  async reload(): Promise<void> {
    await this.#deps.users.reload?.();
    if (this.#config.requireHttps) {
      (this.#layer.server as HttpsServer).setSecureContext(await loadTlsMaterial(this.#config));
      this.#deps.log.info({ cert: this.#config.sslCertfile }, 'TLS certificate reloaded');
    }
  }

  /** Closes every WebSocket with 1001, finishes in-flight HTTP requests, stops timers and the broker. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweeper);
      await this.#gateway.close(this.#config.shutdownTimeoutSeconds * 1000 * WEBSOCKET_CLOSE_SHARE);
      await this.#layer.http.close();
      await this.#cluster.broker.close();
      this.#deps.users.close?.();
    })();
    return this.#closing;
  }
}
