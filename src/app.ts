import { randomBytes } from 'node:crypto';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppDiagnostics } from './app-diagnostics.js';
import { AccessVerifier } from './auth/access.js';
import { createHashUpgrader } from './auth/password-upgrade.js';
import { TokenService } from './auth/tokens.js';
import type { UserRecord, UserStore } from './auth/user-store.js';
import type { RuntimeResources } from './bootstrap.js';
import { type Cluster, createCluster } from './cluster/create-cluster.js';
import type { Config } from './config/config.js';
import { Integration } from './integration/integration.js';
import { Operations } from './operations/operations.js';
import { AuthGuard } from './security/auth-guard.js';
import { ClientAddressResolver, limitKey } from './security/client-address.js';
import { HostCheck } from './security/host-check.js';
import { LoginLimiter } from './security/login-limiter.js';
import { OriginPolicy } from './security/origin-policy.js';
import { SecurityEvents } from './security/security-events.js';
import { UnblockRequests } from './security/unblock-requests.js';
import { SignalingHub } from './signaling/signaling-hub.js';
import { registerHostGuard } from './transport/host-guard.js';
import { registerErrorHandlers } from './transport/http-errors.js';
import { createHttpLayer, type HttpLayer, listenOn } from './transport/http-server.js';
import { registerIceServerRoutes } from './transport/ice-server-routes.js';
import { registerLoginRoutes } from './transport/login-routes.js';
import { registerPeerjsRoutes } from './transport/peerjs-routes.js';
import { registerRoomRoutes } from './transport/room-routes.js';
import { registerSecurityHeaders } from './transport/security-headers.js';
import { registerStaticMounts } from './transport/static-mounts.js';
import { registerStatusRoutes } from './transport/status-routes.js';
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
/**
 * Share of `SHUTDOWN_TIMEOUT` that WebSocket closing handshakes may take; the rest is for in-flight
 * HTTP requests and the broker, so the whole shutdown fits the budget.
 */
const WEBSOCKET_CLOSE_SHARE = 0.5;
/** Share of `SHUTDOWN_TIMEOUT` for relays accepted before the drain to reach their recipients. */
const RELAY_FLUSH_SHARE = 0.2;
/** Share of `SHUTDOWN_TIMEOUT` for queued webhook events (the peers' `peer_left`) to go out. */
const WEBHOOK_FLUSH_SHARE = 0.1;

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
  const hosts = new HostCheck(config);
  const guard = new AuthGuard(ops.watchBlocks(cluster.limits.authFailures), events);
  const tokens = new TokenService({
    secret: deps.jwtSecret,
    previousSecrets: deps.jwtPreviousSecret ? [deps.jwtPreviousSecret] : [],
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expireMinutes: config.jwtExpireMinutes,
    now,
  });
  const integration = new Integration(config, { log, broker, events, now, registry: ops.metrics.registry });
  const access = new AccessVerifier(tokens, deps.users, (jti) => broker.isTokenDenied(jti));
  const hub = new SignalingHub({
    broker,
    ...(integration.observer ? { observer: integration.observer } : {}),
    onRelay: ops.onRelay,
    maxPeersPerRoom: config.maxConnectionsPerRoom,
    now,
    onBrokerError: (error, context) => log.error({ err: error, context }, 'broker operation failed'),
  });

  const layer = createHttpLayer(log, config.requireHttps ? deps.tls : null);
  const gateway = createWebSocketGateway(config, {
    ...{ hub, access, guard, addresses, origins, hosts, events, log, now },
    gate: integration.gate,
    limits: cluster.limits,
    randomId: deps.randomId ?? randomPeerId,
    traffic: ops.traffic,
  });
  gateway.attach(layer.server);
  deps.users.onChange?.(() => gateway.closeRevoked());

  const { http } = layer;
  await registerSecurityHeaders(http, origins, config.requireHttps);
  registerHostGuard(http, hosts);
  registerErrorHandlers(http);
  await ops.register(http, {
    connections: () => gateway.connectionCount,
    peers: () => hub.localPeerCount,
    rooms: () => hub.localRoomCount,
    events,
  });
  const requestAuth = { access, guard, addresses };
  const connectionCount = () => gateway.connectionCount;
  registerStatusRoutes(http, { config, broker, connectionCount, startedAt: now(), now });
  registerLoginRoutes(http, {
    ...{ ...requestAuth, tokens, users: deps.users, onPasswordChecked: ops.passwordChecked },
    limiter: loginLimiter(config),
    upgradeHash: hashUpgrader(deps, log),
  });
  registerRoomRoutes(http, { config, broker, auth: requestAuth });
  registerPeerjsRoutes(http, { config, broker, auth: requestAuth });
  registerIceServerRoutes(http, { config, auth: requestAuth });
  integration.register(http, requestAuth);
  await registerStaticMounts(http);

  const diagnostics = new AppDiagnostics({ gateway, hub, events, ...cluster });
  const unblocks = new UnblockRequests(
    config.usersFile,
    (ip) => guard.unblock({ ip, key: limitKey(ip) }),
    (error) => log.error({ err: error }, 'could not take the unblock requests'),
  );
  return new App(config, deps, layer, gateway, cluster, diagnostics, ops, unblocks, integration);
}

/** How many logins may run at once, per address, per username and in all (argon2 is costly). */
function loginLimiter(config: Config): LoginLimiter {
  return new LoginLimiter({
    maxPerAddress: LOGINS_IN_FLIGHT_PER_ADDRESS,
    maxPerUsername: LOGINS_IN_FLIGHT_PER_USERNAME,
    maxConcurrent: config.loginMaxConcurrent,
    maxQueued: config.loginQueueLength,
  });
}

/** Rewrites outdated password hashes after a successful login, when the users live in a file. */
function hashUpgrader(
  deps: AppDeps,
  log: Logger,
): ((user: UserRecord, password: string) => void) | undefined {
  if (deps.users.path === undefined) return undefined;
  return createHashUpgrader(deps.users.path, (err, user) =>
    log.warn({ err, user }, 'could not upgrade the password hash; the old one stays'),
  );
}

/** Logins one client address may have in flight; more are refused (429) before any hashing. */
const LOGINS_IN_FLIGHT_PER_ADDRESS = 2;
/** Password checks of one username at once; more wait their turn in the login queue. */
const LOGINS_IN_FLIGHT_PER_USERNAME = 2;

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
  #closing: Promise<void> | null = null;

  constructor(
    config: Config,
    deps: AppDeps,
    layer: HttpLayer,
    gateway: WebSocketGateway,
    cluster: Cluster,
    diagnostics: AppDiagnostics,
    operations: Operations,
    unblocks: UnblockRequests,
    integration: Integration,
  ) {
    this.#integration = integration;
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
    this.#unblocks = unblocks;
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
      this.operations.beginDrain();
      this.#gateway.stopAccepting();
      await this.operations.flushRelays(budgetMs * RELAY_FLUSH_SHARE);
      await this.#gateway.close(budgetMs * WEBSOCKET_CLOSE_SHARE);
      await this.#layer.http.close();
      await this.#integration.close(budgetMs * WEBHOOK_FLUSH_SHARE);
      await this.operations.close();
      await this.#cluster.close();
      this.#deps.users.close?.();
    })();
    return this.#closing;
  }
}
