// `npm run bench`: load benchmark of the real signaling server against a CEILING (a minimal relay on
// `ws`, bench/ceiling-relay.mjs), measured with the same client code (bench/load-generator.mjs).
// Not part of `npm test`: it takes minutes and its numbers depend on the machine.
//
// Flags (env in parentheses):
//   --quick          (BENCH_QUICK=1)       1 run, shorter scenarios: for development
//   --runs=N         (BENCH_RUNS)          repetitions per target (default 3; medians are reported)
//   --server=KIND    (BENCH_SERVER)        dist (default: node dist/src/main.js) or ceiling (A/A check of
//                                          the harness: ceiling measured against itself)
//   --only=a,b       (BENCH_ONLY)          subset of memory,connect,firstmsg,throughput,throughput_big,latency,
//                                          secure_throughput,secure_firstmsg,fleet_throughput,fleet_latency
//   (BENCH_REDIS_URL)                      Redis for the fleet scenarios (default: a redis-server of its own,
//                                          else redis://127.0.0.1:6379)
//   --peerjs=0       (BENCH_PEERJS=0)      leave PeerJS server (npm peer 1.0.2) out of the comparison
//   --no-pin         (BENCH_NO_PIN=1)      do not pin with taskset
//   --profile        (BENCH_PROFILE=1)     write the server's V8 CPU profiles to bench/results/profiles/
//   --against=PATH   (BENCH_AGAINST)       A/B: run `node PATH` (e.g. an earlier build's dist/src/main.js,
//                                          with the server's environment) in the ceiling's slot
//   (BENCH_AGAINST_NODE_FLAGS, BENCH_AGAINST_ENV)  node flags / "NAME=value ..." settings of that build
// Output: a markdown table on stdout; raw JSON and the table under bench/results/ (gitignored).
// Exit code: 0 when the benchmark ran (even if targets are missed), 1 when it could not measure.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH_DIR, '..');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const STATE_DIR = join(RESULTS_DIR, 'state');
const LOG_DIR = join(RESULTS_DIR, 'logs');
const SERVER_ENTRY = join(ROOT, 'dist', 'src', 'main.js');
const CEILING_ENTRY = join(BENCH_DIR, 'ceiling-relay.mjs');
// PeerJS server started with its own CLI, as its users do (`peerjs --port ...`).
const PEERJS_ENTRY = join(ROOT, 'node_modules', 'peer', 'dist', 'bin', 'peerjs.js');
const PROBE_ENTRY = join(BENCH_DIR, 'eventloop-probe.mjs');
// The server runs with the node flags `npm start` gives it (also in the Dockerfile and the systemd
// unit), since that is how it is run; `BENCH_AGAINST_NODE_FLAGS` sets those of an `--against` build.
const SERVER_NODE_FLAGS = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
  .scripts.start.split(/\s+/)
  .filter((word) => word.startsWith('--'));
const AGAINST_NODE_FLAGS =
  process.env.BENCH_AGAINST_NODE_FLAGS === undefined
    ? SERVER_NODE_FLAGS
    : process.env.BENCH_AGAINST_NODE_FLAGS.split(/\s+/).filter(Boolean);
// `BENCH_AGAINST_ENV` ("NAME=value NAME=value"): environment of the `--against` build only, e.g. the
// same build with another setting as the A/B.
const AGAINST_ENV = Object.fromEntries(
  (process.env.BENCH_AGAINST_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const ELD_DIR = join(RESULTS_DIR, 'eld');
const LOADGEN_ENTRY = join(BENCH_DIR, 'load-generator.mjs');
const TARGET_CPU = '0';
const LOADGEN_CPU = '1';

// ---------------------------------------------------------------------------------------------------
// Options

function option(name, envName) {
  const prefix = `--${name}=`;
  const arg = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(prefix));
  if (arg !== undefined) return arg.startsWith(prefix) ? arg.slice(prefix.length) : 'true';
  const env = process.env[envName];
  return env === undefined || env === '' ? undefined : env;
}

const KNOWN_FLAGS = ['quick', 'runs', 'server', 'only', 'no-pin', 'profile', 'peerjs', 'against', 'help'];
for (const arg of process.argv.slice(2)) {
  const name = arg.replace(/^--/, '').split('=')[0];
  if (!arg.startsWith('--') || !KNOWN_FLAGS.includes(name)) {
    console.error(`unknown argument ${arg}; known: ${KNOWN_FLAGS.map((f) => `--${f}`).join(' ')}`);
    process.exit(2);
  }
}
if (option('help')) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\nimport ')[0]);
  process.exit(0);
}

const quick = ['1', 'true'].includes(option('quick', 'BENCH_QUICK') ?? '');
const runs = Number(option('runs', 'BENCH_RUNS') ?? (quick ? 1 : 3));
const serverKind = option('server', 'BENCH_SERVER') ?? 'dist';
const profile = ['1', 'true'].includes(option('profile', 'BENCH_PROFILE') ?? '');
const pinRequested = !['1', 'true'].includes(option('no-pin', 'BENCH_NO_PIN') ?? '');
const withPeerjs = !['0', 'false'].includes(option('peerjs', 'BENCH_PEERJS') ?? '');
const againstEntry = option('against', 'BENCH_AGAINST');
const ALL_SCENARIOS = [
  'memory',
  'connect',
  'firstmsg',
  'throughput',
  'throughput_big',
  'latency',
  // Secure mode: the server with TLS + JWT against the ceiling behind the same TLS (PeerJS left out).
  'secure_throughput',
  'secure_firstmsg',
  // Fleet mode: one instance against two instances through Redis, each room's peers split over both.
  'fleet_throughput',
  'fleet_latency',
];
let scenarios = (option('only', 'BENCH_ONLY') ?? ALL_SCENARIOS.join(','))
  .split(',')
  .map((s) => s.trim())
  .sort((x, y) => ALL_SCENARIOS.indexOf(x) - ALL_SCENARIOS.indexOf(y));

if (!Number.isInteger(runs) || runs < 1 || runs > 10) fail(`--runs must be 1..10, got ${runs}`);
if (!['dist', 'ceiling'].includes(serverKind)) fail(`--server must be dist or ceiling, got ${serverKind}`);
for (const s of scenarios) if (!ALL_SCENARIOS.includes(s)) fail(`unknown scenario ${s} in --only`);

/**
 * Scenario parameters (issue 9): 1 offer (~300 B SDP) to 3 ICE candidates (~160 B), contract fields
 * only. Timed scenarios alternate between the targets in `slices`.
 */
