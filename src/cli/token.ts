import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { resolveJwtKey } from '../auth/jwt-key.js';
import { MAX_ROOM_PATTERNS, parseTokenLimits } from '../auth/token-limits.js';
import { USERNAME_PATTERN } from '../auth/user-store.js';
import { ConfigError, type Environment, loadConfig } from '../config/config.js';
import { readEnvironment } from '../config/environment.js';
import { isEntryPoint } from './entry-point.js';

/** Exit codes of `npm run token`. */
export const TOKEN_CLI_EXIT = Object.freeze({ ok: 0, usage: 1, config: 2 });

export const TOKEN_USAGE = `Usage: npm run token -- --user NAME [--rooms a,b,team-*] [--ttl 10m]
                       [--max-peers N] [--scope join|admin|"join admin"] [--json]

Mints a backend token signed with the server's JWT key: no users-file entry is needed.
  --user       the username peers see (1 to 64 of A-Z a-z 0-9 _ - .)
  --rooms      room ids, or prefixes ending in *, the token may join (default: any room)
  --ttl        lifetime: 30s, 10m, 2h, 1d (default 10m, at most 30d)
  --max-peers  cap of the rooms this token creates
  --scope      join (default), admin (the Admin API), or both
  --json       print {"token","claims"} instead of the token alone
`;

const TTL_PATTERN = /^(\d+)([smhd]?)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_TTL_SECONDS = 30 * 86_400;

export interface TokenCliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly environment: () => Environment;
  readonly now?: () => number;
}

class UsageError extends Error {}

/** The claims of a backend token, exactly as README "Connecting your backend" lists them. */
export function backendClaims(
  options: { user: string; rooms?: readonly string[]; ttlSeconds: number; maxPeers?: number; scope: string },
  config: { issuer: string; audience: string },
  nowSeconds: number,
): Record<string, unknown> {
  return {
    iss: config.issuer,
    aud: config.audience,
    sub: options.user,
    iat: nowSeconds,
    exp: nowSeconds + options.ttlSeconds,
    jti: randomUUID(),
    scope: options.scope,
    ...(options.rooms ? { rooms: options.rooms } : {}),
    ...(options.maxPeers !== undefined ? { max_peers: options.maxPeers } : {}),
  };
}

/** Runs `token` and resolves its exit code; prints the token (or JSON) on stdout, problems on stderr. */
export async function runTokenCli(args: readonly string[], io: TokenCliIo): Promise<number> {
  let options: ReturnType<typeof parseArguments>;
  try {
    options = parseArguments(args);
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${TOKEN_USAGE}`);
    return TOKEN_CLI_EXIT.usage;
  }
  if (options === 'help') {
    io.stdout.write(TOKEN_USAGE);
    return TOKEN_CLI_EXIT.ok;
  }
  try {
    const config = loadConfig(io.environment());
    const key = await resolveJwtKey(config);
    const now = Math.floor((io.now ?? Date.now)() / 1000);
    const claims = backendClaims(options, { issuer: config.jwtIssuer, audience: config.jwtAudience }, now);
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key.secret);
    io.stdout.write(options.json ? `${JSON.stringify({ token, claims })}\n` : `${token}\n`);
    return TOKEN_CLI_EXIT.ok;
  } catch (error) {
    io.stderr.write(
      `${error instanceof ConfigError ? error.message : `cannot mint: ${(error as Error).message}`}\n`,
    );
    return TOKEN_CLI_EXIT.config;
  }
}

function parseArguments(args: readonly string[]) {
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return 'help' as const;
    if (arg === '--json') {
      json = true;
      continue;
    }
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    if (!['--user', '--rooms', '--ttl', '--max-peers', '--scope'].includes(name))
      throw new UsageError(`unknown option ${name}`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    values.set(name, value);
  }
  const user = values.get('--user');
  if (!user || !USERNAME_PATTERN.test(user))
    throw new UsageError('--user: expected 1 to 64 of A-Z a-z 0-9 _ - .');
  const ttl = TTL_PATTERN.exec(values.get('--ttl') ?? '10m');
  const ttlSeconds = ttl ? Number(ttl[1]) * UNIT_SECONDS[ttl[2]!]! : 0;
  if (ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS)
    throw new UsageError('--ttl: expected 30s, 10m, 2h or 1d, at most 30d');
  const rooms = values
    .get('--rooms')
    ?.split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const maxPeers = values.has('--max-peers') ? Number(values.get('--max-peers')) : undefined;
  const scope = (values.get('--scope') ?? 'join').trim().replace(/\s+/g, ' ');
  const limits = parseTokenLimits({
    scope,
    ...(rooms ? { rooms } : {}),
    ...(maxPeers !== undefined ? { max_peers: maxPeers } : {}),
  });
  if (limits === 'invalid' || (rooms !== undefined && rooms.length === 0))
    throw new UsageError(
      `invalid --rooms, --max-peers or --scope (at most ${MAX_ROOM_PATTERNS} room ids or prefix*; max-peers ≥ 1; scope join and/or admin)`,
    );
  return {
    user,
    ttlSeconds,
    scope,
    json,
    ...(rooms ? { rooms } : {}),
    ...(maxPeers !== undefined ? { maxPeers } : {}),
  };
}

if (isEntryPoint(import.meta.url)) {
  process.exitCode = await runTokenCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    environment: () => readEnvironment(),
  });
}
