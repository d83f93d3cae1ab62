import { hashPassword } from './password-hasher.js';
import type { UserRecord } from './user-store.js';
import { updateUsersFile } from './users-file.js';

/**
 * Returns what the login route calls after a successful login whose stored hash is outdated (see
 * `needsRehash`): in the background, hashes the password again with the current argon2id parameters
 * and writes it to the users file at `path` under its lock, unless the user's hash changed meanwhile
 * (a `passwd`, or another login's upgrade). The password-change time is left alone, so no token is
 * revoked. Never throws; a failure goes to `onError` and the old hash stays (it still works).
 */
export function createHashUpgrader(
  path: string,
  onError: (error: unknown, username: string) => void,
): (user: UserRecord, password: string) => void {
  const inProgress = new Set<string>();
  return (user, password) => {
    if (inProgress.has(user.username)) return;
    inProgress.add(user.username);
    void (async () => {
      const passwordHash = await hashPassword(password);
      await updateUsersFile(path, (users) =>
        users.map((u) =>
          u.username === user.username && u.passwordHash === user.passwordHash ? { ...u, passwordHash } : u,
        ),
      );
    })()
      .catch((error: unknown) => onError(error, user.username))
      .finally(() => inProgress.delete(user.username));
  };
}