const PARAMS = {
  throughput: {
    rooms: 100,
    window: 32,
    sdpBytes: 300,
    warmupMs: quick ? 500 : 1000,
    durationMs: quick ? 2000 : 5000,
    slices: quick ? 2 : 5,
  },
  // The same with browser-sized offers (~2.7 KB of SDP).
  throughput_big: {
    rooms: 100,
    window: 32,
    sdpBytes: 2700,
    warmupMs: quick ? 500 : 1000,
    durationMs: quick ? 2000 : 5000,
    slices: quick ? 2 : 5,
  },
  // 5,000 msgs/s over 1,000 peers. Short slices: a stall of the VM then spreads over all targets
  // instead of landing in one target's p99.
  latency: {
    rooms: 500,
    rate: 5000,
    sdpBytes: 300,
    warmupMs: quick ? 1000 : 2000,
    durationMs: quick ? 3000 : 6000,
    slices: quick ? 6 : 12,
  },
  // 5,000 and 19,000 idle connections (the open-file cap is 20,000), spread over 4 source addresses.
  memory: {
    steps: quick ? [2000] : [5000, 19000],
    concurrency: 200,
    settleMs: quick ? 700 : 1500,
    holdMs: quick ? 3000 : 12_000,
    sourceAddresses: 4,
  },
  // Joins got 2x faster between 300 and 2,000 warm-up cycles (JIT), so warm up well.
  connect: {
    connections: quick ? 1000 : 5000,
    concurrency: 50,
    slices: quick ? 2 : 5,
    warmupCycles: quick ? 500 : 2000,
    sourceAddresses: 4,
  },
  firstmsg: {
    cycles: quick ? 300 : 1000,
    concurrency: 20,
    slices: quick ? 2 : 5,
    warmupCycles: quick ? 200 : 500,
  },
};

PARAMS.secure_throughput = PARAMS.throughput;
PARAMS.secure_firstmsg = PARAMS.firstmsg;
PARAMS.fleet_throughput = PARAMS.throughput;
PARAMS.fleet_latency = PARAMS.latency;

/** The targets a scenario compares, besides the rotation between runs. */
function kindsFor(scenario) {
  if (scenario.startsWith('secure_')) return ['server', 'ceiling'];
  if (scenario.startsWith('fleet_')) return ['server', 'fleet'];
  return withPeerjs ? ['server', 'ceiling', 'peerjs'] : ['server', 'ceiling'];
}

// The fleet's Redis: by default a redis-server of the harness's own (no persistence), so that in
// fleet_latency it can run SCHED_FIFO like the instances and the load generator. A system Redis at
// normal priority only ran when both FIFO processes slept: it added milliseconds to every hop.
let REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
/** pid of the harness's own redis-server, when it started one. */
let benchRedisPid = null;

// The server's rate limiter must never act: 10,000,000 is the highest value its config accepts
// (src/config/config.ts), ~166k msgs/s per IP with a 10M burst, far above anything sent here.
const SERVER_ENV = {
  HOST: '127.0.0.1',
  REQUIRE_HTTPS: 'false',
  REQUIRE_AUTH: 'false',
  DEBUG: 'false',
  LOG_LEVEL: 'info',
  RATE_LIMIT_PER_MINUTE: '10000000',
  RATE_LIMIT_BURST: '10000000',
  MAX_CONNECTIONS_PER_IP: '100000',
  MAX_CONNECTIONS_PER_ROOM: '10',
  MAX_MESSAGE_BYTES: '65536',
  WEBSOCKET_TIMEOUT: '600',
  CORS_ORIGINS: 'http://localhost:3000',
  // Everything the server would create on first start goes under bench/results/state, never into the
  // checkout: users file (with DEBUG=false a random admin password), certificate, JWT key.
  USERS_FILE: join(STATE_DIR, 'users.csv'),
  SSL_CERTFILE: join(STATE_DIR, 'server.crt'),
  SSL_KEYFILE: join(STATE_DIR, 'server.key'),
  JWT_SECRET_FILE: join(STATE_DIR, 'jwt_secret'),
  JWT_SECRET_KEY: randomBytes(32).toString('base64url'),
};

// In the memory scenario the liveness ticker must show it keeps up with 19,000 idle connections:
// with a 10 s timeout the server pings every connection idle for 5 s, and all must still be open after
// the 12 s hold. (PeerJS drops clients silent for 60 s, its default; the ceiling has no liveness.)
const MEMORY_ENV = { WEBSOCKET_TIMEOUT: '10' };

// Secure mode: HTTPS/WSS with the certificate under bench/results/state (generated once), and every
// WebSocket presenting a JWT. The ceiling serves the same certificate (BENCH_TLS_*).
const SECURE_ENV = { REQUIRE_HTTPS: 'true', REQUIRE_AUTH: 'true' };
const CEILING_TLS_ENV = { BENCH_TLS_CERT: SERVER_ENV.SSL_CERTFILE, BENCH_TLS_KEY: SERVER_ENV.SSL_KEYFILE };

// ---------------------------------------------------------------------------------------------------
// Child processes: every one is tracked so an error, SIGINT or SIGTERM never leaves one behind.

const children = new Set();

