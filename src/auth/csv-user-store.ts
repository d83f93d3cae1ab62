import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { lock } from 'proper-lockfile';
import { writeFileAtomic } from '../storage/atomic-write.js';
import { type Role, USERNAME_PATTERN, type UserRecord, type UserStore } from './user-store.js';

/** The header row every users file starts with. */
export const USERS_CSV_HEADER = 'username,password_hash,role,created_at,disabled';

const COLUMNS = USERS_CSV_HEADER.split(',').length;
const ROLES: readonly Role[] = ['admin', 'user'];
// PHC strings: argon2id (what we write) or scrypt (carried over from older deployments).
const ARGON2ID_PHC =
  /^\$argon2id\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;
const SCRYPT_PHC = /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/.]+={0,2}\$[A-Za-z0-9+/.]+={0,2}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** A users file that cannot be read or parsed. `errors` has one entry per problem; `message` one line each. */
export class UsersFileError extends Error {
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'UsersFileError';
    this.errors = errors;
  }
}

/** The outcome of parsing a users file: every user, or every problem (each naming its line). */
export type ParsedUsers = { users: UserRecord[] } | { errors: string[] };

/**
 * Parses the text of a users file. Accepts CRLF, a UTF-8 BOM, a trailing newline and empty lines.
 * The hash column may be quoted (RFC 4180, as this module writes it) or bare: PHC strings contain
 * commas (`m=19456,t=2,p=1`), but no other column can, so a bare hash is still unambiguous.
 * Reports every problem at once as `<source> line N: ...`, and never echoes a hash.
 */
export function parseUsersCsv(text: string, source = 'users.csv'): ParsedUsers {
  const errors: string[] = [];
  const users: UserRecord[] = [];
  const seen = new Map<string, { name: string; line: number }>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let headerSeen = false;
  lines.forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') return;
    const at = `${source} line ${lineNumber}`;
    if (!headerSeen) {
      headerSeen = true;
      if (line !== USERS_CSV_HEADER) {
        errors.push(`${at}: expected the header "${USERS_CSV_HEADER}"`);
        // Without a header the line may be a user row; check it as one so every problem is listed.
        if (/^[a-z_]+(,[a-z_]+)*$/.test(line)) return;
      } else {
        return;
      }
    }
    const record = parseRow(line, at, errors);
    if (!record) return;
    const key = record.username.toLowerCase();
    const earlier = seen.get(key);
    if (earlier) {
      errors.push(
        `${at}: duplicate username ${show(record.username)} (line ${earlier.line} has ${show(earlier.name)})`,
      );
      return;
    }
    seen.set(key, { name: record.username, line: lineNumber });
    users.push(record);
  });
  if (!headerSeen) errors.push(`${source} line 1: empty file, expected the header "${USERS_CSV_HEADER}"`);
  return errors.length > 0 ? { errors } : { users };
}

function parseRow(line: string, at: string, errors: string[]): UserRecord | undefined {
  const fields = splitCsvLine(line);
  if (!fields) {
    errors.push(`${at}: malformed quoting`);
    return undefined;
  }
  if (fields.length < COLUMNS) {
    errors.push(`${at}: expected ${COLUMNS} columns (${USERS_CSV_HEADER}), found ${fields.length}`);
    return undefined;
  }
  const [username, ...rest] = fields as [string, ...string[]];
  const [role, createdAt, disabled] = rest.slice(-3) as [string, string, string];
  const passwordHash = rest.slice(0, -3).join(',');
  const hashValid = ARGON2ID_PHC.test(passwordHash) || SCRYPT_PHC.test(passwordHash);
  if (fields.length > COLUMNS && !hashValid) {
    errors.push(`${at}: expected ${COLUMNS} columns (${USERS_CSV_HEADER}), found ${fields.length}`);
    return undefined;
  }
  const before = errors.length;
  if (!USERNAME_PATTERN.test(username)) {
    errors.push(`${at}: invalid username ${show(username)} (1 to 64 of A-Z a-z 0-9 _ - .)`);
  }
  if (!hashValid) errors.push(`${at}: invalid password hash (expected a $argon2id$ or $scrypt$ PHC string)`);
  if (!ROLES.includes(role as Role))
    errors.push(`${at}: invalid role ${show(role)} (expected admin or user)`);
  if (!ISO_8601.test(createdAt) || Number.isNaN(Date.parse(createdAt))) {
    errors.push(`${at}: invalid created_at ${show(createdAt)} (expected an ISO 8601 timestamp)`);
  }
  if (disabled !== 'true' && disabled !== 'false') {
    errors.push(`${at}: invalid disabled ${show(disabled)} (expected true or false)`);
  }
  if (errors.length > before) return undefined;
  return Object.freeze({
    username,
    passwordHash,
    role: role as Role,
    createdAt,
    disabled: disabled === 'true',
  });
}

