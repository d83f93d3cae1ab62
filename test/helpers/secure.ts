import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import type { RunningServer } from './server.js';

/** The repository root (test/helpers/ is two levels down). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The issuer and audience the server uses by default (JWT_ISSUER / JWT_AUDIENCE). */
export const ISSUER = 'webrtc-signaling-server';
export const AUDIENCE = 'webrtc-signaling';

/** A fresh random HS256 key of 48 bytes, as text (JWT_SECRET_KEY needs at least 32 bytes). */
export function randomKey(): string {
  return randomBytes(36).toString('base64url');
}

/** Secure mode with auth, a configured key, and limits high enough that no test trips them by accident. */
export function secureEnv(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REQUIRE_HTTPS: 'true',
    REQUIRE_AUTH: 'true',
    JWT_SECRET_KEY: key,
    AUTH_MAX_FAILURES: '1000000',
    MAX_CONNECTIONS_PER_IP: '1000',
    RATE_LIMIT_PER_MINUTE: '100000',
    ...extra,
  };
}

/** An HTTP(S) answer with the body parsed as JSON when it is JSON. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export interface CallOptions {
  readonly body?: unknown;
  /** Sent exactly as given (for malformed bodies); wins over `body`. */
  readonly rawBody?: string | Buffer;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** Source address, e.g. `127.0.0.2`: Linux routes all of 127/8 to loopback. */
  readonly localAddress?: string;
}

/** Where `call` sends to: HTTPS unless the server's `url` says `http:`. */
export type CallTarget = Pick<RunningServer, 'port'> & { readonly url?: string };

/** One HTTP(S) request to `server` (self-signed certificate accepted), on a fresh connection. */
export function call(
  server: CallTarget,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const payload =
    options.rawBody !== undefined
      ? options.rawBody
      : options.body !== undefined
        ? JSON.stringify(options.body)
        : undefined;
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['Content-Type'] = 'application/json';
  }
  if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const plain = server.url?.startsWith('http:') ?? false;
    const req = (plain ? httpRequest : httpsRequest)(
      {
        host: '127.0.0.1',
        port: server.port,
        method,
        path,
        headers,
        rejectUnauthorized: false,
        agent: false,
        localAddress: options.localAddress ?? '127.0.0.1',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON; tests that care look at `text`
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** POST /auth/login, from `localAddress`. */
export function login(
  server: CallTarget,
  username: string,
  password: string,
  localAddress = '127.0.0.1',
): Promise<Answer> {
  return call(server, 'POST', '/auth/login', { body: { username, password }, localAddress });
}

/** Logs in and returns the access token, failing the test when the login is refused. */
export async function tokenFor(server: CallTarget, username: string, password: string): Promise<string> {
  const answer = await login(server, username, password);
  if (answer.status !== 200) throw new Error(`login ${username}: ${answer.status} ${answer.text}`);
  return answer.json.access_token as string;
}

export interface ForgeOptions {
  readonly sub?: string;
  readonly role?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Seconds since the epoch; `null` leaves the claim out. */
  readonly exp?: number | null;
  readonly iat?: number;
  readonly alg?: 'HS256' | 'HS384' | 'HS512';
}

/** A token signed with `key` (text, as configured) and the given claims; defaults make a valid token. */
export async function forgeToken(key: string | Uint8Array, options: ForgeOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ role: options.role ?? 'user' })
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setSubject(options.sub ?? 'user1')
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setIssuedAt(options.iat ?? now)
    .setJti(randomBytes(8).toString('hex'));
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now + 600);
  return jwt.sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/** base64url of a JSON value, as in a JWT segment. */
export function segment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** The decoded header and payload of a JWT (no verification). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

/** The SHA-256 fingerprint (`AA:BB:...`) of the certificate a fresh TLS connection to `port` is shown. */
export function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      servername: 'localhost',
    });
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

/** A TCP port that was free a moment ago (for child processes that need a fixed PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The environment a child process gets: only what a node process needs plus `env` (no inherited config). */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const keep: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) {
    if (process.env[name] !== undefined) keep[name] = process.env[name];
  }
  return { ...keep, ...env };
}

/** The `tsx` loader as a file URL, so a child can run TypeScript from any working directory. */
const TSX_LOADER = import.meta.resolve('tsx');

/** A server (or CLI) process started with `node --import tsx`, its output collected as it comes. */
export interface ChildRun {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or the signal name) once the process has exited and its output is read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until stdout+stderr match `pattern`; fails (with the output) after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after 10 s; resolves when the process is gone. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs `script` (a path relative to the repository root, e.g. `src/main.ts`) as
 * `node --import tsx <script> ...args` in `cwd` with exactly `env` (plus PATH/HOME).
 */
export function runTs(
  script: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; input?: string },
): ChildRun {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, join(ROOT, script), ...args], {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiters = new Set<() => void>();
  const run: ChildRun = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => {
      child.once('close', (code, signal) => {
        resolve({ code, signal });
        for (const wake of waiters) wake();
      });
    }),
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let gone = false;
      void run.exited.then(() => {
        gone = true;
      });
      for (;;) {
        if (pattern.test(run.stdout + run.stderr)) return;
        if (gone || Date.now() > deadline) {
          throw new Error(
            `${script}: ${gone ? 'exited' : `no ${pattern} within ${timeoutMs} ms`}\nstdout: ${run.stdout.slice(-2000)}\nstderr: ${run.stderr.slice(-2000)}`,
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, 100);
          function done() {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          }
          waiters.add(done);
        });
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const result = await run.exited;
        clearTimeout(timer);
        return result;
      }
      return run.exited;
    },
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr += chunk;
    for (const wake of waiters) wake();
  });
  child.stdin?.on('error', () => {});
  child.stdin?.end(options.input ?? '');
  return run;
}