function killAll(signal = 'SIGKILL') {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

process.on('exit', () => killAll());
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping children`);
    killAll();
    process.exit(130);
  });
}

function fail(message) {
  console.error(`bench: ${message}`);
  killAll();
  process.exit(1);
}

const pinned = pinRequested && hasTaskset();
if (pinRequested && !pinned) {
  console.error('warning: taskset not found; running unpinned, target and load generator share CPUs');
}
if (pinned && os.availableParallelism() < 2) {
  console.error(
    'warning: fewer than 2 CPUs available; pinning target and load generator to separate CPUs fails',
  );
}

function hasTaskset() {
  return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
}

// The latency scenario keeps both processes mostly idle, so on a shared machine its tail measures how
// long the scheduler takes to hand a woken process its CPU back from whatever else runs there (tens to
// hundreds of ms under a test run), not the relay. For that scenario only, the target and the load
// generator run SCHED_FIFO (chrt): woken, they preempt normal processes at once. Each uses ~20 % of a
// core there, and the kernel's RT throttling keeps 5 % for others in any case. Other scenarios keep
// normal scheduling: they saturate their cores and must not starve the rest of the machine.
const realtimeLatency = spawnSync('chrt', ['-f', '1', 'true'], { stdio: 'ignore' }).status === 0;
if (!realtimeLatency) {
  console.error('note: chrt -f not available or not permitted; latency measured under normal scheduling');
}

// All threads of a target share CPU 0, so under SCHED_FIFO a thread that busy-waits for another of
// the same priority never lets it run: cppgc's incremental sweep task re-posts itself on the main
// thread until the concurrent sweeper (a V8 platform worker) is done (gdb: main thread in
// Sweeper::ScheduleIncrementalSweeping -> uv_async_send, workers runnable but never scheduled). The
// target then spun at 100 % for good and, being FIFO on CPU 0, starved the next target too: the
// "second target gets no relays" failure. Helper threads therefore get priority 2, above the main
// thread's 1: when one becomes runnable it preempts the main thread, so such a wait ends at once.
function setRealtime(pid, on) {
  const run = (args) => spawnSync('chrt', args, { stdio: 'ignore' }).status === 0;
  if (!on) {
    if (!run(['-a', '-o', '-p', '0', String(pid)])) throw new Error(`chrt -o ${pid} failed`);
    return;
  }
  if (!run(['-a', '-f', '-p', '1', String(pid)])) throw new Error(`chrt -f ${pid} failed`);
  raiseHelperThreads(pid);
}

/** Every thread of `pid` but the main one to SCHED_FIFO priority 2 (see setRealtime). */
function raiseHelperThreads(pid) {
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`).filter((tid) => tid !== String(pid));
  } catch {
    return; // exited
  }
  for (const tid of tids) spawnSync('chrt', ['-f', '-p', '2', tid], { stdio: 'ignore' });
}

// Both sides hold one fd per connection; the memory scenario needs up to 19,000 + a few hundred.
const FDS_NEEDED = Math.max(...PARAMS.memory.steps) + 1000;
const softFdLimit = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim();
const raiseFds = softFdLimit !== 'unlimited' && !(Number(softFdLimit) >= FDS_NEEDED);
if (raiseFds)
  console.error(`note: ulimit -n is ${softFdLimit}; raising it to ${FDS_NEEDED} for the children`);

