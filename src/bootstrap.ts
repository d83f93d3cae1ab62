import type { Logger } from 'pino';
import { CsvUserStore } from './auth/csv-user-store.js';
import {
  DEVELOPMENT_USERS,
  ensureUsersFile,
  findDefaultPasswordUsers,
  isPlaceholderSecret,
} from './auth/default-users.js';
import { resolveJwtKey } from './auth/jwt-key.js';
import type { UserRecord } from './auth/user-store.js';
import type { Config } from './config/config.js';
import { ensureCertificate, loadTlsMaterial, type TlsMaterial } from './transport/tls.js';

/** What start-up prepared from disk: the JWT key, the users and (for HTTPS) the TLS material. */
export interface RuntimeResources {
  readonly jwtSecret: Uint8Array;
  /** `JWT_SECRET_KEY_PREVIOUS`, accepted for verification only. */
  readonly jwtPreviousSecret: Uint8Array | null;
  readonly users: CsvUserStore;
  readonly tls: TlsMaterial | null;
}

/** True for a listen address only this machine can reach. */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A start-up refusal: one line for the operator, exit code 1, no stack trace. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * Creates what is missing (users file, JWT key, self-signed certificate) and refuses to start in
 * production (DEBUG=false) with a placeholder secret or a documented default password.
 * Prints a generated admin password once, to stdout, never to the log.
 */
export async function prepareResources(
  config: Config,
  log: Logger,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<RuntimeResources> {
  if (!config.debug) {
    for (const [name, value] of [
      ['JWT_SECRET_KEY', config.jwtSecretKey],
      ['SECRET_KEY', config.secretKey],
    ] as const) {
      if (value !== null && isPlaceholderSecret(value)) {
        throw new StartupError(
          `${name} is a placeholder value; set a random secret of at least 32 bytes (or unset it to have one generated)`,
        );
      }
    }
  }
  const jwtKey = await resolveJwtKey(config).catch((error: Error) => {
    throw new StartupError(error.message);
  });
  log.info({ source: jwtKey.source, previous: jwtKey.previous !== null }, 'JWT signing key ready');

  const created = await ensureUsersFile(config.usersFile, { debug: config.debug });
  if (created.created) {
    log.info(
      { file: config.usersFile },
      config.debug
        ? 'created users file with the development users'
        : 'created users file with an admin user',
    );
    if (created.generatedAdminPassword) {
      print(
        `Generated password for user "admin" (shown once, stored only hashed): ${created.generatedAdminPassword}`,
      );
    }
  }
  const users = await CsvUserStore.open(config.usersFile, {
    onReload: (list) => log.info({ users: list.length }, 'users file reloaded'),
    onReloadError: (errors) =>
      log.error({ errors }, 'users file changed but is invalid; keeping the previous users'),
  }).catch((error: Error) => {
    throw new StartupError(error.message);
  });
  describeUsersFile(config, users.list(), log);
  if (config.debug && config.requireAuth && !isLoopbackHost(config.host)) {
    const defaults = await findDefaultPasswordUsers(users);
    if (defaults.length > 0)
      log.warn(
        { users: defaults, host: config.host },
        `SECURITY WARNING: users with documented development passwords can log in from the network on ${config.host}; change them with "npm run users -- passwd NAME", or set HOST=127.0.0.1`,
      );
  }
  if (!config.debug) {
    const defaults = await findDefaultPasswordUsers(users);
    if (defaults.length > 0) {
      users.close();
      throw new StartupError(
        `users ${defaults.join(', ')} still have a documented default password; change it with "npm run users -- passwd NAME" or set DEBUG=true for development`,
      );
    }
  }

  let tls: TlsMaterial | null = null;
  if (config.requireHttps) {
    const origin = await ensureCertificate(config).catch((error: Error) => {
      throw new StartupError(error.message);
    });
    if (origin === 'generated')
      log.warn(
        { cert: config.sslCertfile },
        'generated a self-signed certificate; install a real one for production',
      );
    tls = await loadTlsMaterial(config);
  }
  return { jwtSecret: jwtKey.secret, jwtPreviousSecret: jwtKey.previous, users, tls };
}

/**
 * One line at every start naming the users file and what it holds, and, in development, a warning
 * when the documented development users are missing: `npm start` and the development scripts share
 * `users.csv`, so whichever ran first decided who is in it.
 */
function describeUsersFile(config: Config, users: readonly UserRecord[], log: Logger): void {
  const admins = users.filter((u) => u.role === 'admin' && !u.disabled).length;
  log.info(
    { file: config.usersFile, users: users.length, admins },
    `users file ${config.usersFile}: ${users.length} user${users.length === 1 ? '' : 's'} (${admins} enabled admin${admins === 1 ? '' : 's'})`,
  );
  if (!config.debug || !config.requireAuth) return;
  const missing = DEVELOPMENT_USERS.filter((d) => !users.some((u) => u.username === d.username)).map(
    (d) => d.username,
  );
  if (missing.length === 0) return;
  log.warn(
    { file: config.usersFile, missing },
    `users file ${config.usersFile} has no development user ${missing.join(', ')} (it was made by a production start), so the documented development logins are refused; delete ${config.usersFile} to have them created, or add them with "npm run users -- add NAME"`,
  );
}
