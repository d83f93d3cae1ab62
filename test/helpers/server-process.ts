import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The real server as a separate process (`node --import tsx src/main.ts`), for signals and exit codes. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly dir: string;
  /** Resolves with the port once the server logs that it listens. */
  readonly ready: Promise<number>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

/** Starts the server in a temp working dir (so `.env`, users.csv, ssl/ land there) with `env`. */
export async function spawnServer(env: Record<string, string>, dir?: string): Promise<ServerProcess> {
  const cwd = dir ?? (await mkdtemp(join(tmpdir(), 'signaling-proc-')));
  // tsx is resolved here, not from the temp working directory, which has no node_modules.
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(process.cwd(), 'src', 'main.ts')],
    {
      cwd,
      // Resume off unless a test turns it on (see test/helpers/server.ts).
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        RESUME_GRACE_SECONDS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const ready = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) =>
      reject(new Error(`server exited with ${code} before listening: ${err || out}`)),
    );
  });
  ready.catch(() => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, dir: cwd, ready, exited, stdout: () => out, stderr: () => err };
}
