import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import { registerLoginRoutes } from './auth/login-route.js';
import { TokenService } from './auth/tokens.js';
import type { UserStore } from './auth/user-store.js';
import type { RuntimeResources } from './bootstrap.js';
import type { Broker } from './cluster/broker.js';
import { createLimitStores } from './cluster/create-limit-stores.js';
import { MemoryBroker } from './cluster/memory-broker.js';
import type { Config } from './config/config.js';
import { redactUrl } from './logger.js';
import { PROJECT_ROOT } from './project-files.js';
import { AuthFailureTracker } from './security/auth-failure-tracker.js';
import { ClientAddressResolver } from './security/client-address.js';
import { ConnectionCounter } from './security/connection-counter.js';
import { OriginPolicy } from './security/origin-policy.js';
import { SecurityEvents } from './security/security-events.js';
import { RateLimiter } from './security/token-bucket.js';
import { SignalingHub } from './signaling/signaling-hub.js';
import { registerErrorHandlers } from './transport/http-errors.js';
import type { RequestAuthDeps } from './transport/request-auth.js';
import { registerRoomRoutes } from './transport/room-routes.js';
import { registerStatusRoutes } from './transport/status-routes.js';
import { loadTlsMaterial } from './transport/tls.js';
import { WebSocketGateway } from './transport/websocket-gateway.js';

/** What `buildApp` needs besides the configuration. */
export interface AppDeps {
  readonly log: Logger;
  readonly jwtSecret: Uint8Array;
  readonly users: UserStore & { reload?(): Promise<unknown>; close?(): void };
  readonly tls: RuntimeResources['tls'];
  readonly broker?: Broker;
  readonly now?: () => number;
  readonly randomId?: () => string;
}

/** The wired server, not yet listening. */
export interface App {
  readonly http: FastifyInstance;
  readonly server: HttpServer | HttpsServer;
  readonly gateway: WebSocketGateway;
  readonly hub: SignalingHub;
  readonly broker: Broker;
  readonly events: SecurityEvents;
  readonly authFailures: AuthFailureTracker;
  readonly ipRate: RateLimiter;
  readonly connectionsPerIp: ConnectionCounter;
  /** Listens on config host/port (or `port`), resolving to the bound port. */
  listen(port?: number): Promise<number>;
  /** Re-reads the users file and, over HTTPS, the certificate and key (SIGHUP); open sockets stay. */
  reload(): Promise<void>;
  /** Closes every WebSocket with 1001, finishes in-flight HTTP requests, stops timers and the broker. */
  close(): Promise<void>;
}

const TRACKING_TABLE_MAX_KEYS = 100_000;
const SWEEP_INTERVAL_MS = 30_000;
const HTTP_BODY_LIMIT_BYTES = 16 * 1024;

/** 128 random bits, URL-safe: peer ids nobody can guess. */
export function randomPeerId(): string {
  return randomBytes(16).toString('base64url');
}