/** argv for a child: optional fd-limit raise, optional realtime policy and CPU pinning, then node. */
function command(cpu, args, realtime = false) {
  let argv = [process.execPath, ...args];
  if (pinned) argv = ['taskset', '-c', cpu, ...argv];
  if (realtime) argv = ['chrt', '-f', '1', ...argv];
  if (raiseFds) {
    // exec keeps the pid, so /proc/<pid> of the spawned child is the node process itself.
    argv = [
      'bash',
      '-c',
      `ulimit -n ${FDS_NEEDED} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`,
      'bench',
      ...argv,
    ];
  }
  return argv;
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// Targets

/** Starts a target pinned to TARGET_CPU and resolves once GET /health answers 200. */
async function startTarget(kind, label, scenario, extraEnv = {}) {
  if (kind === 'fleet') return await startFleet(label, scenario);
  const secure = scenario.startsWith('secure_');
  const port = await freePort();
  const logPath = join(LOG_DIR, `${label}.log`);
  const logFd = openSync(logPath, 'w');
  const env = {
    ...process.env,
    ...SERVER_ENV,
    ...(scenario === 'memory' ? MEMORY_ENV : {}),
    ...(secure ? (kind === 'ceiling' ? CEILING_TLS_ENV : SECURE_ENV) : {}),
    ...extraEnv,
    ...(kind === 'ceiling' && againstEntry ? AGAINST_ENV : {}),
    PORT: String(port),
    BENCH_WATCH_STDIN: '1',
    BENCH_ELD_DIR: ELD_DIR,
  };
  const profileArgs =
    profile && kind === 'server' ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`] : [];
  const entry =
    kind === 'server'
      ? [...SERVER_NODE_FLAGS, SERVER_ENTRY]
      : kind === 'peerjs'
        ? [PEERJS_ENTRY, '--port', String(port), '--host', '127.0.0.1', '--concurrent_limit', '100000']
        : againstEntry
          ? [...AGAINST_NODE_FLAGS, resolve(againstEntry)]
          : [CEILING_ENTRY];
  const [file, ...args] = command(TARGET_CPU, ['--import', PROBE_ENTRY, ...profileArgs, ...entry]);
  // stdin stays a pipe: the ceiling exits when it closes, should this harness die without cleanup.
  const child = spawn(file, args, { cwd: ROOT, env, stdio: ['pipe', logFd, logFd] });
  closeSync(logFd);
  children.add(child);
  child.on('exit', () => children.delete(child));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${label} exited during start-up (code ${child.exitCode}); log:\n${tail(logPath)}`);
    }
    if ((await healthStatus(port, kind === 'peerjs' ? '/' : '/health', secure)) === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label}: no health answer (200) within 30 s; log:\n${tail(logPath)}`);
    }
    await sleep(100);
  }
  const comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
  if (comm !== 'node' && !comm.startsWith('node')) {
    throw new Error(`${label}: pid ${child.pid} is '${comm}', not node; CPU/RSS probes would be wrong`);
  }
  return {
    kind,
    label,
    port,
    pid: child.pid,
    child,
    exited,
    logPath,
    dialect: kind === 'peerjs' ? 'peerjs' : 'ours',
    tls: secure,
    pids: [child.pid],
  };
}

/**
 * Fleet mode: two server instances sharing rooms through Redis (a fresh key prefix per fleet, so
 * nothing is left from another run). The load generator connects each room's first peer to one and
 * the second to the other, so every relay and presence event crosses Redis.
 */
async function startFleet(label, scenario) {
  const prefix = `bench-${randomBytes(6).toString('hex')}:`;
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix };
  const a = await startTarget('server', `${label}-a`, scenario, env);
  let b;
  try {
    b = await startTarget('server', `${label}-b`, scenario, env);
  } catch (error) {
    await stopTarget(a);
    throw error;
  }
  return {
    kind: 'fleet',
    label,
    port: a.port,
    ports: [a.port, b.port],
    pid: a.pid,
    pids: [a.pid, b.pid],
    parts: [a, b],
    dialect: 'ours',
    tls: false,
  };
}

/** Starts a private redis-server for the fleet scenarios (unless BENCH_REDIS_URL is set). */
async function startBenchRedis() {
  if (process.env.BENCH_REDIS_URL) return;
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return;
  const port = await freePort();
  const logFd = openSync(join(LOG_DIR, 'redis.log'), 'w');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', LOG_DIR],
    { stdio: ['ignore', logFd, logFd] },
  );
  closeSync(logFd);
  children.add(child);
  child.on('exit', () => children.delete(child));
  const previous = REDIS_URL;
  REDIS_URL = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    if (await redisReachable()) {
      benchRedisPid = child.pid;
      return;
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  REDIS_URL = previous;
  console.error('note: the private redis-server did not answer; fleet scenarios use the system Redis');
}

/** Whether Redis answers at REDIS_URL (a TCP connect and PING); the fleet scenarios need it. */
async function redisReachable() {
  const url = new URL(REDIS_URL);
  return await new Promise((resolveReachable) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port || 6379) });
    const done = (ok) => {
      socket.destroy();
      resolveReachable(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

/** A JWT for the users file's admin, signed with the key the server uses (secure mode). */
let secureToken = null;
async function benchToken() {
  if (secureToken !== null) return secureToken;
  const dist = (path) => import(new URL(`../dist/src/${path}`, import.meta.url).href);
  const { loadConfig } = await dist('config/config.js');
  const { resolveJwtKey } = await dist('auth/jwt-key.js');
  const { TokenService } = await dist('auth/tokens.js');
  const config = loadConfig({ ...SERVER_ENV, ...SECURE_ENV });
  const { secret } = await resolveJwtKey(config);
  const tokens = new TokenService({
    secret,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    expireMinutes: 120,
    now: Date.now,
  });
  secureToken = (await tokens.issue('admin', 'admin')).token;
  return secureToken;
}

/** The certificate secure mode serves, made once with the server's own code when missing. */
async function ensureBenchCertificate() {
  const { loadConfig } = await import(new URL('../dist/src/config/config.js', import.meta.url).href);
  const { ensureCertificate } = await import(new URL('../dist/src/transport/tls.js', import.meta.url).href);
  await ensureCertificate(loadConfig({ ...SERVER_ENV, ...SECURE_ENV }));
}

async function healthStatus(port, path, tls = false) {
  if (tls) {
    // Self-signed certificate: fetch would refuse it.
    return await new Promise((resolveStatus) => {
      const req = https.get(
        { host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: 2000 },
        (res) => {
          res.resume();
          resolveStatus(res.statusCode ?? 0);
        },
      );
      req.on('error', () => resolveStatus(0));
      req.on('timeout', () => req.destroy());
    });
  }
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 12 s (the contract promises 10). */
async function stopTarget(target) {
  if (target.parts) {
    const outcomes = [];
    for (const part of target.parts) outcomes.push(await stopTarget(part));
    return outcomes.find((o) => o.code !== 0) ?? outcomes[0];
  }
  if (target.child.exitCode !== null || target.child.signalCode !== null) return await target.exited;
  target.child.kill('SIGTERM');
  const timer = setTimeout(() => target.child.kill('SIGKILL'), 12_000);
  const outcome = await target.exited;
  clearTimeout(timer);
  return outcome;
}

function tail(path, lines = 20) {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------------------------------
// Load generator

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** CPU seconds all processes have used so far (user+nice+system over all CPUs). */
function machineBusySeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  return (fields[1] + fields[2] + fields[3]) / CLK_TCK;
}

// Other work on the machine (a build, a test run) distorts a scenario. Before each one, wait a bounded
// time for the machine to be quiet; when it is not, measure anyway and let the report show it
// (other_cpu_pct). The budget bounds the total delay of a run.
const QUIET_PCT = 20;
let quietBudgetMs = 40_000;
// Past this point neither waits nor retries: on a busy machine the run still ends in ~5 minutes.
const patienceUntil = Date.now() + (quick ? 60_000 : 200_000);

// A scenario during which other processes (or the hypervisor: steal) took more than this share of a
// core is marked disturbed and, within a small budget, measured once more; the first try is kept in
// the raw JSON but not used for the medians.
const DISTURBED_PCT = 25;
let retryBudget = 4;

function isDisturbed(result) {
  return result.other_cpu_pct + result.steal_cpu_pct > DISTURBED_PCT;
}

async function waitForQuiet() {
  const started = Date.now();
  const perCallDeadline = Math.min(started + Math.min(15_000, quietBudgetMs), patienceUntil);
  let busyPct = 0;
  let announced = false;
  for (;;) {
    const before = machineBusySeconds();
    await sleep(500);
    busyPct = ((machineBusySeconds() - before) / 0.5) * 100;
    if (busyPct < QUIET_PCT || Date.now() >= perCallDeadline) break;
    if (!announced)
      console.error(
        `    waiting for other load on the machine (${Math.round(busyPct)} % of a core) to settle`,
      );
    announced = true;
  }
  const waitedMs = Date.now() - started;
  quietBudgetMs = Math.max(0, quietBudgetMs - Math.max(0, waitedMs - 500));
  if (busyPct >= QUIET_PCT)
    console.error(`    machine still busy (${Math.round(busyPct)} % of a core); measuring anyway`);
  return { waited_ms: waitedMs, busy_pct_before: Math.round(busyPct) };
}

/** Runs one scenario against `targets` (in measuring order); resolves with the generator's JSON. */
function runLoadGenerator(targets, scenario, tag, realtime) {
  const maxMs = 120_000;
  const config = {
    scenario,
    targets: targets.map((t) => ({
      port: t.port,
      ports: t.ports,
      pid: t.pid,
      pids: t.pids,
      dialect: t.dialect,
      tls: t.tls,
      token: t.token,
    })),
    eldDir: ELD_DIR,
    clkTck: CLK_TCK,
    tag,
    maxMs,
    ...PARAMS[scenario],
  };
  // --single-threaded-gc: pinned to one CPU, V8's GC helper threads buy nothing, and under SCHED_FIFO
  // the main thread at times spun waiting for them (load generator at 95 % instead of 15 %).
  const [file, ...args] = command(
    LOADGEN_CPU,
    ['--single-threaded-gc', LOADGEN_ENTRY, JSON.stringify(config)],
    realtime,
  );
  return new Promise((resolveRun) => {
    const child = spawn(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    // Its helper threads too (see setRealtime), once node has started them; it spends its first
    // second or more opening connections, before anything is timed.
    const raise = realtime ? setTimeout(() => raiseHelperThreads(child.pid), 500) : null;
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    // Belt and braces over the generator's own deadline.
    const timer = setTimeout(() => child.kill('SIGKILL'), maxMs + 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(raise);
      children.delete(child);
      const line = stdout.trim().split('\n').pop();
      try {
        resolveRun(JSON.parse(line));
      } catch {
        resolveRun({
          ok: false,
          scenario,
          error: `load generator exited (${code ?? signal}) without a result`,
        });
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// Statistics and report

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * The headline metrics: which scenario field, whether higher or lower is better, and the target for
 * the ratio server / ceiling (issue 9). Every figure must also beat PeerJS server's.
 */
const METRICS = [
  {
    key: 'throughput',
    label: 'Relay throughput, 100 rooms x 2, window 32 (msgs/s)',
    scenario: 'throughput',
    field: 'msgs_per_s',
    higher: true,
    target: '>= 0.85',
    met: (r) => r >= 0.85,
    digits: 0,
  },
  {
    key: 'throughput_big',
    label: 'Relay throughput, 2.7 KB offers (msgs/s)',
    scenario: 'throughput_big',
    field: 'msgs_per_s',
    higher: true,
    target: '(info)',
    met: null,
    digits: 0,
  },
  {
    key: 'throughput_cpu',
    label: 'Target CPU per relayed message, ~300 B offers (µs)',
    scenario: 'throughput',
    field: 'cpu_us_per_msg',
    higher: false,
    target: '(info)',
    met: null,
    digits: 2,
  },
  {
    key: 'throughput_big_cpu',
    label: 'Target CPU per relayed message, 2.7 KB offers (µs)',
    scenario: 'throughput_big',
    field: 'cpu_us_per_msg',
    higher: false,
    target: '(info)',
    met: null,
    digits: 2,
  },
  {
    key: 'latency_p50',
    label: 'Latency p50 @ 5,000 msgs/s, 1,000 peers (ms)',
    scenario: 'latency',
    field: 'p50_ms',
    higher: false,
    target: '<= 1.1',
    met: (r) => r <= 1.1,
    digits: 3,
  },
  {
    key: 'latency_p99',
    label: 'Latency p99 (ms)',
    scenario: 'latency',
    field: 'p99_ms',
    higher: false,
    target: '<= 1.5',
    met: (r) => r <= 1.5,
    digits: 3,
  },
  {
    key: 'latency_p999',
    label: 'Latency p99.9 (ms)',
    scenario: 'latency',
    field: 'p999_ms',
    higher: false,
    target: '<= 2',
    met: (r) => r <= 2,
    digits: 3,
  },
  {
    key: 'latency_eld_max',
    label: 'Event-loop delay max during latency (ms)',
    scenario: 'latency',
    field: 'eld_max_ms',
    higher: false,
    target: '< 5 ms',
    met: null,
    absolute: (v) => v < 5,
    digits: 1,
  },
  {
    key: 'memory',
    label: `RSS per idle connection at ${fmtInt(PARAMS.memory.steps[0])} (KB)`,
    scenario: 'memory',
    field: 'kb_per_connection',
    higher: false,
    target: '<= 1.1',
    met: (r) => r <= 1.1,
    digits: 2,
  },
  {
    key: 'memory_max',
    label: `RSS per idle connection at ${fmtInt(PARAMS.memory.steps.at(-1))} (KB)`,
    scenario: 'memory',
    field: 'kb_per_connection_max',
    higher: false,
    target: '(info)',
    met: null,
    digits: 2,
  },
  {
    key: 'memory_slope',
    label: 'RSS slope between the two (KB/connection)',
    scenario: 'memory',
    field: 'slope_kb_per_connection',
    higher: false,
    target: '(info)',
    met: null,
    digits: 2,
  },
  {
    key: 'memory_50k',
    label: 'RSS 50,000 connections would need (MiB, extrapolated)',
    scenario: 'memory',
    field: 'projected_50k_mib',
    higher: false,
    target: '(info)',
    met: null,
    digits: 0,
  },
  {
    key: 'memory_eld_max',
    label: 'Event-loop delay max, connections idle (ms)',
    scenario: 'memory',
    field: 'eld_max_ms',
    higher: false,
    target: '< 5 ms',
    met: null,
    absolute: (v) => v < 5,
    digits: 1,
  },
  {
    key: 'idle_rss',
    label: 'Idle process RSS (MiB)',
    scenario: 'memory',
    field: 'idle_rss_mib',
    higher: false,
    target: '<= 70 MiB',
    met: null,
    absolute: (v) => v <= 70,
    digits: 1,
  },
  {
    key: 'connect',
    label: 'Connect+join rate (joins/s)',
    scenario: 'connect',
    field: 'joins_per_s',
    higher: true,
    target: '>= 0.9',
    met: (r) => r >= 0.9,
    digits: 0,
  },
  {
    key: 'connect_cpu',
    label: 'Target CPU per connect+join+close (µs)',
    scenario: 'connect',
    field: 'cpu_us_per_join',
    higher: false,
    target: '(info)',
    met: null,
    digits: 0,
  },
  {
    key: 'firstmsg_p50',
    label: 'Join to first message p50 (ms)',
    scenario: 'firstmsg',
    field: 'p50_ms',
    higher: false,
    target: '<= 1.1',
    met: (r) => r <= 1.1,
    digits: 3,
  },
  {
    key: 'firstmsg_cpu',
    label: 'Target CPU per first-message cycle (µs)',
    scenario: 'firstmsg',
    field: 'cpu_us_per_cycle',
    higher: false,
    target: '(info)',
    met: null,
    digits: 0,
  },
  {
    key: 'secure_throughput',
    label: 'Secure (TLS + JWT; ceiling behind the same TLS): relay throughput (msgs/s)',
    scenario: 'secure_throughput',
    field: 'msgs_per_s',
    higher: true,
    target: '(info)',
    met: null,
    digits: 0,
  },
  {
    key: 'secure_throughput_cpu',
    label: 'Secure: target CPU per relayed message (µs)',
    scenario: 'secure_throughput',
    field: 'cpu_us_per_msg',
    higher: false,
    target: '(info)',
    met: null,
    digits: 2,
  },
  {
    key: 'secure_firstmsg_p50',
    label: 'Secure: join (TLS handshake, token) to first message p50 (ms)',
    scenario: 'secure_firstmsg',
    field: 'p50_ms',
    higher: false,
    target: '(info)',
    met: null,
    digits: 3,
  },
  {
    key: 'secure_firstmsg_cpu',
    label: 'Secure: target CPU per first-message cycle (µs)',
    scenario: 'secure_firstmsg',
    field: 'cpu_us_per_cycle',
    higher: false,
    target: '(info)',
    met: null,
    digits: 0,
  },
];

/** Fleet mode: two instances through Redis (`fleet`) against one instance (`server`). */
const FLEET_METRICS = [
  {
    key: 'fleet_throughput',
    label: 'Relay throughput (msgs/s)',
    scenario: 'fleet_throughput',
    field: 'msgs_per_s',
    digits: 0,
  },
  {
    key: 'fleet_cpu',
    label: 'CPU per relayed message, all instances (µs)',
    scenario: 'fleet_throughput',
    field: 'cpu_us_per_msg',
    digits: 2,
  },
  {
    key: 'fleet_p50',
    label: 'Latency p50 @ 5,000 msgs/s (ms)',
    scenario: 'fleet_latency',
    field: 'p50_ms',
    digits: 3,
    hop: '<= 1 ms',
  },
  {
    key: 'fleet_p99',
    label: 'Latency p99 (ms)',
    scenario: 'fleet_latency',
    field: 'p99_ms',
    digits: 3,
    hop: '<= 1 ms',
  },
  {
    key: 'fleet_p999',
    label: 'Latency p99.9 (ms)',
    scenario: 'fleet_latency',
    field: 'p999_ms',
    digits: 3,
    hop: '(info)',
  },
];

function fmtInt(n) {
  return n.toLocaleString('en-US');
}

function fmt(value, digits) {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function valuesOf(results, targetKind, scenario, field) {
  return results
    .filter((r) => r.target === targetKind && r.scenario === scenario && r.ok && !r.discarded)
    .map((r) => r.result[field]);
}

function buildReport(results, serverLabel) {
  const summary = {};
  const rows = [];
  const perRunLines = [];
  const kinds = [...new Set(scenarios.flatMap((scenario) => kindsFor(scenario)))];
  for (const m of METRICS) {
    if (!scenarios.includes(m.scenario)) continue;
    const value = (kind, list = results) => median(valuesOf(list, kind, m.scenario, m.field));
    const server = value('server');
    const ceiling = value('ceiling');
    const peerjs = withPeerjs ? value('peerjs') : Number.NaN;
    const ratio = server / ceiling;
    const okTarget = m.absolute ? m.absolute(server) : m.met ? m.met(ratio) : null;
    const met =
      okTarget === null ? '—' : Number.isFinite(ratio) || m.absolute ? (okTarget ? 'yes' : '**no**') : 'n/a';
    const ahead =
      !withPeerjs || !Number.isFinite(peerjs)
        ? '—'
        : (m.higher ? server > peerjs : server < peerjs)
          ? 'yes'
          : '**no**';
    // The ratio of each run's pair, measured seconds apart: their spread shows how noisy the table is.
    const perRun = [];
    for (let run = 1; run <= runs; run++) {
      const list = results.filter((r) => r.run === run);
      perRun.push(value('server', list) / value('ceiling', list));
    }
    summary[m.key] = {
      server,
      ceiling,
      peerjs,
      ratio,
      peerjs_ratio: peerjs / ceiling,
      per_run_ratios: perRun,
      target: m.target,
      met,
      ahead_of_peerjs: ahead,
    };
    const peerCells = withPeerjs ? ` ${fmt(peerjs, m.digits)} | ${fmt(peerjs / ceiling, 2)} |` : '';
    rows.push(
      `| ${m.label} | ${fmt(server, m.digits)} | ${fmt(ceiling, m.digits)} | ${fmt(ratio, 2)} |${peerCells} ${m.target} | ${met} |${withPeerjs ? ` ${ahead} |` : ''}`,
    );
    if (runs > 1) perRunLines.push(`${m.label}: ${perRun.map((r) => fmt(r, 2)).join(', ')}`);
  }
  const table = [
    `| metric | ${serverLabel} | ${againstEntry ? 'A/B baseline' : 'ceiling'} | ratio |${withPeerjs ? ' PeerJS 1.0.2 | PeerJS ratio |' : ''} target | met? |${withPeerjs ? ' ahead of PeerJS? |' : ''}`,
    `| --- | ---: | ---: | ---: |${withPeerjs ? ' ---: | ---: |' : ''} --- | --- |${withPeerjs ? ' --- |' : ''}`,
    ...rows,
    ...(perRunLines.length ? ['', `Ratio of each run's pair: ${perRunLines.join('; ')}.`] : []),
  ].join('\n');

  // CPU and event-loop delay per scenario: whether the load generator (one core) or the target was the
  // bottleneck, how much CPU other processes took meanwhile, and the longest stall of each target.
  const cpuRows = [];
  for (const scenario of scenarios) {
    const cells = [];
    for (const kind of kinds) {
      const v = (field) => median(valuesOf(results, kind, scenario, field));
      cells.push(
        `${fmt(v('loadgen_cpu_pct'), 0)} / ${fmt(v('target_cpu_pct'), 0)} / ${fmt(v('other_cpu_pct'), 0)} % | ` +
          `${fmt(v('eld_p99_ms'), 1)} / ${fmt(v('eld_max_ms'), 1)} ms`,
      );
    }
    cpuRows.push(`| ${scenario} | ${cells.join(' | ')} |`);
  }
  const cpuTable = [
    `| scenario | ${kinds.map((k) => `${k === 'server' ? serverLabel : k}: CPU load gen / target / other | event-loop delay p99 / max`).join(' | ')} |`,
    `| --- | ${kinds.map(() => '---: | ---:').join(' | ')} |`,
    ...cpuRows,
  ].join('\n');
  const fleetRows = [];
  for (const m of FLEET_METRICS) {
    if (!scenarios.includes(m.scenario)) continue;
    const one = median(valuesOf(results, 'server', m.scenario, m.field));
    const two = median(valuesOf(results, 'fleet', m.scenario, m.field));
    // The latency the Redis hop adds: the fleet's percentile minus the single instance's.
    const hop = m.hop ? two - one : Number.NaN;
    const met = m.hop && m.hop !== '(info)' ? (hop <= 1 ? 'yes' : '**no**') : '—';
    summary[m.key] = { server: one, fleet: two, ratio: two / one, redis_hop_ms: hop };
    fleetRows.push(
      `| ${m.label} | ${fmt(one, m.digits)} | ${fmt(two, m.digits)} | ${fmt(two / one, 2)} | ${m.hop ? fmt(hop, 3) : '—'} | ${m.hop ?? '(info)'} | ${met} |`,
    );
  }
  const fleetTable = fleetRows.length
    ? [
        '| fleet metric | one instance | two instances via Redis | ratio | added by the Redis hop (ms) | target | met? |',
        '| --- | ---: | ---: | ---: | ---: | --- | --- |',
        ...fleetRows,
      ].join('\n')
    : '';
  return { summary, table, cpuTable, fleetTable };
}

