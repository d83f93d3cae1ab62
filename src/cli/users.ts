import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseUsersCsv, UsersFileError, updateUsersFile } from '../auth/csv-user-store.js';
import { hashPassword, passwordTooLong } from '../auth/password-hasher.js';
import { MAX_PASSWORD_BYTES, type Role, USERNAME_PATTERN, type UserRecord } from '../auth/user-store.js';
import { ConfigError, type Environment, loadConfig } from '../config/config.js';
import { readEnvironment } from '../config/environment.js';

/** Exit codes of `npm run users`; scripts may rely on them. */
export const USERS_CLI_EXIT = Object.freeze({
  ok: 0,
  usage: 1,
  unknownUser: 2,
  duplicateUser: 3,
  usersFile: 4,
});

/** Where the CLI reads passwords and writes output, and how it finds the configuration. */
export interface UsersCliIo {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** The environment merged with `.env`; consulted only when `--file` is not given. */
  readonly environment: () => Environment;
}

const USAGE = `Usage: npm run users -- <command> [options]

Commands:
  add NAME [--role admin|user]   add a user (role user by default); asks for the password
  passwd NAME                    set a new password
  remove NAME                    delete a user
  disable NAME                   keep the user but refuse their logins
  enable NAME                    allow a disabled user to log in again
  list                           show username, role, created_at, disabled
  help                           show this text

Options:
  --file PATH    the users file (default: USERS_FILE from the environment or .env, else users.csv)

Passwords are asked twice without echo on a terminal; otherwise the whole of standard input is the
password (one trailing newline removed), e.g.  printf '%s' "$PW" | npm run users -- add alice
A running server picks up every change by itself.
Exit codes: 0 ok, 1 bad usage or input, 2 unknown user, 3 user exists, 4 users file malformed or unwritable.
`;

const COMMANDS = ['add', 'passwd', 'remove', 'disable', 'enable', 'list', 'help'] as const;
type Command = (typeof COMMANDS)[number];

class CliFailure extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

interface Invocation {
  readonly command: Command;
  readonly name: string | undefined;
  readonly role: Role | undefined;
  readonly file: string | undefined;
}

/**
 * Runs one `users` command and resolves its exit code (see `USERS_CLI_EXIT`); never throws.
 * Every failure is reported as one line on `io.stderr` (a malformed users file: one line per bad
 * row). Passwords and hashes are never written anywhere but, hashed, the users file.
 */
export async function runUsersCli(args: readonly string[], io: UsersCliIo): Promise<number> {
  try {
    const invocation = parseArguments(args);
    if (invocation.command === 'help') {
      io.stdout.write(USAGE);
      return USERS_CLI_EXIT.ok;
    }
    const file = invocation.file ?? usersFileFromConfig(io.environment);
    const message = await execute(invocation, file, io);
    if (message) io.stdout.write(`${message}\n`);
    return USERS_CLI_EXIT.ok;
  } catch (error) {
    const failure = asFailure(error);
    io.stderr.write(`${failure.message}\n`);
    return failure.exitCode;
  }
}

function parseArguments(args: readonly string[]): Invocation {
  const positionals: string[] = [];
  let role: string | undefined;
  let file: string | undefined;
  let help = false;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg, '=') : [arg, undefined];
    if (flag === '--role' || flag === '--file') {
      const value = inline ?? args[++i];
      if (value === undefined || value === '') throw usage(`option ${flag} needs a value`);
      if (flag === '--role') role = value;
      else file = value;
    } else if (flag === '-h' || flag === '--help') {
      help = true;
    } else if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw usage(`unknown option ${JSON.stringify(arg)}`);
    } else {
      positionals.push(arg);
    }
  }
  if (help) return { command: 'help', name: undefined, role: undefined, file };
  const [commandText, ...operands] = positionals;
  if (commandText === undefined) throw usage('missing command');
  if (!(COMMANDS as readonly string[]).includes(commandText)) {
    throw usage(`unknown command ${JSON.stringify(commandText)}`);
  }
  const command = commandText as Command;
  const wantsName = command !== 'list' && command !== 'help';
  if (operands.length !== (wantsName ? 1 : 0)) {
    throw usage(wantsName ? `${command} needs exactly one user name` : `${command} takes no arguments`);
  }
  if (role !== undefined && command !== 'add') throw usage('--role is only for add');
  if (role !== undefined && role !== 'admin' && role !== 'user') {
    throw usage(`invalid role ${JSON.stringify(role)} (expected admin or user)`);
  }
  const name = operands[0];
  if (name !== undefined && !USERNAME_PATTERN.test(name)) {
    throw new CliFailure(
      USERS_CLI_EXIT.usage,
      `invalid user name ${JSON.stringify(name)}: use 1 to 64 of A-Z a-z 0-9 _ - .`,
    );
  }
  return { command, name, role: role as Role | undefined, file };
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return [text.slice(0, at), text.slice(at + 1)];
}

function usage(problem: string): CliFailure {
  return new CliFailure(USERS_CLI_EXIT.usage, `${problem}; run \`npm run users -- help\` for usage`);
}

function usersFileFromConfig(environment: () => Environment): string {
  try {
    return loadConfig(environment()).usersFile;
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new CliFailure(USERS_CLI_EXIT.usage, `${error.message}\n(or pass --file PATH)`);
    }
    throw error;
  }
}

