import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { passwordTooLong } from '../auth/password-hasher.js';
import { MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS } from '../auth/user-store.js';

/** Where a new password is read from, and where prompts go. */
export interface PasswordInputIo {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream;
}

/** No acceptable password was given; `message` says why without repeating it. */
export class PasswordInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordInputError';
  }
}

/**
 * Reads a new password: on a terminal asked twice on `stderr` without echo, otherwise the whole of
 * `stdin` with one trailing newline removed. Throws `PasswordInputError` when it is empty, shorter
 * than `MIN_PASSWORD_CHARS` characters, over
 * `MAX_PASSWORD_BYTES`, not UTF-8, the two entries differ, or the prompt is cancelled.
 */
export async function readNewPassword(io: PasswordInputIo): Promise<string> {
  const password = io.stdin.isTTY ? await promptTwice(io) : await readPiped(io.stdin);
  if (password === '') throw new PasswordInputError('the password must not be empty');
  if ([...password].length < MIN_PASSWORD_CHARS)
    throw new PasswordInputError(`the password must have at least ${MIN_PASSWORD_CHARS} characters`);
  if (passwordTooLong(password)) {
    throw new PasswordInputError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
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
    throw new PasswordInputError('the password is not valid UTF-8');
  }
  return text.replace(/\r?\n$/, '');
}

async function promptTwice(io: PasswordInputIo): Promise<string> {
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
      const onClose = () => reject(new PasswordInputError('cancelled: no password entered'));
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
    if (first !== second) throw new PasswordInputError('the passwords do not match');
    return first;
  } finally {
    rl.close();
  }
}
