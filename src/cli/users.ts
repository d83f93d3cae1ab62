import { hashPassword } from '../auth/password-hasher.js';
import type { UserRecord } from '../auth/user-store.js';
import { readUsersFile, UnreadableUsersFileError, UsersFileError } from '../auth/users-file.js';
import {
  addUser,
  changeUser,
  DuplicateUserError,
  LastAdminError,
  removeUser,
  requireFreeUsername,
  requireUser,
  UnknownUserError,
} from '../auth/users-file-edits.js';
import { ConfigError, type Environment, loadConfig } from '../config/config.js';
import { readEnvironment } from '../config/environment.js';
import { requestUnblock } from '../security/unblock-requests.js';
import { isEntryPoint } from './entry-point.js';
import { PasswordInputError, readNewPassword } from './password-input.js';
import { parseUsersArguments, USERS_USAGE, UsageError, type UsersInvocation } from './users-arguments.js';

/** Exit codes of `npm run users`; scripts may rely on them. */
export const USERS_CLI_EXIT = Object.freeze({
  ok: 0,
  usage: 1,
  unknownUser: 2,
  duplicateUser: 3,
  usersFile: 4,
  lastAdmin: 5,
});

/** Where the CLI reads passwords and writes output, and how it finds the configuration. */
export interface UsersCliIo {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The environment merged with `.env`; consulted only when `--file` is not given. */
  readonly environment: () => Environment;
}

class CliFailure extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Runs one `users` command and resolves its exit code (see `USERS_CLI_EXIT`); never throws.
 * Every failure is reported as one line on `io.stderr` (a malformed users file: one line per bad
 * row). Passwords and hashes are never written anywhere but, hashed, the users file.
 */
export async function runUsersCli(args: readonly string[], io: UsersCliIo): Promise<number> {
  try {
    const invocation = parseUsersArguments(args);
    if (invocation.command === 'help') {
      io.stdout.write(USERS_USAGE);
      return USERS_CLI_EXIT.ok;
    }
    const file = invocation.file ?? loadConfig(io.environment()).usersFile;
    const message = await execute(invocation, file, io);
    if (message) io.stdout.write(`${message}\n`);
    return USERS_CLI_EXIT.ok;
  } catch (error) {
    const failure = asFailure(error);
    io.stderr.write(`${failure.message}\n`);
    return failure.exitCode;
  }
}

async function execute(
  invocation: UsersInvocation,
  file: string,
  io: UsersCliIo,
): Promise<string | undefined> {
  const name = invocation.name!;
  switch (invocation.command) {
    case 'list':
      io.stdout.write(formatTable(await readUsers(file, false)));
      return undefined;
    case 'add': {
      // Checked before asking for a password so a typo fails fast; `addUser` checks again under the lock.
      requireFreeUsername(await readUsers(file, true), name);
      const passwordHash = await hashPassword(await readNewPassword(io));
      const role = invocation.role ?? 'user';
      const createdAt = new Date().toISOString();
      await addUser(file, { username: name, passwordHash, role, createdAt, disabled: false });
      return `added user ${JSON.stringify(name)} (role ${role})`;
    }
    case 'passwd': {
      requireUser(await readUsers(file, true), name);
      const passwordHash = await hashPassword(await readNewPassword(io));
      // Whole seconds, as token `iat`s are: tokens issued before this second stop working.
      const passwordChangedAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      await changeUser(file, name, (user) => ({ ...user, passwordHash, passwordChangedAt }));
      return `changed the password of ${JSON.stringify(name)}`;
    }
    case 'remove':
      await removeUser(file, name);
      return `removed user ${JSON.stringify(name)}`;
    case 'disable':
    case 'enable': {
      const disabled = invocation.command === 'disable';
      await changeUser(file, name, (user) => ({ ...user, disabled }));
      return `user ${JSON.stringify(name)} is ${disabled ? 'disabled' : 'enabled'}`;
    }
    case 'unblock':
      await requestUnblock(file, name);
      return `asked the server(s) using ${file} to unblock ${name}; a running server lifts it within a second`;
    case 'help':
      return undefined;
  }
}

// The CLI's own reads name the file as it was given and word an unreadable file their own way; the
// reads under the lock (inside `addUser` and the like) keep the users-file module's wording. Both
// are shipped output, so neither is changed here.
async function readUsers(file: string, missingIsEmpty: boolean): Promise<UserRecord[]> {
  try {
    return await readUsersFile(file, { source: file, missingIsEmpty });
  } catch (error) {
    if (!(error instanceof UnreadableUsersFileError)) throw error;
    throw new CliFailure(USERS_CLI_EXIT.usersFile, `cannot read the users file ${file} (${error.reason})`);
  }
}

function formatTable(users: readonly UserRecord[]): string {
  const rows = [
    ['username', 'role', 'created_at', 'disabled'],
    ...users.map((u) => [u.username, u.role, u.createdAt, String(u.disabled)]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

function asFailure(error: unknown): CliFailure {
  if (error instanceof CliFailure) return error;
  if (error instanceof UsageError || error instanceof PasswordInputError) {
    return new CliFailure(USERS_CLI_EXIT.usage, error.message);
  }
  if (error instanceof ConfigError) {
    return new CliFailure(USERS_CLI_EXIT.usage, `${error.message}\n(or pass --file PATH)`);
  }
  if (error instanceof UnknownUserError) return new CliFailure(USERS_CLI_EXIT.unknownUser, error.message);
  if (error instanceof DuplicateUserError) return new CliFailure(USERS_CLI_EXIT.duplicateUser, error.message);
  if (error instanceof LastAdminError) return new CliFailure(USERS_CLI_EXIT.lastAdmin, error.message);
  if (error instanceof UsersFileError) return new CliFailure(USERS_CLI_EXIT.usersFile, error.message);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOCKED') {
    return new CliFailure(USERS_CLI_EXIT.usersFile, 'the users file is locked by another process; try again');
  }
  if (code !== undefined) {
    return new CliFailure(
      USERS_CLI_EXIT.usersFile,
      `cannot update the users file: ${(error as Error).message}`,
    );
  }
  return new CliFailure(
    USERS_CLI_EXIT.usersFile,
    `unexpected error: ${(error as Error).message ?? String(error)}`,
  );
}

async function main(args: readonly string[]): Promise<void> {
  process.exitCode = await runUsersCli(args, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    environment: () => readEnvironment(),
  });
}

if (isEntryPoint(import.meta.url)) await main(process.argv.slice(2));