// ---------------------------------------------------------------------------------------------------
// Main

function gitCommit() {
  const out = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '') : 'unknown';
}

async function main() {
  mkdirSync(STATE_DIR, { recursive: true });
  rmSync(LOG_DIR, { recursive: true, force: true }); // logs of this benchmark only
  mkdirSync(LOG_DIR, { recursive: true });
  mkdirSync(ELD_DIR, { recursive: true });
  if (withPeerjs && !existsSync(PEERJS_ENTRY))
    fail(`${PEERJS_ENTRY} missing: run npm ci (devDependency peer)`);
  if (serverKind === 'dist' && !existsSync(SERVER_ENTRY)) {
    fail(
      `${SERVER_ENTRY} does not exist; run 'npm run build' (or use --server=ceiling to check the harness)`,
    );
  }
  if (serverKind === 'dist' && existsSync(join(ROOT, '.env'))) {
    console.error('warning: .env exists; variables it sets that are not fixed here (e.g. REDIS_URL) apply');
  }

  if (scenarios.some((s) => s.startsWith('fleet_'))) await startBenchRedis();
  if (scenarios.some((s) => s.startsWith('fleet_')) && !(await redisReachable())) {
    console.error(`note: no Redis at ${REDIS_URL} (BENCH_REDIS_URL); fleet scenarios skipped`);
    scenarios = scenarios.filter((s) => !s.startsWith('fleet_'));
  }
  if (scenarios.some((s) => s.startsWith('secure_'))) await ensureBenchCertificate();
  const serverLabel = serverKind === 'dist' ? 'server' : 'ceiling (A/A)';
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  console.error(
    `bench: ${runs} run(s) x ${withPeerjs ? 3 : 2} targets, scenarios ${scenarios.join(', ')}${quick ? ' (quick)' : ''}; ` +
      (pinned ? `target on CPU ${TARGET_CPU}, load generator on CPU ${LOADGEN_CPU}` : 'unpinned'),
  );

  const results = [];
  const shutdowns = [];
  for (let run = 1; run <= runs; run++) {
    // The order rotates between runs so no target always goes first.
    for (const scenario of scenarios) {
      const kinds = kindsFor(scenario);
      const order = kinds.map((_, i) => kinds[(i + run - 1) % kinds.length]);
      // Fresh targets for every scenario, so none starts from what an earlier one left behind (after
      // the memory scenario's 5,000 connections, say). Both run side by side on the target CPU and the
      // load generator alternates between them in slices (see interleave() in load-generator.mjs).
      const targets = {};
      try {
        for (const kind of order) {
          const runsAs = kind === 'server' && serverKind !== 'dist' ? 'ceiling' : kind;
          const name = kind === 'server' && runsAs === 'ceiling' ? 'ceiling-aa' : kind;
          targets[kind] = await startTarget(runsAs, `${name}-run${run}-${scenario}`, scenario);
        }
        results.push(...(await measure(run, scenario, order, targets)));
      } finally {
        for (const target of Object.values(targets)) {
          const exit = await stopTarget(target);
          shutdowns.push({ label: target.label, ...exit });
          if (exit.code !== 0)
            console.error(`  ${target.label}: exited with ${exit.code ?? exit.signal} on SIGTERM`);
        }
      }
    }
  }

  const { summary, table, cpuTable, fleetTable } = buildReport(results, serverLabel);
  const failures = results.filter((r) => !r.ok && !r.discarded);
  const header =
    `# Benchmark ${new Date(started).toISOString()}\n\n` +
    `Command: npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}; ` +
    `commit ${gitCommit()}; node ${process.version}; ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}; ` +
    `${runs} run(s), medians; ${pinned ? 'pinned (target CPU 0, load generator CPU 1)' : 'NOT pinned'}; ` +
    `latency ${realtimeLatency ? 'under SCHED_FIFO' : 'under normal scheduling'}` +
    `${againstEntry ? `; A/B: the ceiling's slot runs ${againstEntry}` : ''}.\n`;
  const markdown =
    `${header}\n${table}\n\n${fleetTable ? `Fleet mode (REDIS_URL ${REDIS_URL}${benchRedisPid !== null ? ', a redis-server of its own, SCHED_FIFO in latency' : ''}, both instances on the target CPU, Redis unpinned; each room's two peers on different instances):\n\n${fleetTable}\n\n` : ''}CPU during the measured part of each scenario, medians (100 % = one core; ` +
    `"other" = all other processes on the machine, which disturb the measurement when high), and the ` +
    `targets' event-loop delay there (bench/eventloop-probe.mjs; 1 ms = no delay):\n\n${cpuTable}\n` +
    notes(results, failures, serverLabel);

  const raw = {
    started_at: new Date(started).toISOString(),
    duration_s: (Date.now() - started) / 1000,
    options: { quick, runs, server: serverKind, scenarios, pinned, realtime_latency: realtimeLatency },
    params: PARAMS,
    environment: {
      node: process.version,
      cpus: os.availableParallelism(),
      cpu: os.cpus()[0]?.model,
      commit: gitCommit(),
    },
    summary,
    results,
    shutdowns,
  };
  writeFileSync(join(RESULTS_DIR, `bench-${stamp}.json`), JSON.stringify(raw, null, 2));
  writeFileSync(join(RESULTS_DIR, `bench-${stamp}.md`), markdown);
  writeFileSync(join(RESULTS_DIR, 'latest.json'), JSON.stringify(raw, null, 2));
  writeFileSync(join(RESULTS_DIR, 'latest.md'), markdown);

  console.log(markdown);
  console.error(
    `bench: done in ${Math.round((Date.now() - started) / 1000)} s; results in bench/results/bench-${stamp}.{json,md}`,
  );
  // A failed scenario means a metric could not be measured: that is the benchmark failing, not a miss.
  process.exit(failures.length ? 1 : 0);
}

/** One scenario on one target; measured once more (once) when other processes disturbed it. */
async function measure(run, scenario, order, targets) {
  const realtime = (scenario === 'latency' || scenario === 'fleet_latency') && realtimeLatency;
  const entries = [];
  for (let attempt = 0; ; attempt++) {
    const tag = `b${run}${scenario[0]}${attempt}`;
    // Even under SCHED_FIFO other load still showed in latency's p99 (softirqs, kernel work), so
    // latency waits for quiet and is retried like the others.
    const quiet = await waitForQuiet();
    // The fleet's Redis is part of the fleet target: it runs at the same priority as the instances.
    const fifoRedis = realtime && benchRedisPid !== null && order.some((kind) => kind === 'fleet');
    if (fifoRedis) setRealtime(benchRedisPid, true);
    if (realtime) for (const kind of order) for (const pid of targets[kind].pids) setRealtime(pid, true);
    if (scenario.startsWith('secure_')) targets.server.token = await benchToken();
    let outcome;
    try {
      outcome = await runLoadGenerator(
        order.map((kind) => targets[kind]),
        scenario,
        tag,
        realtime,
      );
    } finally {
      if (realtime) for (const kind of order) for (const pid of targets[kind].pids) setRealtime(pid, false);
      if (fifoRedis) setRealtime(benchRedisPid, false);
    }
    const attempts = order.map((kind, i) =>
      outcome.ok
        ? { run, target: kind, slot: i, scenario, attempt, realtime, quiet, ok: true, ...outcome.targets[i] }
        : {
            run,
            target: kind,
            scenario,
            attempt,
            ok: false,
            error: outcome.error,
            problems: outcome.problems?.[i],
          },
    );
    const disturbed = outcome.ok && attempts.some((a) => isDisturbed(a.result));
    // Memory is not retried: RSS hardly depends on other load, and a second attempt on the same
    // targets would start from heaps the first attempt already grew.
    const retry =
      disturbed &&
      attempt === 0 &&
      scenario !== 'memory' &&
      // A second attempt on the same fleet failed to pair its peers (see bench/README.md, fleet mode).
      !scenario.startsWith('fleet_') &&
      retryBudget > 0 &&
      Date.now() < patienceUntil;
    // A retry that fails (seen once, under heavy outside load) must not fail the benchmark when the
    // first attempt measured: keep that one, disturbed as it was, and report the failed retry.
    const retryFailed = !outcome.ok && attempt > 0;
    if (retryFailed) {
      for (const entry of entries) entry.discarded = false;
      console.error('      the retry failed; keeping the first attempt');
    }
    for (const entry of attempts) {
      Object.assign(entry, { disturbed, discarded: retry || retryFailed });
      entries.push(entry);
      const label = targets[entry.target].label;
      console.error(`    ${label}: ${entry.ok ? brief(entry) : `FAILED: ${entry.error}`}`);
      if (entry.ok && hasProblems(entry.problems))
        console.error(`      problems: ${JSON.stringify(entry.problems)}`);
    }
    if (!retry) return entries;
    retryBudget -= 1;
    console.error('      other processes took too much CPU meanwhile; measuring once more');
  }
}

/** Caveats a reader needs to trust (or not) the table; empty when there are none. */
function notes(results, failures, serverLabel) {
  const lines = [];
  const used = results.filter((r) => r.ok && !r.discarded);
  const name = (r) => `${r.target === 'server' ? serverLabel : r.target} ${r.scenario} run ${r.run}`;
  // Disturbance is judged per pair (both targets share the slices), so it is listed per pair.
  const disturbed = new Map();
  for (const r of used.filter((u) => u.disturbed)) {
    const key = `${r.scenario} run ${r.run}`;
    disturbed.set(key, [...(disturbed.get(key) ?? []), `${r.result.other_cpu_pct} %`]);
  }
  if (disturbed.size) {
    lines.push(
      `- Measured while other processes used > ${DISTURBED_PCT} % of a core (kept: no retry left): ` +
        [...disturbed].map(([key, pcts]) => `${key} (${pcts.join(' / ')})`).join(', '),
    );
  }
  // The memory scenario's CPU covers only opening connections, which does not affect the metric.
  const saturated = used.filter((r) => r.scenario !== 'memory' && r.result.loadgen_cpu_pct >= 90);
  if (saturated.length) {
    lines.push(
      '- Load generator at >= 90 % of its core, so it may have limited the rate (the ratio is then ' +
        `flattering to the slower side): ${saturated.map((r) => `${name(r)} (${r.result.loadgen_cpu_pct} %)`).join(', ')}`,
    );
  }
  const troubled = used.filter((r) => hasProblems(r.problems));
  for (const r of troubled) lines.push(`- ${name(r)}: client-side problems ${JSON.stringify(r.problems)}`);
  for (const f of failures) lines.push(`- FAILED ${name(f)}: ${f.error}`);
  for (const f of results.filter((r) => !r.ok && r.discarded)) {
    lines.push(`- Retry failed, first attempt kept: ${name(f)}: ${f.error}`);
  }
  return lines.length ? `\nNotes:\n\n${lines.join('\n')}\n` : '';
}

function brief({ scenario, result: r }) {
  const eld = r.eld_max_ms === undefined ? '' : `, event-loop delay max ${r.eld_max_ms} ms`;
  const cpu = `(CPU: load gen ${r.loadgen_cpu_pct} %, target ${r.target_cpu_pct} %, other ${r.other_cpu_pct} %${eld})`;
  switch (scenario) {
    case 'throughput':
    case 'throughput_big':
    case 'secure_throughput':
    case 'fleet_throughput':
      return `${r.msgs_per_s} msgs/s, ${r.cpu_us_per_msg} µs CPU/msg ${cpu}`;
    case 'latency':
    case 'fleet_latency':
      return `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, p99.9 ${r.p999_ms} ms, ${r.samples} samples ${cpu}`;
    case 'memory':
      return (
        `idle ${r.idle_rss_mib} MiB; ${r.kb_per_connection} KB/connection at ${r.connections}, ` +
        `${r.kb_per_connection_max} at ${r.connections_max} (${r.readings.map((x) => `${x.connections}: ${x.rss_kb} KB`).join(', ')}) ${cpu}`
      );
    case 'connect':
      return `${r.joins_per_s} joins/s, ${r.cpu_us_per_join} µs CPU/join, ${r.failed} failed ${cpu}`;
    case 'firstmsg':
    case 'secure_firstmsg':
      return `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms over ${r.cycles}, ${r.cpu_us_per_cycle} µs CPU/cycle ${cpu}`;
    default:
      return JSON.stringify(r);
  }
}

function hasProblems(p) {
  return (
    p && (p.socketErrors || p.unexpectedCloses || p.unparsable || Object.keys(p.serverErrors ?? {}).length)
  );
}

main().catch((error) => fail(error.stack ?? String(error)));