async function execute(invocation: Invocation, file: string, io: UsersCliIo): Promise<string | undefined> {
  const name = invocation.name!;
  switch (invocation.command) {
    case 'list':
      io.stdout.write(formatTable(await readExisting(file)));
      return undefined;
    case 'add': {
      // Checked before asking for a password so a typo fails fast; checked again under the lock.
      if (findInsensitive(await readCurrent(file), name)) throw duplicate(name);
      const passwordHash = await hashPassword(await readNewPassword(io));
      const role = invocation.role ?? 'user';
      await updateUsersFile(file, (users) => {
        if (findInsensitive(users, name)) throw duplicate(name);
        return [
          ...users,
          { username: name, passwordHash, role, createdAt: new Date().toISOString(), disabled: false },
        ];
      });
      return `added user ${JSON.stringify(name)} (role ${role})`;
    }
    case 'passwd': {
      requireUser(await readCurrent(file), name);
      const passwordHash = await hashPassword(await readNewPassword(io));
      await updateUsersFile(file, (users) => replaceUser(users, name, (u) => ({ ...u, passwordHash })));
      return `changed the password of ${JSON.stringify(name)}`;
    }
    case 'remove':
      await updateUsersFile(file, (users) => {
        requireUser(users, name);
        return users.filter((u) => u.username !== name);
      });
      return `removed user ${JSON.stringify(name)}`;
    case 'disable':
    case 'enable': {
      const disabled = invocation.command === 'disable';
      await updateUsersFile(file, (users) => replaceUser(users, name, (u) => ({ ...u, disabled })));
      return `user ${JSON.stringify(name)} is ${disabled ? 'disabled' : 'enabled'}`;
    }
    case 'help':
      return undefined;
  }
}

function findInsensitive(users: readonly UserRecord[], name: string): UserRecord | undefined {
  // The users file refuses names that differ only in case, so `add` must too.
  const key = name.toLowerCase();
  return users.find((u) => u.username.toLowerCase() === key);
}

function duplicate(name: string): CliFailure {
  return new CliFailure(USERS_CLI_EXIT.duplicateUser, `user ${JSON.stringify(name)} already exists`);
}

function requireUser(users: readonly UserRecord[], name: string): UserRecord {
  const user = users.find((u) => u.username === name);
  if (!user) throw new CliFailure(USERS_CLI_EXIT.unknownUser, `no such user ${JSON.stringify(name)}`);
  return user;
}

function replaceUser(
  users: UserRecord[],
  name: string,
  change: (user: UserRecord) => UserRecord,
): UserRecord[] {
  requireUser(users, name);
  return users.map((u) => (u.username === name ? change(u) : u));
}

// The file as it is now, or no users when it does not exist yet (add/passwd create it under the lock).
async function readCurrent(file: string): Promise<UserRecord[]> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw cannotRead(file, error);
  });
  return text === undefined ? [] : parseOrFail(text, file);
}

async function readExisting(file: string): Promise<UserRecord[]> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw cannotRead(file, error);
  });
  return parseOrFail(text, file);
}

function cannotRead(file: string, error: NodeJS.ErrnoException): CliFailure {
  return new CliFailure(
    USERS_CLI_EXIT.usersFile,
    `cannot read the users file ${file} (${error.code ?? error.message})`,
  );
}

function parseOrFail(text: string, file: string): UserRecord[] {
  const parsed = parseUsersCsv(text, file);
  if ('errors' in parsed) throw new UsersFileError(parsed.errors);
  return parsed.users;
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

async function readNewPassword(io: UsersCliIo): Promise<string> {
  const password = io.stdin.isTTY ? await promptTwice(io) : await readPiped(io.stdin);
  if (password === '') throw new CliFailure(USERS_CLI_EXIT.usage, 'the password must not be empty');
  if (passwordTooLong(password)) {
    throw new CliFailure(USERS_CLI_EXIT.usage, `the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  return password;
}

async function readPiped(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    chunks.push(bytes);
    size += bytes.length;
    // Past this no newline stripping can bring it under the limit; stop reading.
    if (size > MAX_PASSWORD_BYTES + 2) break;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new CliFailure(USERS_CLI_EXIT.usage, 'the password is not valid UTF-8');
  }
  return text.replace(/\r?\n$/, '');
}

async function promptTwice(io: UsersCliIo): Promise<string> {
  let muted = false;
  // readline echoes what is typed through its output; muting it hides the password but not the prompt.
  const output = new Writable({
    write(chunk, _encoding, callback) {
      if (!muted) io.stderr.write(chunk);
      callback();
    },
  });
  const rl = createInterface({ input: io.stdin, output, terminal: true, historySize: 0 });
  rl.on('SIGINT', () => rl.close());
  const ask = (prompt: string) =>
    new Promise<string>((resolve, reject) => {
      const onClose = () => reject(new CliFailure(USERS_CLI_EXIT.usage, 'cancelled: no password entered'));
      rl.once('close', onClose);
      rl.question(prompt, (answer) => {
        rl.off('close', onClose);
        resolve(answer);
      });
      muted = true;
    }).finally(() => {
      muted = false;
      io.stderr.write('\n');
    });
  try {
    const first = await ask('Password: ');
    const second = await ask('Repeat password: ');
    if (first !== second) throw new CliFailure(USERS_CLI_EXIT.usage, 'the passwords do not match');
    return first;
  } finally {
    rl.close();
  }
}

function asFailure(error: unknown): CliFailure {
  if (error instanceof CliFailure) return error;
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

function isEntryPoint(): boolean {
  try {
    return (
      process.argv[1] !== undefined &&
      realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main(process.argv.slice(2));
