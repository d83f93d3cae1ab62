import { z } from 'zod';

/** How `X-Forwarded-For` is trusted: never, by hop count, or only from listed proxy addresses. */
export type TrustProxy =
  | { readonly kind: 'none' }
  | { readonly kind: 'all' }
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'addresses'; readonly addresses: readonly string[] };

/** One ICE server entry handed to browsers by `GET /api/ice-servers`. */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** The validated, frozen server configuration. Built once by `loadConfig`; never read from env elsewhere. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly debug: boolean;
  readonly requireHttps: boolean;
  readonly requireAuth: boolean;
  readonly secretKey: string | null;
  readonly jwtSecretKey: string | null;
  readonly jwtSecretFile: string;
  readonly jwtExpireMinutes: number;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly corsOrigins: readonly string[];
  readonly rateLimitPerMinute: number;
  readonly rateLimitBurst: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerRoom: number;
  readonly websocketTimeout: number;
  readonly maxMessageBytes: number;
  readonly authMaxFailures: number;
  readonly authFailureWindow: number;
  readonly authBlockSeconds: number;
  readonly usersFile: string;
  readonly sslCertfile: string;
  readonly sslKeyfile: string;
  readonly trustProxy: TrustProxy;
  readonly redisUrl: string | null;
  readonly redisKeyPrefix: string;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly iceServers: readonly IceServer[];
  readonly shutdownTimeoutSeconds: number;
  /** Bearer token `GET /metrics` requires; null leaves it open (protect it at the network). */
  readonly metricsToken: string | null;
  /** Serve `/metrics` on this port only (not on `PORT`); null serves it on `PORT`. */
  readonly metricsPort: number | null;
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

export type Environment = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const DEFAULT_ICE_SERVERS: readonly IceServer[] = [{ urls: 'stun:stun.l.google.com:19302' }];

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(v), {
    message: 'expected true or false',
  })
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

