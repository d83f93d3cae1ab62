import { z } from 'zod';
import { jwtKeyProblem } from '../auth/jwt-key.js';
import { dialectPath } from './dialect-paths.js';
import { iceIssues, iceUrlList, turnSecretText } from './ice-config.js';
import { INTEGRATION_ENVIRONMENT, integrationIssues, integrationSettings } from './integration.js';
import { redisUrlText, scaleOutIssues, workersText } from './scale-out.js';
import {
  booleanText,
  iceServersText,
  integer,
  isOrigin,
  originText,
  secretText,
  trustProxyText,
  withDefault,
} from './value-parsers.js';

/**
 * How `X-Forwarded-For` is trusted: never, by hop count, or only from listed proxy addresses.
 * `TRUST_PROXY=true` is one hop: the left-most entry is whatever the client wrote.
 */
export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] };

/** One ICE server entry handed to browsers by `GET /api/ice-servers`. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** A configuration problem: which variable, what it held, what is allowed. */
export interface ConfigIssue {
  readonly variable: string;
  readonly value: string;
  readonly allowed: string;
}

/** Thrown by `loadConfig` with every problem at once; `message` has one line per problem. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function formatIssue(issue: ConfigIssue): string {
  return `invalid configuration: ${issue.variable}=${JSON.stringify(issue.value)}: ${issue.allowed}`;
}

/** The environment `loadConfig` reads: variable name to text; an unset variable is absent or undefined. */
export type Environment = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DEFAULT_ICE_SERVERS: readonly IceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }];

// Each environment variable the server reads, in documentation order, with its default and parser.
// A variable without a default is optional: unset, it is undefined; set, even to '', it is parsed.
const ENVIRONMENT = z.object({
  HOST: withDefault('0.0.0.0', z.string().trim().min(1, { message: 'expected a host name or address' })),
  PORT: withDefault('8000', integer(0, 65535)),
  DEBUG: withDefault('false', booleanText),
  REQUIRE_HTTPS: withDefault('true', booleanText),
  REQUIRE_AUTH: withDefault('true', booleanText),
  SECRET_KEY: secretText.optional(),
  JWT_SECRET_KEY: secretText.optional(),
  JWT_SECRET_KEY_PREVIOUS: secretText.optional(),
  JWT_SECRET_FILE: withDefault('.jwt_secret', z.string().min(1)),
  JWT_EXPIRE_MINUTES: withDefault('60', integer(1, 525600)),
  JWT_ISSUER: withDefault('webrtc-signaling-server', z.string().min(1)),
  JWT_AUDIENCE: withDefault('webrtc-signaling', z.string().min(1)),
  CORS_ORIGINS: withDefault('https://localhost:3000', originText),
  PUBLIC_ORIGIN: z
    .string()
    .refine(isOrigin, { message: 'expected the origin clients use, like https://signal.example.com' })
    .transform((o) => new URL(o).origin)
    .optional(),
  RATE_LIMIT_PER_MINUTE: withDefault('60', integer(1, 10_000_000)),
  RATE_LIMIT_BURST: integer(1, 10_000_000).optional(),
  MAX_CONNECTIONS_PER_IP: withDefault('5', integer(1, 10_000_000)),
  MAX_CONNECTIONS_PER_ROOM: withDefault('10', integer(2, 100_000)),
  WEBSOCKET_TIMEOUT: withDefault('30', integer(1, 86_400)),
  MAX_MESSAGE_BYTES: withDefault('65536', integer(256, 16 * 1024 * 1024)),
  AUTH_MAX_FAILURES: withDefault('5', integer(1, 1_000_000)),
  AUTH_FAILURE_WINDOW: withDefault('300', integer(1, 86_400 * 7)),
  AUTH_BLOCK_SECONDS: withDefault('900', integer(1, 86_400 * 30)),
  LOGIN_MAX_CONCURRENT: withDefault('2', integer(1, 64)),
  LOGIN_QUEUE_LENGTH: withDefault('32', integer(0, 10_000)),
  USERS_FILE: withDefault('users.csv', z.string().min(1)),
  SSL_CERTFILE: withDefault('ssl/server.crt', z.string().min(1)),
  SSL_KEYFILE: withDefault('ssl/server.key', z.string().min(1)),
  TRUST_PROXY: withDefault('false', trustProxyText),
  REDIS_URL: redisUrlText.optional(),
  REDIS_KEY_PREFIX: withDefault(
    'signaling:',
    z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'expected 1 to 64 of A-Z a-z 0-9 _ . : -' }),
  ),
  REDIS_CLUSTER: withDefault('false', booleanText),
  REDIS_HEARTBEAT_MS: withDefault('1000', integer(100, 60_000)),
  WORKERS: withDefault('1', workersText),
  LOG_LEVEL: withDefault(
    'info',
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })),
  ),
  ICE_SERVERS: iceServersText.optional(),
  STUN_URLS: iceUrlList(['stun', 'stuns']).optional(),
  TURN_URLS: iceUrlList(['turn', 'turns']).optional(),
  TURN_SECRET: turnSecretText.optional(),
  TURN_TTL: withDefault('86400', integer(60, 7 * 86_400)),
  RESUME_GRACE_SECONDS: withDefault('30', integer(0, 3600)),
  RESUME_BUFFER_MESSAGES: withDefault('100', integer(1, 100_000)),
  RESUME_BUFFER_BYTES: withDefault('262144', integer(1024, 64 * 1024 * 1024)),
  RESUME_HISTORY_BYTES: withDefault('16777216', integer(64 * 1024, 1024 * 1024 * 1024)),
  SHUTDOWN_TIMEOUT: withDefault('8', integer(1, 9)),
  METRICS_TOKEN: secretText.optional(),
  METRICS_PORT: integer(1, 65535).optional(),
  PEERJS_PATH: dialectPath('/peerjs'),
  PEERJS_DISCOVERY: withDefault('false', booleanText),
  PEERJS_EXPIRE_TIMEOUT: withDefault('5', integer(1, 300)),
  PEERJS_MAX_PEERS_PER_KEY: withDefault('1000', integer(2, 10_000_000)),
  YWEBRTC_PATH: dialectPath('/y-webrtc'),
  YWEBRTC_MAX_SUBSCRIBERS_PER_TOPIC: withDefault('100', integer(2, 100_000)),
  ...INTEGRATION_ENVIRONMENT,
});