// One line of RFC 4180 CSV (no field spans lines); null when a quote is misplaced or unclosed.
function splitCsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote === -1) return null;
        value += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return null;
      i += 1;
    } else {
      const comma = line.indexOf(',', i);
      const value = comma === -1 ? line.slice(i) : line.slice(i, comma);
      if (value.includes('"')) return null;
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

/** The users file text for `users`: header, one row each, `\n` endings; the hash column is quoted. */
export function formatUsersCsv(users: readonly UserRecord[]): string {
  const rows = users.map((u) =>
    [u.username, u.passwordHash, u.role, u.createdAt, String(u.disabled)].map(csvField).join(','),
  );
  return [USERS_CSV_HEADER, ...rows].join('\n') + '\n';
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Reads and parses a users file; throws `UsersFileError` (also for an unreadable file). */
export async function readUsersFile(path: string): Promise<UserRecord[]> {
  const text = await readUsersText(path, false);
  return parseOrThrow(text as string, path);
}

function parseOrThrow(text: string, path: string): UserRecord[] {
  const parsed = parseUsersCsv(text, basename(path));
  if ('errors' in parsed) throw new UsersFileError(parsed.errors);
  return parsed.users;
}

// undefined for a missing file when `missingOk`; any other failure is a UsersFileError.
async function readUsersText(path: string, missingOk: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (missingOk && code === 'ENOENT') return undefined;
    throw new UsersFileError([`${path}: cannot read the users file (${code})`]);
  }
}

/**
 * Writes `users` to `path` atomically: validated text into a fresh temp file in the same directory
 * (mode 0600), fsync, rename over `path`, fsync the directory. Readers see the old file or the new
 * one, never a mix; the result is always mode 0600. Does not lock: concurrent writers use
 * `updateUsersFile`. Throws `UsersFileError` when `users` would not parse back.
 */
export async function writeUsersFileAtomic(path: string, users: readonly UserRecord[]): Promise<void> {
  const text = formatUsersCsv(users);
  const check = parseUsersCsv(text, basename(path));
  if ('errors' in check) throw new UsersFileError(check.errors);
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
    const text = await readUsersText(path, true);
    const current = text === undefined ? [] : parseOrThrow(text, path);
    const next = mutate(current);
    await writeUsersFileAtomic(path, next);
    return next;
  });
}

/** Options for `CsvUserStore.open`. */
export interface CsvUserStoreOptions {
  /** How often the file is polled for changes; default 1000 ms. */
  readonly pollIntervalMs?: number;
  /** Called with the new users after each successful reload. */
  readonly onReload?: (users: readonly UserRecord[]) => void;
  /** Called when a reload finds the file unreadable or malformed; the previous users stay in service. */
  readonly onReloadError?: (errors: string[]) => void;
}

/**
 * A `UserStore` backed by a CSV users file. It polls the file (and reloads on `reload()`, which the
 * server calls on SIGHUP); a reload swaps the whole view at once, and a malformed or half-written
 * file keeps the previous users. Usernames are looked up exactly (case-sensitive).
 */
export class CsvUserStore implements UserStore {
  readonly path: string;
  private byName: ReadonlyMap<string, UserRecord>;
  private all: readonly UserRecord[];
  private readonly options: CsvUserStoreOptions;
  private queue: Promise<boolean> = Promise.resolve(true);
  private watcher: ((current: Stats, previous: Stats) => void) | undefined;
  private closed = false;

  private constructor(path: string, users: readonly UserRecord[], options: CsvUserStoreOptions) {
    this.path = path;
    this.options = options;
    this.all = Object.freeze([...users]);
    this.byName = new Map(users.map((u) => [u.username, u]));
  }

  /** Loads `path` (throwing `UsersFileError` listing each bad line) and starts watching it. */
  static async open(path: string, options: CsvUserStoreOptions = {}): Promise<CsvUserStore> {
    const absolute = resolve(path);
    const store = new CsvUserStore(absolute, await readUsersFile(absolute), options);
    store.watch(options.pollIntervalMs ?? 1000);
    return store;
  }

  /** The user named exactly `username`, or undefined. */
  find(username: string): UserRecord | undefined {
    return this.byName.get(username);
  }

  /** Every user, in file order. */
  list(): readonly UserRecord[] {
    return this.all;
  }

  /**
   * Re-reads the file now. Resolves true when the new content is in service, false when it was
   * unreadable or malformed (then `onReloadError` was called and the previous users remain).
   * Concurrent calls run one after another. Never rejects.
   */
  reload(): Promise<boolean> {
    this.queue = this.queue.then(() => this.reloadNow());
    return this.queue;
  }

  /** Stops watching the file; the last loaded users stay readable. */
  close(): void {
    this.closed = true;
    if (this.watcher) unwatchFile(this.path, this.watcher);
    this.watcher = undefined;
  }

  private watch(intervalMs: number): void {
    this.watcher = (current, previous) => {
      if (
        current.mtimeMs === previous.mtimeMs &&
        current.ino === previous.ino &&
        current.size === previous.size
      ) {
        return;
      }
      void this.reload();
    };
    // Not persistent: watching alone must not keep a process (or a test run) alive.
    watchFile(this.path, { interval: intervalMs, persistent: false }, this.watcher);
  }

  private async reloadNow(): Promise<boolean> {
    if (this.closed) return false;
    let users: UserRecord[];
    try {
      users = await readUsersFile(this.path);
    } catch (error) {
      const errors = error instanceof UsersFileError ? [...error.errors] : [String(error)];
      this.options.onReloadError?.(errors);
      return false;
    }
    this.all = Object.freeze(users);
    this.byName = new Map(users.map((u) => [u.username, u]));
    this.options.onReload?.(this.all);
    return true;
  }
}
