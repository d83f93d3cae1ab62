import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { lock } from 'proper-lockfile';
import { writeFileAtomic } from '../storage/atomic-write.js';
import type { UserRecord } from './user-store.js';
import { formatUsersCsv, parseUsersCsv } from './users-csv.js';

/** A users file that cannot be read or parsed. `errors` has one entry per problem; `message` one line each. */
export class UsersFileError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'UsersFileError';
    this.errors = errors;
  }
}

/** A users file that could not be read at all; `reason` is the error code, such as `ENOENT`. */
export class UnreadableUsersFileError extends UsersFileError {
  readonly path: string;
  readonly reason: string;
  constructor(path: string, reason: string) {
    super([`${path}: cannot read the users file (${reason})`]);
    this.path = path;
    this.reason = reason;
  }
}

/** How `readUsersFile` names the file and treats a missing one. */
export interface ReadUsersFileOptions {
  /** Names the file in parse errors (`<source> line N: ...`); default: its base name. */
  readonly source?: string;
  /** A missing file reads as no users instead of failing; default false. */
  readonly missingIsEmpty?: boolean;
}

/**
 * Reads and parses the users file at `path`. Throws `UnreadableUsersFileError` when it cannot be read
 * and `UsersFileError` listing every bad line when it does not parse.
 */
export async function readUsersFile(path: string, options: ReadUsersFileOptions = {}): Promise<UserRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (options.missingIsEmpty && reason === 'ENOENT') return [];
    throw new UnreadableUsersFileError(path, reason);
  }
  return parseOrThrow(text, options.source ?? basename(path));
}

function parseOrThrow(text: string, source: string): UserRecord[] {
  const parsed = parseUsersCsv(text, source);
  if ('errors' in parsed) throw new UsersFileError(parsed.errors);
  return parsed.users;
}

/**
 * Writes `users` to `path` atomically: validated text into a fresh temp file in the same directory
 * (mode 0600), fsync, rename over `path`, fsync the directory. Readers see the old file or the new
 * one, never a mix; the result is always mode 0600. Does not lock: concurrent writers use
 * `updateUsersFile`. Throws `UsersFileError` when `users` would not parse back.
 */
export async function writeUsersFileAtomic(path: string, users: readonly UserRecord[]): Promise<void> {
  const text = formatUsersCsv(users);
  parseOrThrow(text, basename(path));
  await writeFileAtomic(path, text, 0o600);
}

/**
 * Runs `action` while holding the cross-process lock for the users file at `path`.
 * The lock is the directory `<path>.lock` (proper-lockfile, `realpath: false`), so it works before the
 * users file exists; the users file's directory is created if missing. Waits with randomised backoff
 * (up to about 15 s) for other holders; a lock left by a crashed process goes stale after 10 s.
 */
export async function withUsersFileLock<T>(path: string, action: () => Promise<T>): Promise<T> {
  const target = resolve(path);
  await mkdir(dirname(target), { recursive: true });
  let compromised: Error | undefined;
  const release = await lock(target, {
    lockfilePath: `${target}.lock`,
    realpath: false,
    stale: 10_000,
    retries: { retries: 100, factor: 1.3, minTimeout: 10, maxTimeout: 200, randomize: true },
    onCompromised: (error) => {
      compromised = error;
    },
  });
  try {
    const result = await action();
    if (compromised) throw compromised;
    return result;
  } finally {
    await release().catch(() => {});
  }
}

/**
 * Read-modify-write of the users file under the cross-process lock: re-reads the file inside the
 * lock (a missing file counts as no users), applies `mutate` (which may throw to abort, leaving the
 * file untouched) and writes the result with `writeUsersFileAtomic`. Returns the users written.
 * Throws `UsersFileError` when the current file is malformed.
 */
export async function updateUsersFile(
  path: string,
  mutate: (users: UserRecord[]) => UserRecord[],
): Promise<UserRecord[]> {
  return withUsersFileLock(path, async () => {
    const next = mutate(await readUsersFile(path, { missingIsEmpty: true }));
    await writeUsersFileAtomic(path, next);
    return next;
  });
}
