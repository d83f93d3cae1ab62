import { scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Algorithm, Options } from '@node-rs/argon2';
import { MAX_PASSWORD_BYTES } from './user-store.js';

const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

// `Algorithm` is an ambient const enum that `isolatedModules` cannot inline and the native binding
// exports as an empty object at run time, so the numeric value is spelled out.
const ARGON2ID = 2 as Algorithm;

/** OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 passes, 1 lane. */
const OWASP_ARGON2ID: Options = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 };

// A hash of a random password nobody knows, with the same parameters as real hashes, so checking it
// costs exactly what checking a real user's password costs.
const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$u0x64EUcobBDc8zg+lJ/Nw$6Uq1mTIKVm4+6vDtW5zPRZBtmHHt7hSbjErH5lsYRek';

/** True when `password` is longer than `MAX_PASSWORD_BYTES` UTF-8 bytes; such passwords are refused, never cut. */
export function passwordTooLong(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
}

/**
 * Hashes `password` whole with argon2id (OWASP parameters, random salt) into a PHC string.
 * Throws `RangeError` for a password over `MAX_PASSWORD_BYTES`: callers check `passwordTooLong` first.
 */
export async function hashPassword(password: string): Promise<string> {
  if (passwordTooLong(password)) throw new RangeError(`password longer than ${MAX_PASSWORD_BYTES} bytes`);
  return (await argon2()).hash(password, OWASP_ARGON2ID);
}

const CURRENT_PARAMETERS = `$argon2id$v=19$m=${OWASP_ARGON2ID.memoryCost},t=${OWASP_ARGON2ID.timeCost},p=${OWASP_ARGON2ID.parallelism}$`;

/**
 * True when `passwordHash` is not an argon2id hash with the current parameters (a legacy scrypt
 * hash, or other argon2 costs): checking it takes a different time than checking a current one (or
 * the dummy hash unknown users are checked against), so it is rehashed after a successful login.
 */
export function needsRehash(passwordHash: string): boolean {
  return !passwordHash.startsWith(CURRENT_PARAMETERS);
}

/**
 * True when `password` matches the PHC string `passwordHash` (argon2 or `$scrypt$`). Never throws:
 * a malformed hash or an over-long password is simply not a match.
 */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (passwordTooLong(password)) return false;
  try {
    if (passwordHash.startsWith('$scrypt$')) return await verifyScrypt(passwordHash, password);
    return await (await argon2()).verify(passwordHash, password);
  } catch {
    return false;
  }
}

/**
 * Does the work of `verifyPassword` against a fixed hash and always answers false, so a login for an
 * unknown user takes as long as one with a wrong password.
 */
export async function verifyDummyPassword(password: string): Promise<false> {
  await verifyPassword(DUMMY_HASH, passwordTooLong(password) ? '' : password);
  return false;
}

const SCRYPT_PHC =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/.]+)={0,2}\$([A-Za-z0-9+/.]+)={0,2}$/;

// `$scrypt$ln=..,r=..,p=..$salt$hash` as written by passlib (and other PHC scrypt writers), so a users
// file carried over from an older deployment keeps working. Its base64 may use `.` for `+`.
async function verifyScrypt(passwordHash: string, password: string): Promise<boolean> {
  const match = SCRYPT_PHC.exec(passwordHash);
  if (!match) return false;
  const [, ln, r, p, saltText, hashText] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const cost = { ln: Number(ln), r: Number(r), p: Number(p) };
  // Bounds keep a hostile file from asking for gigabytes of memory.
  if (cost.ln < 1 || cost.ln > 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16) return false;
  const salt = Buffer.from(saltText.replaceAll('.', '+'), 'base64');
  const expected = Buffer.from(hashText.replaceAll('.', '+'), 'base64');
  if (expected.length < 16 || expected.length > 64) return false;
  const N = 2 ** cost.ln;
  const actual = await scrypt(password, salt, expected.length, {
    N,
    r: cost.r,
    p: cost.p,
    maxmem: 128 * N * cost.r * cost.p + 1024 * 1024,
  });
  return timingSafeEqual(actual, expected);
}

/** The native argon2 binding, loaded on the first hash or check: a server nobody logs in to never maps it. */
function argon2(): Promise<typeof import('@node-rs/argon2')> {
  argon2Module ??= import('@node-rs/argon2');
  return argon2Module;
}
let argon2Module: Promise<typeof import('@node-rs/argon2')> | undefined;