/** Wires configuration, security, the signaling core and the transports. Never listens by itself. */
export async function buildApp(config: Config, deps: AppDeps): Promise<App> {
  const now = deps.now ?? Date.now;
  const log = deps.log;
  const secure = config.requireHttps;
  if (secure && !deps.tls) throw new Error('REQUIRE_HTTPS=true needs TLS material');

  const broker = deps.broker ?? new MemoryBroker(now);
  const events = new SecurityEvents(log);
  const tokens = new TokenService({
    secret: deps.jwtSecret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expireMinutes: config.jwtExpireMinutes,
    now,
  });
  const addresses = new ClientAddressResolver(config.trustProxy);
  const origins = new OriginPolicy(config);
  const authFailures = new AuthFailureTracker({
    maxFailures: config.authMaxFailures,
    windowSeconds: config.authFailureWindow,
    blockSeconds: config.authBlockSeconds,
    maxEntries: TRACKING_TABLE_MAX_KEYS,
    now,
  });
  const rateOptions = {
    perMinute: config.rateLimitPerMinute,
    burst: config.rateLimitBurst,
    maxKeys: TRACKING_TABLE_MAX_KEYS,
    now,
  };
  const ipRate = new RateLimiter(rateOptions);
  const userRate = new RateLimiter(rateOptions);
  const connectionsPerIp = new ConnectionCounter(config.maxConnectionsPerIp);
  const limits = createLimitStores(
    config,
    broker,
    { ipRate, userRate, connections: connectionsPerIp, authFailures },
    now,
    (error, context) =>
      log.warn({ err: error, context }, 'shared limit store failed; using this instance’s own limits'),
  );
  const hub = new SignalingHub({
    broker,
    maxPeersPerRoom: config.maxConnectionsPerRoom,
    now,
    onBrokerError: (error, context) => log.error({ err: error, context }, 'broker operation failed'),
  });

  let server: HttpServer | HttpsServer;
  const serverOptions = {
    // Slowloris: a client must send its headers within 10 s and its whole request within 30 s.
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
    connectionsCheckingInterval: 1_000,
    maxHeaderSize: 16 * 1024,
  };
  const http: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // One access line per request comes from the onResponse hook below, with the URL redacted.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: HTTP_BODY_LIMIT_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => {
      server = secure
        ? createHttpsServer({ ...deps.tls!, ...serverOptions, handshakeTimeout: 10_000 }, handler)
        : createHttpServer(serverOptions, handler);
      return server;
    },
  });
  server = server!;

  const gateway = new WebSocketGateway({
    config,
    secure,
    hub,
    log,
    tokens,
    users: deps.users,
    addresses,
    connectionsPerIp: limits.connections,
    ipRate: limits.ipRate,
    userRate: limits.userRate,
    authFailures: limits.authFailures,
    origins,
    events,
    randomId: deps.randomId ?? randomPeerId,
    now,
  });
  gateway.attach(server);

  await http.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:', 'mediastream:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        objectSrc: ["'none'"],
      },
    },
    strictTransportSecurity: secure ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
    crossOriginEmbedderPolicy: false,
  });
  await http.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin === undefined ? false : origins.allowsCors(origin)),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'Authorization'],
    maxAge: 600,
  });
  registerErrorHandlers(http);
  http.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        url: redactUrl(request.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'http request',
    );
  });

  const requestAuth: RequestAuthDeps = {
    tokens,
    users: deps.users,
    authFailures: limits.authFailures,
    addresses,
    events,
  };
  registerStatusRoutes(http, {
    config,
    broker,
    connectionCount: () => gateway.connectionCount,
    startedAt: now(),
    now,
  });
  registerLoginRoutes(http, requestAuth);
  registerRoomRoutes(http, { config, broker, auth: requestAuth });
  await http.register(fastifyStatic, {
    root: join(PROJECT_ROOT, 'examples'),
    prefix: '/examples/',
    index: ['index.html'],
    dotfiles: 'deny',
  });
  await http.register(fastifyStatic, {
    root: join(PROJECT_ROOT, 'dist', 'client'),
    prefix: '/client/',
    decorateReply: false,
    index: false,
    dotfiles: 'deny',
  });

  const sweeper = setInterval(() => {
    ipRate.sweep();
    userRate.sweep();
    authFailures.sweep();
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  let closing: Promise<void> | null = null;
  return {
    http,
    server,
    gateway,
    hub,
    broker,
    events,
    authFailures,
    ipRate,
    connectionsPerIp,
    async listen(port = config.port) {
      // Fastify's own line would say http:// for an https.Server; main.ts logs the real URL.
      await http.listen({
        host: config.host,
        port,
        listenTextResolver: (address) => `HTTP server bound to ${address.replace(/^https?:\/\//, '')}`,
      });
      const address = server.address();
      return typeof address === 'object' && address !== null ? address.port : port;
    },
    async reload() {
      await deps.users.reload?.();
      if (secure) {
        const material = await loadTlsMaterial(config);
        (server as HttpsServer).setSecureContext(material);
        log.info({ cert: config.sslCertfile }, 'TLS certificate reloaded');
      }
    },
    close() {
      closing ??= (async () => {
        clearInterval(sweeper);
        await gateway.close(config.shutdownTimeoutSeconds * 500);
        await http.close();
        await broker.close();
        deps.users.close?.();
      })();
      return closing;
    },
  };
}