function integer(min: number, max: number) {
  return z
    .string()
    .trim()
    .regex(/^\d+$/, { message: `expected a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `expected a whole number from ${min} to ${max}` });
}

const originText = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  )
  .refine((list) => list.every(isOrigin), {
    message: 'expected comma-separated origins like https://app.example.com (scheme://host[:port], no path)',
  })
  .transform((list) => list.map((o) => new URL(o).origin));

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '' &&
      url.username === '' &&
      !value.replace(/\/$/, '').includes('/', url.protocol.length + 2)
    );
  } catch {
    return false;
  }
}

const trustProxyText = z.string().transform((value, ctx): TrustProxy => {
  const v = value.trim();
  const lower = v.toLowerCase();
  if (['false', '0', 'no', 'off', ''].includes(lower)) return { kind: 'none' };
  if (['true', 'yes', 'on'].includes(lower)) return { kind: 'all' };
  if (/^\d+$/.test(v)) return { kind: 'hops', hops: Number(v) };
  const addresses = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (addresses.every((a) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a))) return { kind: 'addresses', addresses };
  ctx.addIssue({
    code: 'custom',
    message: 'expected true, false, a hop count, or comma-separated proxy IPs/CIDRs',
  });
  return z.NEVER;
});

const iceServersText = z.string().transform((value, ctx): readonly IceServer[] => {
  const iceServer = z.object({
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  });
  try {
    const parsed = z.array(iceServer).safeParse(JSON.parse(value));
    if (parsed.success) return parsed.data;
  } catch {
    // reported below
  }
  ctx.addIssue({
    code: 'custom',
    message: 'expected a JSON array like [{"urls":"stun:stun.example.org:3478"}]',
  });
  return z.NEVER;
});

const redisUrlText = z.string().refine(
  (v) => {
    try {
      return ['redis:', 'rediss:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'expected a URL like redis://127.0.0.1:6379' },
);

const secretText = z.string().min(1, { message: 'must not be empty when set' });

/** Each environment variable, its default (as text, as a user would write it) and its parser. */
const VARIABLES = {
  HOST: {
    fallback: '0.0.0.0',
    schema: z.string().trim().min(1, { message: 'expected a host name or address' }),
  },
  PORT: { fallback: '8000', schema: integer(0, 65535) },
  DEBUG: { fallback: 'false', schema: booleanText },
  REQUIRE_HTTPS: { fallback: 'true', schema: booleanText },
  REQUIRE_AUTH: { fallback: 'true', schema: booleanText },
  SECRET_KEY: { fallback: undefined, schema: secretText },
  JWT_SECRET_KEY: { fallback: undefined, schema: secretText },
  JWT_SECRET_FILE: { fallback: '.jwt_secret', schema: z.string().min(1) },
  JWT_EXPIRE_MINUTES: { fallback: '60', schema: integer(1, 525600) },
  JWT_ISSUER: { fallback: 'webrtc-signaling-server', schema: z.string().min(1) },
  JWT_AUDIENCE: { fallback: 'webrtc-signaling', schema: z.string().min(1) },
  CORS_ORIGINS: { fallback: 'https://localhost:3000', schema: originText },
  RATE_LIMIT_PER_MINUTE: { fallback: '60', schema: integer(1, 10_000_000) },
  RATE_LIMIT_BURST: { fallback: undefined, schema: integer(1, 10_000_000) },
  MAX_CONNECTIONS_PER_IP: { fallback: '5', schema: integer(1, 10_000_000) },
  MAX_CONNECTIONS_PER_ROOM: { fallback: '10', schema: integer(2, 100_000) },
  WEBSOCKET_TIMEOUT: { fallback: '30', schema: integer(1, 86_400) },
  MAX_MESSAGE_BYTES: { fallback: '65536', schema: integer(256, 16 * 1024 * 1024) },
  AUTH_MAX_FAILURES: { fallback: '5', schema: integer(1, 1_000_000) },
  AUTH_FAILURE_WINDOW: { fallback: '300', schema: integer(1, 86_400 * 7) },
  AUTH_BLOCK_SECONDS: { fallback: '900', schema: integer(1, 86_400 * 30) },
  USERS_FILE: { fallback: 'users.csv', schema: z.string().min(1) },
  SSL_CERTFILE: { fallback: 'ssl/server.crt', schema: z.string().min(1) },
  SSL_KEYFILE: { fallback: 'ssl/server.key', schema: z.string().min(1) },
  TRUST_PROXY: { fallback: 'false', schema: trustProxyText },
  REDIS_URL: { fallback: undefined, schema: redisUrlText },
  REDIS_KEY_PREFIX: {
    fallback: 'signaling:',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'expected 1 to 64 of A-Z a-z 0-9 _ . : -' }),
  },
  LOG_LEVEL: {
    fallback: 'info',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(LOG_LEVELS, { message: `expected one of ${LOG_LEVELS.join(', ')}` })),
  },
  ICE_SERVERS: { fallback: undefined, schema: iceServersText },
  SHUTDOWN_TIMEOUT: { fallback: '8', schema: integer(1, 9) },
  METRICS_TOKEN: { fallback: undefined, schema: secretText },
  METRICS_PORT: { fallback: undefined, schema: integer(1, 65535) },
} as const;

type Variables = typeof VARIABLES;
type Parsed = { [K in keyof Variables]: z.output<Variables[K]['schema']> | undefined };

/** The names of every environment variable the server reads, in documentation order. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(VARIABLES);

/**
 * Parses and validates the server configuration from an environment map (already merged with `.env`).
 * Pure: reads nothing but `env`. Throws `ConfigError` listing every bad variable at once.
 */
export function loadConfig(env: Environment): Config {
  const issues: ConfigIssue[] = [];
  const parsed = {} as Record<string, unknown>;
  for (const [name, spec] of Object.entries(VARIABLES) as [keyof Variables, Variables[keyof Variables]][]) {
    const raw = env[name];
    const text = raw === undefined || (raw === '' && spec.fallback !== undefined) ? spec.fallback : raw;
    if (text === undefined) {
      parsed[name] = undefined;
      continue;
    }
    const result = (spec.schema as z.ZodType).safeParse(text);
    if (result.success) parsed[name] = result.data;
    else issues.push({ variable: name, value: text, allowed: result.error.issues[0]?.message ?? 'invalid' });
  }
  const p = parsed as Parsed;
  for (const name of ['JWT_SECRET_KEY', 'SECRET_KEY'] as const) {
    const key = p[name];
    if (key !== undefined && (name === 'JWT_SECRET_KEY' || p.JWT_SECRET_KEY === undefined)) {
      if (Buffer.byteLength(key, 'utf8') < 32) {
        issues.push({
          variable: name,
          value: '<redacted>',
          allowed: 'the JWT key must be at least 32 bytes',
        });
      }
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const rateLimitPerMinute = p.RATE_LIMIT_PER_MINUTE as number;
  const config: Config = {
    host: p.HOST as string,
    port: p.PORT as number,
    debug: p.DEBUG as boolean,
    requireHttps: p.REQUIRE_HTTPS as boolean,
    requireAuth: p.REQUIRE_AUTH as boolean,
    secretKey: p.SECRET_KEY ?? null,
    jwtSecretKey: p.JWT_SECRET_KEY ?? null,
    jwtSecretFile: p.JWT_SECRET_FILE as string,
    jwtExpireMinutes: p.JWT_EXPIRE_MINUTES as number,
    jwtIssuer: p.JWT_ISSUER as string,
    jwtAudience: p.JWT_AUDIENCE as string,
    corsOrigins: Object.freeze([...(p.CORS_ORIGINS as string[])]),
    rateLimitPerMinute,
    rateLimitBurst: p.RATE_LIMIT_BURST ?? rateLimitPerMinute,
    maxConnectionsPerIp: p.MAX_CONNECTIONS_PER_IP as number,
    maxConnectionsPerRoom: p.MAX_CONNECTIONS_PER_ROOM as number,
    websocketTimeout: p.WEBSOCKET_TIMEOUT as number,
    maxMessageBytes: p.MAX_MESSAGE_BYTES as number,
    authMaxFailures: p.AUTH_MAX_FAILURES as number,
    authFailureWindow: p.AUTH_FAILURE_WINDOW as number,
    authBlockSeconds: p.AUTH_BLOCK_SECONDS as number,
    usersFile: p.USERS_FILE as string,
    sslCertfile: p.SSL_CERTFILE as string,
    sslKeyfile: p.SSL_KEYFILE as string,
    trustProxy: p.TRUST_PROXY as TrustProxy,
    redisUrl: p.REDIS_URL ?? null,
    redisKeyPrefix: p.REDIS_KEY_PREFIX as string,
    logLevel: p.LOG_LEVEL as Config['logLevel'],
    iceServers: Object.freeze([...((p.ICE_SERVERS as IceServer[] | undefined) ?? DEFAULT_ICE_SERVERS)]),
    shutdownTimeoutSeconds: p.SHUTDOWN_TIMEOUT as number,
    metricsToken: p.METRICS_TOKEN ?? null,
    metricsPort: p.METRICS_PORT ?? null,
  };
  return Object.freeze(config);
}
