import type { UserRecord } from './user-store.js';
import { updateUsersFile } from './users-file.js';

/** An edit named a user who is not in the users file; `message` is `no such user "<name>"`. */
export class UnknownUserError extends Error {
  readonly username: string;
  constructor(username: string) {
    super(`no such user ${JSON.stringify(username)}`);
    this.name = 'UnknownUserError';
    this.username = username;
  }
}

/** An add named a user who already exists; `message` is `user "<name>" already exists`. */
export class DuplicateUserError extends Error {
  readonly username: string;
  constructor(username: string) {
    super(`user ${JSON.stringify(username)} already exists`);
    this.name = 'DuplicateUserError';
    this.username = username;
  }
}

/** An edit would leave no enabled admin (removing or disabling the last one); the file is untouched. */
export class LastAdminError extends Error {
  readonly username: string;
  constructor(username: string) {
    super(`refusing to remove or disable ${JSON.stringify(username)}: it is the last enabled admin`);
    this.name = 'LastAdminError';
    this.username = username;
  }
}

// Throws `LastAdminError` when `before` had an enabled admin and `after` has none.
function keepAnAdmin(before: readonly UserRecord[], after: UserRecord[], username: string): UserRecord[] {
  const hasAdmin = (users: readonly UserRecord[]) => users.some((u) => u.role === 'admin' && !u.disabled);
  if (hasAdmin(before) && !hasAdmin(after)) throw new LastAdminError(username);
  return after;
}

/** The user named exactly `username` (case-sensitive, as logins are); throws `UnknownUserError`. */
export function requireUser(users: readonly UserRecord[], username: string): UserRecord {
  const user = users.find((u) => u.username === username);
  if (!user) throw new UnknownUserError(username);
  return user;
}

/** Throws `DuplicateUserError` when `username` is taken, also by a name differing only in case. */
export function requireFreeUsername(users: readonly UserRecord[], username: string): void {
  // The users file refuses names that differ only in case, so an add must too.
  const key = username.toLowerCase();
  if (users.some((u) => u.username.toLowerCase() === key)) throw new DuplicateUserError(username);
}

/**
 * Appends `user` to the users file at `path` under its lock, creating the file if missing.
 * Throws `DuplicateUserError` (leaving the file untouched) when the name is taken.
 */
export async function addUser(path: string, user: UserRecord): Promise<void> {
  await updateUsersFile(path, (users) => {
    requireFreeUsername(users, user.username);
    return [...users, user];
  });
}

/**
 * Replaces the user named exactly `username` with `change(user)` under the users file's lock,
 * keeping the file order. Throws `UnknownUserError` (leaving the file untouched) when there is none,
 * and `LastAdminError` when the change would leave no enabled admin.
 */
export async function changeUser(
  path: string,
  username: string,
  change: (user: UserRecord) => UserRecord,
): Promise<void> {
  await updateUsersFile(path, (users) => {
    requireUser(users, username);
    return keepAnAdmin(
      users,
      users.map((u) => (u.username === username ? change(u) : u)),
      username,
    );
  });
}

/**
 * Removes the user named exactly `username` under the users file's lock; throws `UnknownUserError`,
 * or `LastAdminError` when it is the last enabled admin.
 */
export async function removeUser(path: string, username: string): Promise<void> {
  await updateUsersFile(path, (users) => {
    requireUser(users, username);
    return keepAnAdmin(
      users,
      users.filter((u) => u.username !== username),
      username,
    );
  });
}