// The variables as the server uses them; the types of `Config` come from here.
const CONFIG = ENVIRONMENT.transform((env) =>
  Object.freeze({
    host: env.HOST,
    port: env.PORT,
    debug: env.DEBUG,
    requireHttps: env.REQUIRE_HTTPS,
    requireAuth: env.REQUIRE_AUTH,
    secretKey: env.SECRET_KEY ?? null,
    jwtSecretKey: env.JWT_SECRET_KEY ?? null,
    jwtSecretKeyPrevious: env.JWT_SECRET_KEY_PREVIOUS ?? null,
    jwtSecretFile: env.JWT_SECRET_FILE,
    jwtExpireMinutes: env.JWT_EXPIRE_MINUTES,
    jwtIssuer: env.JWT_ISSUER,
    jwtAudience: env.JWT_AUDIENCE,
    corsOrigins: Object.freeze([...env.CORS_ORIGINS]),
    publicOrigin: env.PUBLIC_ORIGIN ?? null,
    rateLimitPerMinute: env.RATE_LIMIT_PER_MINUTE,
    rateLimitBurst: env.RATE_LIMIT_BURST ?? env.RATE_LIMIT_PER_MINUTE,
    maxConnectionsPerIp: env.MAX_CONNECTIONS_PER_IP,
    maxConnectionsPerRoom: env.MAX_CONNECTIONS_PER_ROOM,
    websocketTimeout: env.WEBSOCKET_TIMEOUT,
    maxMessageBytes: env.MAX_MESSAGE_BYTES,
    authMaxFailures: env.AUTH_MAX_FAILURES,
    authFailureWindow: env.AUTH_FAILURE_WINDOW,
    authBlockSeconds: env.AUTH_BLOCK_SECONDS,
    loginMaxConcurrent: env.LOGIN_MAX_CONCURRENT,
    loginQueueLength: env.LOGIN_QUEUE_LENGTH,
    usersFile: env.USERS_FILE,
    sslCertfile: env.SSL_CERTFILE,
    sslKeyfile: env.SSL_KEYFILE,
    trustProxy: env.TRUST_PROXY,
    redisUrl: env.REDIS_URL ?? null,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    redisCluster: env.REDIS_CLUSTER,
    redisHeartbeatMs: env.REDIS_HEARTBEAT_MS,
    /** Worker processes sharing the port (node:cluster); 1 runs the server in this process. */
    workers: env.WORKERS,
    logLevel: env.LOG_LEVEL,
    // The public STUN default only when no ICE variable is set at all.
    iceServers: Object.freeze([
      ...(env.ICE_SERVERS ?? (env.STUN_URLS || env.TURN_URLS ? [] : DEFAULT_ICE_SERVERS)),
    ]),
    stunUrls: Object.freeze([...(env.STUN_URLS ?? [])]),
    turnUrls: Object.freeze([...(env.TURN_URLS ?? [])]),
    /** Shared secrets for TURN REST credentials; the first signs, the others are still accepted by coturn. */
    turnSecrets: Object.freeze([...(env.TURN_SECRET ?? [])]),
    turnTtl: env.TURN_TTL,
    /** Seconds a dropped peer stays resumable; 0 turns resume off. */
    resumeGraceSeconds: env.RESUME_GRACE_SECONDS,
    resumeBufferMessages: env.RESUME_BUFFER_MESSAGES,
    resumeBufferBytes: env.RESUME_BUFFER_BYTES,
    /** Size of the one ring that keeps recently delivered relays for resumes, shared by all peers. */
    resumeHistoryBytes: env.RESUME_HISTORY_BYTES,
    shutdownTimeoutSeconds: env.SHUTDOWN_TIMEOUT,
    /** Bearer token `GET /metrics` requires; null leaves it open (protect it at the network). */
    metricsToken: env.METRICS_TOKEN ?? null,
    /** Serve `/metrics` on this port only (not on `PORT`); null serves it on `PORT`. */
    metricsPort: env.METRICS_PORT ?? null,
    /** Where PeerJS clients connect (`{path}/{key}/id`, `{path}/peerjs`); null: PeerJS is off. */
    peerjsPath: env.PEERJS_PATH,
    peerjsDiscovery: env.PEERJS_DISCOVERY,
    peerjsExpireTimeoutSeconds: env.PEERJS_EXPIRE_TIMEOUT,
    peerjsMaxPeersPerKey: env.PEERJS_MAX_PEERS_PER_KEY,
    /** The y-webrtc signaling WebSocket path; null: y-webrtc is off. */
    ywebrtcPath: env.YWEBRTC_PATH,
    ywebrtcMaxSubscribersPerTopic: env.YWEBRTC_MAX_SUBSCRIBERS_PER_TOPIC,
    ...integrationSettings(env),
  }),
);

