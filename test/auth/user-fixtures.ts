import { hashPassword } from '../../src/auth/password-hasher.js';
import type { UserRecord } from '../../src/auth/user-store.js';

/** The password behind `hash`. */
export const FIXTURE_PASSWORD = 'fixture-password';

/** A real argon2id hash of `FIXTURE_PASSWORD`, made once when a test file loads this. */
export const hash = await hashPassword(FIXTURE_PASSWORD);

/** A valid user named `username` with the fixture hash; `overrides` replaces any field. */
export function user(username: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    username,
    passwordHash: hash,
    role: 'user',
    createdAt: '2025-01-02T03:04:05.000Z',
    disabled: false,
    ...overrides,
  };
}

/** `u` as a users-file row with the hash quoted, as `formatUsersCsv` writes it. */
export function row(u: UserRecord): string {
  return `${u.username},"${u.passwordHash}",${u.role},${u.createdAt},${u.disabled}`;
}
