import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, readFile } from 'node:fs/promises';
import type { Config } from '../config/config.js';
import { createFileExclusive } from '../storage/atomic-write.js';

/** Where the HS256 key came from, for the start-up log (never the key itself). */
export type JwtKeySource = 'JWT_SECRET_KEY' | 'SECRET_KEY' | 'file' | 'generated';

/** The resolved signing key, and the key it replaced (verify-only) while a rotation is under way. */
export interface JwtKey {
  readonly secret: Uint8Array;
  readonly source: JwtKeySource;
  /** `JWT_SECRET_KEY_PREVIOUS`: tokens it signed stay valid; nothing new is signed with it. */
  readonly previous: Uint8Array | null;
}

/** HS256 keys shorter than this many UTF-8 bytes are refused (RFC 7518 §3.2: at least the hash size). */
export const MIN_JWT_KEY_BYTES = 32;

/**
 * Why `key` cannot be the HS256 key (`the JWT key must be at least 32 bytes`), or undefined when it
 * can. The one place this rule lives: `loadConfig` checks configured keys with it, `resolveJwtKey` the rest.
 */
export function jwtKeyProblem(key: string): string | undefined {
  return Buffer.byteLength(key, 'utf8') < MIN_JWT_KEY_BYTES
    ? `the JWT key must be at least ${MIN_JWT_KEY_BYTES} bytes`
    : undefined;
}

/**
 * Resolves the JWT key: `JWT_SECRET_KEY`, else `SECRET_KEY`, else the key kept in `JWT_SECRET_FILE`,
 * generating 48 random bytes there (mode 0600) on first run. The file is created exclusively (a
 * complete temp file linked into place), so instances starting at once agree: the one that loses
 * the race reads the winner's key. Throws for a key `jwtKeyProblem` refuses, naming where it came from.
 */
export async function resolveJwtKey(
  config: Pick<Config, 'jwtSecretKey' | 'secretKey' | 'jwtSecretFile'> &
    Partial<Pick<Config, 'jwtSecretKeyPrevious'>>,
): Promise<JwtKey> {
  const previous =
    config.jwtSecretKeyPrevious != null
      ? encode(config.jwtSecretKeyPrevious, 'JWT_SECRET_KEY_PREVIOUS')
      : null;
  if (config.jwtSecretKey !== null)
    return { secret: encode(config.jwtSecretKey, 'JWT_SECRET_KEY'), source: 'JWT_SECRET_KEY', previous };
  if (config.secretKey !== null)
    return { secret: encode(config.secretKey, 'SECRET_KEY'), source: 'SECRET_KEY', previous };
  if (!existsSync(config.jwtSecretFile)) {
    const generated = randomBytes(48).toString('base64url');
    if (await createFileExclusive(config.jwtSecretFile, `${generated}\n`, 0o600))
      return { secret: encode(generated, 'generated key'), source: 'generated', previous };
  }
  const text = (await readFile(config.jwtSecretFile, 'utf8')).trim();
  await chmod(config.jwtSecretFile, 0o600).catch(() => {});
  return { secret: encode(text, `JWT_SECRET_FILE (${config.jwtSecretFile})`), source: 'file', previous };
}

function encode(text: string, where: string): Uint8Array {
  const problem = jwtKeyProblem(text);
  if (problem !== undefined) throw new Error(`${where}: ${problem}`);
  return new TextEncoder().encode(text);
}
