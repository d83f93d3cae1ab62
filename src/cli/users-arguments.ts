import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { type Role, USERNAME_PATTERN } from '../auth/user-store.js';

/** The text `npm run users -- help` prints. */
export const USERS_USAGE = `Usage: npm run users -- <command> [options]

Commands:
  add NAME [--role admin|user]   add a user (role user by default); asks for the password
  passwd NAME                    set a new password
  remove NAME                    delete a user
  disable NAME                   keep the user but refuse their logins
  enable NAME                    allow a disabled user to log in again
  list                           show username, role, created_at, disabled
  unblock ADDRESS                lift the block of an IP address after repeated auth failures
                                 (a running server using this users file lifts it within a second)
  help                           show this text

Options:
  --file PATH    the users file (default: USERS_FILE from the environment or .env, else users.csv)

Passwords are asked twice without echo on a terminal; otherwise the whole of standard input is the
password (one trailing newline removed), e.g.  printf '%s' "$PW" | npm run users -- add alice
A running server picks up every change by itself.
Exit codes: 0 ok, 1 bad usage or input, 2 unknown user, 3 user exists, 4 users file malformed or unwritable,
5 refused: it would leave no enabled admin.
`;

const COMMANDS = ['add', 'passwd', 'remove', 'disable', 'enable', 'list', 'unblock', 'help'] as const;

/** A `users` command name. */
export type UsersCommand = (typeof COMMANDS)[number];

/**
 * A well-formed `users` command line: `name` is set, and valid, exactly for the commands that take
 * one (for `unblock`, an IP address).
 */
export interface UsersInvocation {
  readonly command: UsersCommand;
  readonly name: string | undefined;
  readonly role: Role | undefined;
  readonly file: string | undefined;
}

/** The command line is not one `parseUsersArguments` accepts; `message` is the one line to print. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parses the arguments after `npm run users --`. `-h`/`--help` anywhere means `help`. Throws
 * `UsageError` for the first problem: an unknown option, an option without a value, a missing or
 * unknown command, the wrong number of names, a bad role or a bad user name.
 */
export function parseUsersArguments(args: readonly string[]): UsersInvocation {
  const { tokens, positionals } = parseArgs({
    args: [...args],
    options: { role: { type: 'string' }, file: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    // Not strict, so unknown options and missing values reach the checks below and get this CLI's words.
    strict: false,
    tokens: true,
  });
  let role: string | undefined;
  let file: string | undefined;
  let help = false;
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const raw = args[token.index];
    // A short option counts only on its own: `-hx` is one unknown option, not `-h -x`.
    if (token.name === 'help' && (token.rawName === '--help' || raw === '-h')) {
      help = true;
    } else if (token.name === 'role' || token.name === 'file') {
      if (token.value === undefined || token.value === '')
        throw usage(`option ${token.rawName} needs a value`);
      if (token.name === 'role') role = token.value;
      else file = token.value;
    } else {
      throw usage(`unknown option ${JSON.stringify(raw)}`);
    }
  }
  if (help) return { command: 'help', name: undefined, role: undefined, file };
  const [commandText, ...operands] = positionals;
  if (commandText === undefined) throw usage('missing command');
  const command = COMMANDS.find((c) => c === commandText);
  if (command === undefined) throw usage(`unknown command ${JSON.stringify(commandText)}`);
  const wantsName = command !== 'list' && command !== 'help';
  if (operands.length !== (wantsName ? 1 : 0)) {
    if (command === 'unblock') throw usage('unblock needs exactly one IP address');
    throw usage(wantsName ? `${command} needs exactly one user name` : `${command} takes no arguments`);
  }
  if (role !== undefined && command !== 'add') throw usage('--role is only for add');
  if (role !== undefined && role !== 'admin' && role !== 'user') {
    throw usage(`invalid role ${JSON.stringify(role)} (expected admin or user)`);
  }
  const name = operands[0];
  if (command === 'unblock') {
    if (isIP(name ?? '') === 0) throw new UsageError(`invalid IP address ${JSON.stringify(name)}`);
    return { command, name, role, file };
  }
  if (name !== undefined && !USERNAME_PATTERN.test(name)) {
    throw new UsageError(`invalid user name ${JSON.stringify(name)}: use 1 to 64 of A-Z a-z 0-9 _ - .`);
  }
  return { command, name, role, file };
}

function usage(problem: string): UsageError {
  return new UsageError(`${problem}; run \`npm run users -- help\` for usage`);
}
