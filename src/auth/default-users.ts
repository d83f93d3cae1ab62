import { randomBytes } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { hashPassword, verifyPassword } from './password-hasher.js';
import type { Role, UserRecord, UserStore } from './user-store.js';
import { withUsersFileLock, writeUsersFileAtomic } from './users-file.js';

/** The documented development users (CONTRACT.md), created on first run when DEBUG=true. */
export const DEVELOPMENT_USERS: readonly { username: string; password: string; role: Role }[] = Object.freeze(
  [
    { username: 'admin', password: 'admin123', role: 'admin' },
    { username: 'user1', password: 'password123', role: 'user' },
    { username: 'user2', password: 'password123', role: 'user' },
  ],
);

const DEFAULT_PASSWORDS = [...new Set(DEVELOPMENT_USERS.map((u) => u.password))];

/** What `ensureUsersFile` did; `generatedAdminPassword` is present only when it made one up. */
export interface EnsureUsersFileResult {
  readonly created: boolean;
  readonly generatedAdminPassword?: string;
}

/**
 * Creates the users file at `path` when it is missing (atomically, mode 0600, under the users-file
 * lock, so a concurrent CLI or second server never sees or clobbers a partial file). With `debug`
 * the development users; otherwise only `admin`, with a random password returned here once for the
 * caller to print and stored only hashed. An existing file, valid or not, is left alone.
 */
export async function ensureUsersFile(
  path: string,
  options: { debug: boolean },
): Promise<EnsureUsersFileResult> {
  if (await exists(path)) return { created: false };
  const generated = options.debug ? undefined : randomBytes(18).toString('base64url');
  const seeds =
    generated === undefined
      ? DEVELOPMENT_USERS
      : [{ username: 'admin', password: generated, role: 'admin' as Role }];
  const createdAt = new Date().toISOString();
  // Hash before taking the lock: hashing is the slow part and needs no file.
  const users: UserRecord[] = await Promise.all(
    seeds.map(async (seed) => ({
      username: seed.username,
      passwordHash: await hashPassword(seed.password),
      role: seed.role,
      createdAt,
      disabled: false,
    })),
  );
  return withUsersFileLock(path, async () => {
    if (await exists(path)) return { created: false };
    await writeUsersFileAtomic(path, users);
    return generated === undefined ? { created: true } : { created: true, generatedAdminPassword: generated };
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * The names among the development users (`admin`, `user1`, `user2`) present in `store` whose stored
 * hash still verifies with a documented default password (`admin123` or `password123`), disabled or
 * not. Production refuses to start while this is non-empty.
 */
export async function findDefaultPasswordUsers(store: UserStore): Promise<string[]> {
  const found: string[] = [];
  for (const { username } of DEVELOPMENT_USERS) {
    const user = store.find(username);
    if (!user) continue;
    const matches = await Promise.all(DEFAULT_PASSWORDS.map((p) => verifyPassword(user.passwordHash, p)));
    if (matches.some(Boolean)) found.push(username);
  }
  return found;
}

const PLACEHOLDER_SECRETS = new Set([
  'your-secret-key-here',
  'your-jwt-secret-key',
  'your-secret-key-change-this-in-production',
  'change-me',
  'changeme',
  'secret',
  'password',
  'secret-key',
  'jwt-secret',
  'supersecret',
  'default',
]);

/**
 * True for a secret copied from documentation or an example rather than generated: the known
 * placeholders, anything like "your-...-key"/"your_secret" or "change-this"/"changeme", a blank one
 * and a single character repeated. Production refuses these.
 */
export function isPlaceholderSecret(secret: string): boolean {
  const value = secret.trim().toLowerCase();
  return (
    value === '' ||
    PLACEHOLDER_SECRETS.has(value) ||
    /your[-_ ].*(key|secret)/i.test(value) ||
    /change[-_ ]?(this|me)/i.test(value) ||
    /^(.)\1*$/.test(value)
  );
}
