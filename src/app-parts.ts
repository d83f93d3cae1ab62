import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AppDeps } from './app.js';
import type { AccessVerifier } from './auth/access.js';
import { loadJose } from './auth/jose-loader.js';
import { createHashUpgrader } from './auth/password-upgrade.js';
import { TokenService } from './auth/tokens.js';
import type { UserRecord } from './auth/user-store.js';
import type { Config } from './config/config.js';
import type { Integration } from './integration/integration.js';
import type { Operations } from './operations/operations.js';
import type { AuthGuard } from './security/auth-guard.js';
import { type ClientAddressResolver, limitKey } from './security/client-address.js';
import { LoginLimiter } from './security/login-limiter.js';
import { UnblockRequests } from './security/unblock-requests.js';
import type { Broker } from './signaling/broker.js';
import { PeerSessions } from './signaling/peer-sessions.js';
import { RelayArena } from './signaling/relay-arena.js';
import { SignalingHub } from './signaling/signaling-hub.js';
import { iceGrant, registerIceRoutes } from './transport/ice-servers.js';
import { registerLoginRoutes } from './transport/login-routes.js';
import { registerPeerjsRoutes } from './transport/peerjs-routes.js';
import { registerRoomRoutes } from './transport/room-routes.js';
import { registerStaticMounts } from './transport/static-mounts.js';
import { registerStatusRoutes } from './transport/status-routes.js';

/** Logins one client address may have in flight; more are refused (429) before any hashing. */
const LOGINS_IN_FLIGHT_PER_ADDRESS = 2;
/** Password checks of one username at once; more wait their turn in the login queue. */
const LOGINS_IN_FLIGHT_PER_USERNAME = 2;

/** Issues and verifies access tokens with the configured key (and the previous one, verify-only). */
export function createTokenService(config: Config, deps: AppDeps, now: () => number): TokenService {
  // Secure mode verifies a token on every connection: load the JWT library now, not on the first.
  if (config.requireAuth) loadJose().catch(() => {}); // a failed import shows at the first use
  return new TokenService({
    secret: deps.jwtSecret,
    previousSecrets: deps.jwtPreviousSecret ? [deps.jwtPreviousSecret] : [],
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expireMinutes: config.jwtExpireMinutes,
    now,
  });
}

/** The signaling core over the (instrumented) broker, reporting joins to the backend and relays to the metrics. */
export function createHub(
  config: Config,
  parts: { broker: Broker; integration: Integration; ops: Operations; log: Logger; now: () => number },
): SignalingHub {
  const { log, integration } = parts;
  return new SignalingHub({
    broker: parts.broker,
    ...(integration.observer ? { observer: integration.observer } : {}),
    onRelay: parts.ops.onRelay,
    maxPeersPerRoom: config.maxConnectionsPerRoom,
    now: parts.now,
    onBrokerError: (error, context) => log.error({ err: error, context }, 'broker operation failed'),
  });
}

/** `npm run users -- unblock ADDRESS` requests, taken by this server from beside its users file. */
export function createUnblockRequests(config: Config, guard: AuthGuard, log: Logger): UnblockRequests {
  return new UnblockRequests(
    config.usersFile,
    (ip) => guard.unblock({ ip, key: limitKey(ip) }),
    (error) => log.error({ err: error }, 'could not take the unblock requests'),
  );
}

/** Sessions that outlive their connections for `RESUME_GRACE_SECONDS` (resume), with ICE grants. */
export function createPeerSessions(
  config: Config,
  parts: { hub: SignalingHub; broker: Broker; log: Logger; now: () => number; randomId: () => string },
): PeerSessions {
  const { now, log } = parts;
  return new PeerSessions({
    hub: parts.hub,
    broker: parts.broker,
    graceMs: config.resumeGraceSeconds * 1000,
    arena: new RelayArena(config.resumeHistoryBytes),
    now,
    randomId: parts.randomId,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
    iceServers: (user) => iceGrant(config, user, now()),
    onError: (error, context) => log.error({ err: error, context }, 'session operation failed'),
  });
}

/** What the HTTP routes are made of. */
export interface HttpRouteParts {
  readonly access: AccessVerifier;
  readonly guard: AuthGuard;
  readonly addresses: ClientAddressResolver;
  readonly tokens: TokenService;
  readonly broker: Broker;
  readonly ops: Operations;
  readonly integration: Integration;
  readonly connectionCount: () => number;
  readonly now: () => number;
}

/** Every HTTP route after the security headers and error handlers: status, login, rooms, dialects, ICE, backend, files. */
export async function registerHttpRoutes(
  http: FastifyInstance,
  config: Config,
  deps: AppDeps,
  parts: HttpRouteParts,
): Promise<void> {
  const { broker, now } = parts;
  const auth = { access: parts.access, guard: parts.guard, addresses: parts.addresses };
  registerStatusRoutes(http, {
    config,
    broker,
    connectionCount: parts.connectionCount,
    startedAt: now(),
    now,
  });
  registerLoginRoutes(http, {
    ...{ ...auth, tokens: parts.tokens, users: deps.users, onPasswordChecked: parts.ops.passwordChecked },
    limiter: new LoginLimiter({
      maxPerAddress: LOGINS_IN_FLIGHT_PER_ADDRESS,
      maxPerUsername: LOGINS_IN_FLIGHT_PER_USERNAME,
      maxConcurrent: config.loginMaxConcurrent,
      maxQueued: config.loginQueueLength,
    }),
    upgradeHash: hashUpgrader(deps),
  });
  registerRoomRoutes(http, { config, broker, auth });
  registerPeerjsRoutes(http, { config, broker, auth });
  registerIceRoutes(http, { config, auth, now });
  parts.integration.register(http, auth);
  await registerStaticMounts(http);
}

/** Rewrites outdated password hashes after a successful login, when the users live in a file. */
function hashUpgrader(deps: AppDeps): ((user: UserRecord, password: string) => void) | undefined {
  if (deps.users.path === undefined) return undefined;
  return createHashUpgrader(deps.users.path, (err, user) =>
    deps.log.warn({ err, user }, 'could not upgrade the password hash; the old one stays'),
  );
}