/** The validated, frozen server configuration. Built once by `loadConfig`; never read from env elsewhere. */
export type Config = z.output<typeof CONFIG>;

/** The names of every environment variable the server reads, in documentation order. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(ENVIRONMENT.shape));

/**
 * Parses and validates the server configuration from an environment map (already merged with `.env`).
 * Pure: reads nothing but `env`. Throws `ConfigError` listing every bad variable at once.
 */
export function loadConfig(env: Environment): Config {
  const result = CONFIG.safeParse(env);
  const issues: ConfigIssue[] = [];
  for (const variable of CONFIG_VARIABLES) {
    const issue = result.error?.issues.find((i) => i.path[0] === variable);
    // Only a set value can fail (every default is valid), so the value shown is the one set.
    if (issue) issues.push({ variable, value: env[variable] ?? '', allowed: issue.message });
  }
  const keyIssue = jwtKeyIssue(env);
  if (keyIssue) issues.push(keyIssue);
  if (result.success) {
    const { workers, redisUrl, redisCluster } = result.data;
    issues.push(...scaleOutIssues({ workers, redisUrl: redisUrl ?? undefined, redisCluster }));
    issues.push(...iceIssues(result.data));
  }
  const previous = secretText.safeParse(env['JWT_SECRET_KEY_PREVIOUS']);
  const previousProblem = previous.success ? jwtKeyProblem(previous.data) : undefined;
  if (previousProblem !== undefined)
    issues.push({ variable: 'JWT_SECRET_KEY_PREVIOUS', value: '<redacted>', allowed: previousProblem });
  issues.push(...integrationIssues(env));
  if (!result.success || issues.length > 0) throw new ConfigError(issues);
  return result.data;
}

// The key in force is JWT_SECRET_KEY when it is valid, else SECRET_KEY; only that one must be long
// enough, and its value is never shown.
function jwtKeyIssue(env: Environment): ConfigIssue | undefined {
  for (const variable of ['JWT_SECRET_KEY', 'SECRET_KEY']) {
    const key = secretText.safeParse(env[variable]);
    if (!key.success) continue;
    const problem = jwtKeyProblem(key.data);
    return problem === undefined ? undefined : { variable, value: '<redacted>', allowed: problem };
  }
  return undefined;
}
