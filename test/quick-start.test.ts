import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from './helpers/redis-process.js';
import { login } from './helpers/secure.js';
import { joinRoom } from './helpers/ws-client.js';

/**
 * The README's quick start, line by line, on a fresh clone (the committed tree, sharing this
 * checkout's node_modules so nothing is downloaded): each command works after the ones before it.
 */
describe('the quick start on a fresh clone, in the README’s order', { timeout: 240_000 }, () => {
  let clone: string;
  before(async () => {
    clone = await mkdtemp(join(tmpdir(), 'signaling-clone-'));
    execFileSync('git', ['clone', '--quiet', process.cwd(), clone]);
    await symlink(join(process.cwd(), 'node_modules'), join(clone, 'node_modules'), 'dir');
  });
  after(async () => {
    await rm(clone, { recursive: true, force: true });
  });

  /** Runs `command` in the clone as its own process group; resolves once it says it listens. */
  const run = async (command: string, args: string[]) => {
    const port = await freePort();
    const child = spawn(command, args, {
      cwd: clone,
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? clone,
        HOST: '127.0.0.1',
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 120_000;
    while (!/listening on https?:\/\//.test(out)) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`${command} ${args.join(' ')} did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { child, port, output: () => out, exited };
  };
  const stop = async (started: { child: ChildProcess; exited: Promise<number | null> }) => {
    process.kill(-started.child.pid!, 'SIGTERM');
    return started.exited;
  };

  test('1. ./start_server.sh: plain HTTP, no login needed, a room joins', async () => {
    const server = await run('./start_server.sh', []);
    try {
      const home = await fetch(`http://127.0.0.1:${server.port}/`);
      assert.equal(((await home.json()) as { status: string }).status, 'ok');
      const peer = await joinRoom(`ws://127.0.0.1:${server.port}`, 'quick-start');
      peer.client.close();
    } finally {
      assert.equal(await stop(server), 0, 'SIGTERM reaches the server (the script execs it)');
    }
  });

  test('2. ./start_secure_server.sh: HTTPS, and the documented development login user1/password123 works', async () => {
    const server = await run('./start_secure_server.sh', []);
    try {
      const target = { port: server.port, url: `https://127.0.0.1:${server.port}` };
      const answer = await login(target, 'user1', 'password123');
      assert.equal(answer.status, 200, answer.text);
      const token = answer.json.access_token as string;
      const peer = await joinRoom(`wss://127.0.0.1:${server.port}`, 'quick-start', {
        token,
        rejectUnauthorized: false,
      });
      peer.client.close();
    } finally {
      assert.equal(await stop(server), 0);
    }
  });

  test('3. npm start: production defaults, the admin password printed once logs in', async () => {
    const server = await run('npm', ['start']);
    try {
      const password = /Generated password for user "admin"[^:]*: (\S+)/.exec(server.output())?.[1];
      assert.ok(password, `a generated admin password is printed:\n${server.output()}`);
      const target = { port: server.port, url: `https://127.0.0.1:${server.port}` };
      assert.equal((await login(target, 'admin', password)).status, 200);
      assert.equal((await login(target, 'user1', 'password123')).status, 401, 'no development users here');
    } finally {
      await stop(server);
    }
  });

  test('4. ./start_secure_server.sh again, after npm start: the development logins still work', async () => {
    const server = await run('./start_secure_server.sh', []);
    try {
      const target = { port: server.port, url: `https://127.0.0.1:${server.port}` };
      assert.equal((await login(target, 'user2', 'password123')).status, 200);
    } finally {
      await stop(server);
    }
  });
});
