import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redisReachable } from './redis.js';

const run = promisify(execFile);

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A `redis-server` this test started on a spare port; `stop` kills it, `start` brings it back. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** True when `redis-server` can be started here (fault tests skip, saying so, otherwise). */
export async function canStartRedis(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `redis-server` on a spare port in a temp dir. With `persist`, every write goes to an
 * append-only file first, so a killed and restarted server comes back with its data (the harder case
 * for repair: ghosts survive the outage).
 */
export async function startRedisProcess(
  options: { persist?: boolean; args?: string[] } = {},
): Promise<RedisProcess> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push(
    ...(options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  args.push(...(options.args ?? []));
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const handle: RedisProcess = {
    port,
    url,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore', cwd: dir });
      const deadline = Date.now() + 5000;
      while (!(await redisReachable(url))) {
        if (Date.now() > deadline) throw new Error(`redis-server did not start on ${port}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const current = child;
      child = null;
      if (!current || current.exitCode !== null) return;
      const exited = new Promise((resolve) => current.once('exit', resolve));
      current.kill('SIGKILL');
      await exited;
    },
  };
  await handle.start();
  return handle;
}

/**
 * A Redis Cluster of three masters (no replicas) on spare ports, made with `redis-cli --cluster
 * create`; `url` lists the seed nodes as `REDIS_URL` does with `REDIS_CLUSTER=true`.
 */
export async function startRedisCluster(): Promise<{ url: string; stop(): Promise<void> }> {
  const nodes = await Promise.all(
    [0, 1, 2].map(() =>
      startRedisProcess({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }),
    ),
  );
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  const deadline = Date.now() + 15_000;
  for (const node of nodes) {
    for (;;) {
      const { stdout } = await run('redis-cli', ['-p', String(node.port), 'cluster', 'info']);
      if (stdout.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not become ready');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: nodes.map((n) => n.url).join(','),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
