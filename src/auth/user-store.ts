/** Roles a user can have; `admin` may list every room. */
export type Role = 'admin' | 'user';

/** One user as stored in the users file. `passwordHash` is a PHC string (argon2id). */
export interface UserRecord {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: Role;
  /** ISO 8601 timestamp. */
  readonly createdAt: string;
  readonly disabled: boolean;
  /** ISO 8601 time of the last password change, if any: tokens issued before it are refused. */
  readonly passwordChangedAt?: string;
}

/**
 * Read access to the users, as the running server needs it. Implementations keep their view fresh
 * (the CSV store reloads when the file changes) and never expose a half-read file.
 */
export interface UserStore {
  find(username: string): UserRecord | undefined;
  list(): readonly UserRecord[];
}

/** Usernames: 1 to 64 of `A-Z a-z 0-9 _ - .` (CONTRACT.md), so no CSV or formula injection gets in. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Passwords up to this many UTF-8 bytes are accepted whole; longer ones are refused before hashing. */
export const MAX_PASSWORD_BYTES = 1024;

/** New passwords need at least this many characters (ASVS 5.0 V6.2.1); shorter ones never log in. */
export const MIN_PASSWORD_CHARS = 8;
