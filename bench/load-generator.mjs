// Load generator for `npm run bench`: runs ONE scenario against the targets it is given (the real
// server and the ceiling relay) and prints ONE JSON line with the results on stdout; progress goes to
// stderr. bench/run.mjs starts it pinned to its own CPU, so the same client code measures both.
//
// Usage: node bench/load-generator.mjs '<json config>'
//   config: { scenario: 'throughput'|'latency'|'memory'|'connect'|'firstmsg',
//             targets: [{ port, pid, dialect: 'ours'|'peerjs', tls?, token?, ports?, pids? }, ...],
//             sourceAddresses, eldDir,
//             clkTck, tag, maxMs, ...scenario params (see PARAMS in bench/run.mjs) }
//   output: { ok: true, scenario, targets: [{ result, problems }, ...] } in the order of `targets`,
//           or { ok: false, scenario, error, problems }
//
// Every wait below has a deadline and every loop a bound: a stuck target fails the scenario, it never
// hangs the benchmark.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const config = JSON.parse(process.argv[2] ?? '{}');
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------------
// Messages. Relayed payloads carry MARKER followed by the send time (performance.now() in ms, fixed
// width). The receiver only has to find the marker with a native Buffer search, so telling a relay
// from a control message costs almost nothing, and latency needs no JSON.parse.

const MARKER = 'x-bench:';
const MARKER_BYTES = Buffer.byteLength(MARKER);
const TS_WIDTH = 13; // "0001234.56789"-style: ms with 3 decimals, zero-padded, up to ~11 days of uptime
const TS_PLACEHOLDER = '0'.repeat(TS_WIDTH);

/** A realistic-looking SDP body (audio + video sections), grown to ~2.5 KB like a browser's offer. */
function sdpRest(targetLength) {
  const lines = [
    'a=group:BUNDLE 0 1',
    'a=extmap-allow-mixed',
    'a=msid-semantic: WMS 3f2c9c1e-bench',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:sOhm',
    'a=ice-pwd:kq1Hd2Qz9mGJmR7wq2K3bT5x',
    'a=ice-options:trickle',
    'a=fingerprint:sha-256 5B:0E:2A:6D:9C:41:7F:33:AB:10:C2:8E:44:71:9D:E0:12:5A:B6:7C:3F:88:21:09:DE:4B:6A:F1:70:2C:95:13',
    'a=setup:actpass',
    'a=mid:0',
    'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
    'a=sendrecv',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'm=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104 105 106 107 108 109 127 125 39 40 45 46 98 99 100 101',
    'c=IN IP4 0.0.0.0',
    'a=mid:1',
    'a=rtpmap:96 VP8/90000',
    'a=rtcp-fb:96 goog-remb',
    'a=rtcp-fb:96 transport-cc',
    'a=rtcp-fb:96 ccm fir',
    'a=rtcp-fb:96 nack',
    'a=rtcp-fb:96 nack pli',
    'a=rtpmap:97 rtx/90000',
    'a=fmtp:97 apt=96',
    'a=rtpmap:102 H264/90000',
    'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  ];
  let sdp = '';
  for (let i = 0; sdp.length < targetLength && i < 1000; i++) sdp += lines[i % lines.length] + '\r\n';
  return sdp;
}

const SDP = `v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=${MARKER}${TS_PLACEHOLDER}\r\n${sdpRest((config.sdpBytes ?? 2400) - 90)}`;
const CANDIDATE = `candidate:842163049 1 udp 2122260223 192.0.2.7 54321 typ host ${MARKER}${TS_PLACEHOLDER}`;

// The mix a browser sends per negotiation: one offer (or answer), then trickled ICE candidates; here
// 1 offer to 3 candidates, contract fields only. `ours` is this server's protocol (the ceiling
// speaks it too); `peerjs` is PeerJS server's: {type: OFFER|CANDIDATE, dst, payload}, relayed with src.
const MIX = ['offer', 'candidate', 'candidate', 'candidate'];
const description = { type: 'offer', sdp: SDP };
const candidate = { candidate: CANDIDATE, sdpMid: '0', sdpMLineIndex: 0 };
const messageText = {
  ours: (kind, to) =>
    JSON.stringify(
      kind === 'offer' ? { type: 'offer', offer: description, to } : { type: 'ice_candidate', candidate, to },
    ),
  peerjs: (kind, dst) =>
    JSON.stringify(
      kind === 'offer'
        ? { type: 'OFFER', dst, payload: description }
        : { type: 'CANDIDATE', dst, payload: candidate },
    ),
};

// Client frames must be masked, and masking 2.5 KB per message in JavaScript (ws has no native helper
// here) plus JSON building and UTF-8 encoding made the generator, not the target, the bottleneck.
// So each sender pre-builds its two messages as complete, masked WebSocket frames once; sending is
// a copy, patching the 13 timestamp bytes (masked) and one socket write. The mask key is fixed per
// process but non-zero, so the target unmasks every frame exactly as it would a browser's.
const MASK_KEY = Buffer.from([0x3c, 0xa5, 0x5e, 0x91]);

/** A masked text frame for `text`, and where in it the (masked) timestamp digits start. */
function frameTemplate(text) {
  const payload = Buffer.from(text);
  const length = payload.length;
  const headerLength = length < 126 ? 6 : length < 65536 ? 8 : 14;
  const frame = Buffer.alloc(headerLength + length);
  frame[0] = 0x81; // FIN + text
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  MASK_KEY.copy(frame, headerLength - 4);
  for (let i = 0; i < length; i++) frame[headerLength + i] = payload[i] ^ MASK_KEY[i & 3];
  const tsAt = payload.indexOf(MARKER) + MARKER_BYTES;
  return { frame, payloadAt: headerLength, tsAt };
}

/** A copy of the template with the current time written (masked) into the timestamp slot. */
function stampedFrame({ frame, payloadAt, tsAt }) {
  const out = Buffer.allocUnsafe(frame.length);
  frame.copy(out);
  const ts = performance.now().toFixed(3).padStart(TS_WIDTH, '0');
  for (let i = 0; i < TS_WIDTH; i++) {
    out[payloadAt + tsAt + i] = ts.charCodeAt(i) ^ MASK_KEY[(tsAt + i) & 3];
  }
  return out;
}

/** Send time embedded at `at` (the marker's offset); parseFloat stops at the first non-number byte. */
function embeddedTimestamp(buf, at) {
  const start = at + MARKER_BYTES;
  return Number.parseFloat(buf.toString('latin1', start, Math.min(buf.length, start + 24)));
}

// ---------------------------------------------------------------------------------------------------
// Targets and their probes (same machine: the harness passes each target's pid).

/**
 * The targets of this invocation, in the order they are measured. With two, the timed scenarios
 * alternate between them in short slices (A B A B ...): on this machine throughput drifted by up to
 * 1.7x within tens of seconds while the processes stayed the same, so two targets measured one after
 * the other compared the moments as much as the targets. Interleaving puts both under the same drift.
 */
// A target may be several processes (fleet: two instances through Redis): `pids` are all of them
// (CPU and event-loop delay are summed / maximised over them), and `ports[i]` is where the i-th peer
// of each room connects, so every relay crosses between instances.
const targets = config.targets.map((t, index) => ({
  dialect: 'ours',
  pids: [t.pid],
  ...t,
  index,
  stats: { socketErrors: 0, unexpectedCloses: 0, serverErrors: {}, unparsable: 0 },
}));

function readRssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** utime+stime of a process in seconds; comm may contain spaces, so fields are counted after ')'. */
function readCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / (config.clkTck ?? 100);
}

/**
 * CPU time of all processes on the machine, in seconds: user+nice+system, and steal (time a VM's
 * vCPU wanted but the hypervisor gave elsewhere). Other processes' share is this minus ours and the
 * targets': the benchmark shares the machine (builds, tests), and a disturbed scenario must show.
 */
function readMachineCpuSeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  const tck = config.clkTck ?? 100;
  return { busy: (fields[1] + fields[2] + fields[3]) / tck, steal: (fields[8] ?? 0) / tck };
}

// ---------------------------------------------------------------------------------------------------
// Event-loop delay of the targets (bench/eventloop-probe.mjs, preloaded by the harness): SIGUSR2 makes
// a target write what it saw since the previous SIGUSR2 and start over.

function signalProbes() {
  for (const t of targets) {
    for (const pid of t.pids) {
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        // gone: its scenario fails elsewhere
      }
    }
  }
}

const probePath = (pid) => join(config.eldDir, `${pid}.json`);

/** Starts a fresh event-loop delay window on every target. */
async function eldStart() {
  if (!config.eldDir) return;
  signalProbes();
  await sleep(100);
  for (const t of targets) for (const pid of t.pids) rmSync(probePath(pid), { force: true });
}

/** Ends the window: one { p50_ms, p99_ms, p999_ms, max_ms, count } per target (null without probe). */
async function eldEnd() {
  if (!config.eldDir) return targets.map(() => null);
  signalProbes();
  const deadline = performance.now() + 2000;
  const all = () => targets.every((t) => t.pids.every((pid) => existsSync(probePath(pid))));
  while (performance.now() < deadline && !all()) await sleep(20);
  return targets.map((t) => {
    try {
      // Several processes: the worst of them.
      const probes = t.pids.map((pid) => JSON.parse(readFileSync(probePath(pid), 'utf8')));
      const worst = (field) => Math.max(...probes.map((p) => p[field]));
      return {
        eld_p50_ms: worst('p50_ms'),
        eld_p99_ms: worst('p99_ms'),
        eld_p999_ms: worst('p999_ms'),
        eld_max_ms: worst('max_ms'),
        eld_count: probes.reduce((sum, p) => sum + p.count, 0),
      };
    } catch {
      return null;
    }
  });
}

/** A point in time for CPU accounting. */
function snapshot() {
  return {
    at: performance.now(),
    self: process.cpuUsage(),
    targets: targets.map((t) => t.pids.reduce((sum, pid) => sum + readCpuSeconds(pid), 0)),
    machine: readMachineCpuSeconds(),
  };
}

/** Sums of CPU seconds over the measured slices of one target; `usage` turns them into percentages. */
function newAccount() {
  return { wallS: 0, selfS: 0, selfSysS: 0, targetS: 0, otherS: 0, stealS: 0 };
}

/** Adds the interval a..b, in which `target` was the one under load, to `account`. */
function charge(account, target, a, b) {
  const selfS = (b.self.user - a.self.user + b.self.system - a.self.system) / 1e6;
  const targetsS = b.targets.map((v, i) => v - a.targets[i]);
  account.wallS += (b.at - a.at) / 1000;
  account.selfS += selfS;
  account.selfSysS += (b.self.system - a.self.system) / 1e6;
  account.targetS += targetsS[target.index];
  // The idle other target belongs to "other" too: it should be near zero.
  account.otherS += b.machine.busy - a.machine.busy - selfS - targetsS[target.index];
  account.stealS += b.machine.steal - a.machine.steal;
}

/** CPU use in % of one core over everything charged to `account`. */
function usage(account) {
  const pct = (seconds) => round((100 * Math.max(0, seconds)) / account.wallS, 1);
  return {
    wall_s: round(account.wallS, 3),
    loadgen_cpu_pct: pct(account.selfS),
    loadgen_sys_cpu_pct: pct(account.selfSysS),
    target_cpu_pct: pct(account.targetS),
    other_cpu_pct: pct(account.otherS),
    steal_cpu_pct: pct(account.stealS),
    ...(account.eld ?? {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// Clients

const openSockets = new Set();

// One source address runs out of ephemeral ports near 28,000 connections (and TIME_WAIT from earlier
// scenarios eats into them), so clients are spread over 127.0.0.2, 127.0.0.3, ... (all loopback).
const SOURCE_ADDRESSES = Array.from({ length: config.sourceAddresses ?? 1 }, (_, i) => `127.0.0.${i + 2}`);
let nextSource = 0;
function sourceAddress() {
  nextSource = (nextSource + 1) % SOURCE_ADDRESSES.length;
  return SOURCE_ADDRESSES[nextSource];
}

/** Path and query of a WebSocket to `target` for `roomId` (ours) or as peer `id` (PeerJS). */
function wsPath(target, roomId, id) {
  if (target.dialect === 'peerjs')
    return `/peerjs?key=peerjs&id=${encodeURIComponent(id)}&token=t${id.length}`;
  return `/ws/${encodeURIComponent(roomId)}${target.token ? `?token=${target.token}` : ''}`;
}

// A sender's frames queued in the same tick (a burst of sends after a burst of receipts) leave in one
// writev instead of one syscall each; the target still gets one frame per message. `cork: false` in
// the config turns it off to check its effect.
const CORK = config.cork !== false;

function uncork(client) {
  client.corked = false;
  client.ws._socket?.uncork();
}

/**
 * One WebSocket peer of `target`. `joined` resolves with the server's `joined`; `paired` resolves once
 * the id of the other peer in the room is known (from `joined.peers` or a later `peer_joined`).
 */
class Client {
  /** `id`: PeerJS clients choose their own id; ours get one from the server. */
  constructor(target, roomId, id = null, slot = 0) {
    this.target = target;
    this.id = id;
    this.partnerId = null;
    this.partner = null; // the other Client of the pair, same process
    this.inFlight = 0;
    this.sent = 0;
    this.templates = null; // pre-built frames, made once the partner's id is known
    this.corked = false;
    this.closing = false;
    /** Control messages received (type and ids), shown when a room fails to pair. */
    this.seen = [];
    /** Set by the scenario: called for every relayed (marked) message this client receives. */
    this.onRelay = null;
    this.joined = new Promise((resolve, reject) => {
      this._resolveJoined = resolve;
      this._rejectJoined = reject;
    });
    this.paired = new Promise((resolve) => {
      this._resolvePaired = resolve;
    });
    this.closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
    this.joined.catch(() => {}); // callers that care await it; others must not see an unhandled rejection

    // No Origin header (a non-browser client) and no permessage-deflate offer: the frames written by
    // sendNext are uncompressed, and neither target should spend time on compression.
    const ws = new WebSocket(
      `${target.tls ? 'wss' : 'ws'}://${HOST}:${target.ports?.[slot % target.ports.length] ?? target.port}${wsPath(target, roomId, id)}`,
      {
        perMessageDeflate: false,
        handshakeTimeout: 15_000,
        localAddress: sourceAddress(),
        rejectUnauthorized: false,
      },
    );
    this.ws = ws;
    openSockets.add(ws);
    const stats = target.stats;
    ws.on('message', (data) => this.#onMessage(data));
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => {
        this._rejectJoined(
          new Error(`upgrade of ${req.path} refused with HTTP ${res.statusCode}: ${body.slice(0, 200)}`),
        );
        ws.terminate();
      });
    });
    ws.on('error', (error) => {
      stats.socketErrors += 1;
      this._rejectJoined(error);
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.closedAt = performance.now();
      openSockets.delete(ws);
      if (!this.closing) stats.unexpectedCloses += 1;
      this._rejectJoined(new Error(`closed with ${code} before joined`));
      this._resolveClosed(code);
    });
  }

  #onMessage(data) {
    const at = data.indexOf(MARKER);
    if (at !== -1) {
      this.onRelay?.(this, data, at);
      return;
    }
    const stats = this.target.stats;
    let message;
    try {
      message = JSON.parse(data.toString());
    } catch {
      stats.unparsable += 1;
      return;
    }
    if (this.seen.length < 8) this.seen.push(data.toString().slice(0, 200));
    switch (message.type) {
      case 'OPEN': // PeerJS: the id is registered; the partner's id is known beforehand
        this._resolveJoined(message);
        break;
      case 'joined':
        if (typeof this.ws._socket?.write !== 'function') fail(new Error('ws no longer exposes _socket'));
        this.id = message.peer_id;
        this._resolveJoined(message);
        if (Array.isArray(message.peers) && message.peers.length > 0) this.#pairWith(message.peers[0]);
        break;
      case 'peer_joined':
        if (this.partnerId === null) this.#pairWith(message.peer_id);
        break;
      case 'peer_left':
        if (message.peer_id === this.partnerId) {
          this.partnerId = null;
          this.templates = null;
        }
        break;
      case 'error':
        stats.serverErrors[message.code] = (stats.serverErrors[message.code] ?? 0) + 1;
        break;
      default:
        stats.unparsable += 1;
    }
  }

  /** Known partner (PeerJS: ids are chosen by the clients). */
  pairWith(peerId) {
    this.#pairWith(peerId);
  }

  #pairWith(peerId) {
    this.partnerId = peerId;
    this._resolvePaired(peerId);
  }

  /** Sends the next message of the offer / ice_candidate alternation to the partner. */
  sendNext() {
    if (this.templates === null) {
      const text = messageText[this.target.dialect];
      this.templates = MIX.map((kind) => frameTemplate(text(kind, this.partnerId)));
    }
    // Straight onto the TCP socket under ws: a whole frame per write, so it interleaves safely with
    // the (rare) control frames ws writes itself. ws keeps the socket in `_socket`; checked at open.
    const socket = this.ws._socket;
    if (CORK && !this.corked) {
      socket.cork();
      this.corked = true;
      process.nextTick(uncork, this);
    }
    socket.write(stampedFrame(this.templates[this.sent % this.templates.length]));
    this.sent += 1;
  }

  close() {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return this.closed;
    this.ws.close(1000);
    return this.closed;
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function round(value, digits) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function withDeadline(promise, ms, what) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Runs `task(i)` for i in [0, count) with at most `limit` running at once. */
async function pool(count, limit, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** Polls `condition` every few ms until true, or fails after `ms`. */
async function until(condition, ms, what) {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await sleep(5);
  }
}

/** Opens `rooms` rooms of two clients each on `target`; waits until every client knows its partner. */
async function openPairs(target, rooms, concurrency, prefix) {
  const pairs = [];
  await pool(rooms, Math.max(1, Math.floor(concurrency / 2)), async (i) => {
    const roomId = `${config.tag}-${target.index}${prefix}${i}`;
    const peerjs = target.dialect === 'peerjs';
    const a = new Client(target, roomId, peerjs ? `${roomId}a` : null);
    const b = new Client(target, roomId, peerjs ? `${roomId}b` : null, 1);
    a.partner = b;
    b.partner = a;
    if (peerjs) {
      a.pairWith(b.id);
      b.pairWith(a.id);
    }
    pairs.push([a, b]);
    await withDeadline(Promise.all([a.joined, b.joined, a.paired, b.paired]), 20_000, `room ${roomId}`).catch(
      (error) => {
        throw new Error(
          `${error.message}; first peer saw ${JSON.stringify(a.seen)}, second ${JSON.stringify(b.seen)}`,
        );
      },
    );
  });
  return pairs.flat();
}

async function closeAll(clients, ms = 30_000) {
  await withDeadline(Promise.all(clients.map((c) => c.close())), ms, 'closing connections');
}

function log(text) {
  process.stderr.write(`    [loadgen ${config.scenario}] ${text}\n`);
}

/**
 * Runs the measured part of a timed scenario: `slices` slices per target, alternating between the
 * targets. `startSlice(target)` puts load on one target and `stopSlice(target)` takes it off again
 * (and waits until nothing is in flight); only the `sliceMs` after a `rampMs` settling period count.
 */
async function interleave({ startSlice, stopSlice, sliceMs, rampMs, slices, onWindow }) {
  const accounts = targets.map(() => newAccount());
  await eldStart();
  for (let slice = 0; slice < slices * targets.length; slice++) {
    const target = targets[slice % targets.length];
    startSlice(target);
    await sleep(rampMs);
    const a = snapshot();
    onWindow?.(target, a.at, true);
    await sleep(sliceMs);
    const b = snapshot();
    onWindow?.(target, b.at, false);
    charge(accounts[target.index], target, a, b);
    await stopSlice(target);
  }
  const eld = await eldEnd();
  for (const t of targets) accounts[t.index].eld = eld[t.index];
  return accounts;
}

// ---------------------------------------------------------------------------------------------------
// Scenarios. Each returns one result per target, in the order of config.targets.

/** Delivered messages/s with a bounded window of unacknowledged (not yet delivered) messages per sender. */
async function throughput() {
  const { rooms, window, warmupMs, durationMs, slices } = config;
  const clientsOf = [];
  for (const target of targets) clientsOf.push(await openPairs(target, rooms, 100, 't'));
  const delivered = targets.map(() => 0);
  let active = null; // the target under load

  const pump = (sender) => {
    while (sender.target === active && sender.inFlight < window) {
      sender.inFlight += 1;
      sender.sendNext();
    }
  };
  const onRelay = (receiver) => {
    delivered[receiver.target.index] += 1;
    const sender = receiver.partner;
    sender.inFlight -= 1;
    pump(sender);
  };
  for (const clients of clientsOf) for (const c of clients) c.onRelay = onRelay;
  const start = (target) => {
    active = target;
    for (const c of clientsOf[target.index]) pump(c);
  };
  // Everything sent must arrive: a target that drops messages fails here instead of looking fast.
  const stop = async (target) => {
    active = null;
    await until(() => clientsOf[target.index].every((c) => c.inFlight === 0), 15_000, 'draining');
  };

  // Warm-up (JIT, buffers) on each target, then the measured slices.
  for (const target of targets) {
    start(target);
    await sleep(warmupMs);
    await stop(target);
  }
  const counted = targets.map(() => 0);
  const accounts = await interleave({
    startSlice: start,
    stopSlice: stop,
    sliceMs: durationMs / slices,
    rampMs: 100,
    slices,
    onWindow: (target, _at, opening) => {
      // delivered counts at the window's edges; their difference is the slice's share.
      counted[target.index] += opening ? -delivered[target.index] : delivered[target.index];
    },
  });
  for (const clients of clientsOf) await closeAll(clients);
  return targets.map((t) => ({
    msgs_per_s: round(counted[t.index] / accounts[t.index].wallS, 1),
    // CPU the target spent per delivered message: far less sensitive to other load than msgs/s.
    cpu_us_per_msg: round((accounts[t.index].targetS / counted[t.index]) * 1e6, 2),
    sent_total: clientsOf[t.index].reduce((sum, c) => sum + c.sent, 0),
    ...usage(accounts[t.index]),
  }));
}

/** One-way latency at a fixed offered load, sent open-loop (on schedule, whatever the replies do). */
async function latency() {
  const { rooms, rate, warmupMs, durationMs, slices } = config;
  const sendersOf = [];
  for (const target of targets) sendersOf.push(await openPairs(target, rooms, 100, 'l'));
  const capacity = Math.ceil((rate * durationMs) / 1000) * 2 + 1000;
  const samples = targets.map(() => new Float64Array(capacity));
  const counts = targets.map(() => 0);
  const windows = targets.map(() => []); // [start, end] of each measured slice, by send time
  let received = 0;

  const inWindow = (list, sentAt) => list.some(([start, end]) => sentAt >= start && sentAt < end);
  const onRelay = (receiver, buf, at) => {
    const now = performance.now();
    const sentAt = embeddedTimestamp(buf, at);
    const i = receiver.target.index;
    received += 1;
    if (counts[i] < capacity && inWindow(windows[i], sentAt)) samples[i][counts[i]++] = now - sentAt;
  };
  for (const senders of sendersOf) for (const c of senders) c.onRelay = onRelay;

  // A 1 ms timer sends whatever the schedule says is due, so a late tick catches up instead of
  // lowering the offered load. The per-tick cap bounds a burst after a long stall.
  let timer = null;
  let sent = 0;
  const maxPerTick = Math.max(10, Math.ceil(rate / 50));
  const start = (target) => {
    const senders = sendersOf[target.index];
    const startedAt = performance.now();
    let due = 0;
    let next = 0;
    timer = setInterval(() => {
      const owed = Math.floor(((performance.now() - startedAt) * rate) / 1000) - due;
      for (let k = 0; k < Math.min(owed, maxPerTick); k++) {
        senders[next].sendNext();
        next = (next + 1) % senders.length;
        due += 1;
        sent += 1;
      }
    }, 1);
  };
  const stop = async (target) => {
    clearInterval(timer);
    try {
      await until(() => received >= sent, 15_000, 'waiting for the last messages');
    } catch (error) {
      throw new Error(`${error.message} (target ${target.index}: ${received} of ${sent} received)`);
    }
  };

  for (const target of targets) {
    start(target);
    await sleep(warmupMs);
    await stop(target);
  }
  const accounts = await interleave({
    startSlice: start,
    stopSlice: stop,
    sliceMs: durationMs / slices,
    rampMs: 50,
    slices,
    onWindow: (target, at, opening) => {
      if (opening) windows[target.index].push([at, Number.POSITIVE_INFINITY]);
      else windows[target.index].at(-1)[1] = at;
    },
  });
  for (const senders of sendersOf) await closeAll(senders);

  return targets.map((t) => {
    const count = counts[t.index];
    const sorted = samples[t.index].subarray(0, count).sort();
    const pct = (p) => sorted[Math.min(count - 1, Math.floor((p / 100) * count))];
    const account = accounts[t.index];
    return {
      offered_msgs_per_s: rate,
      achieved_msgs_per_s: round(count / account.wallS, 1),
      samples: count,
      p50_ms: round(pct(50), 3),
      p90_ms: round(pct(90), 3),
      p99_ms: round(pct(99), 3),
      p999_ms: round(pct(99.9), 3),
      max_ms: round(sorted[count - 1] ?? Number.NaN, 3),
      mean_ms: round(sorted.reduce((s, v) => s + v, 0) / Math.max(1, count), 3),
      ...usage(account),
    };
  });
}

/**
 * Target RSS per idle, joined connection, at each of `steps` connection counts (e.g. 5,000 and
 * 19,000), then `holdMs` idle with all of them open (the targets' liveness pings must keep every
 * one alive; the event-loop delay window covers the whole time). Not interleaved (RSS does not drift
 * with the machine's speed): the targets are measured one after the other, each from its fresh state.
 */
async function memory() {
  const { steps, concurrency, settleMs, holdMs } = config;
  const results = [];
  for (const target of targets) {
    // Idle process: started, answered /health, nothing else.
    const idleRssKb = readRssKb(target.pid);
    // Warm-up: run the join/relay/leave code paths once so lazily loaded code and first-use caches are
    // in the baseline rather than charged to the connections.
    const warm = await openPairs(target, 50, concurrency, 'mw');
    for (let i = 0; i < warm.length; i += 2) warm[i].sendNext();
    await sleep(200);
    await closeAll(warm);
    await sleep(settleMs);

    const rssBeforeKb = readRssKb(target.pid);
    const a = snapshot();
    const clients = [];
    const readings = [];
    let openedMs = 0;
    const started0 = performance.now();
    for (const [step, count] of steps.entries()) {
      const started = performance.now();
      const rooms = Math.ceil((count - clients.length) / 2);
      clients.push(...(await openPairs(target, rooms, concurrency, `m${step}-`)));
      openedMs += performance.now() - started;
      // The target may still be finishing work started by the last joins (buffers, GC).
      await sleep(settleMs);
      readings.push({ connections: clients.length, rss_kb: readRssKb(target.pid) });
    }
    log(`${clients.length} connections joined in ${round(openedMs / 1000, 2)} s; idle for ${holdMs} ms`);
    // The event-loop window covers the idle hold only: liveness work over every connection, no joins.
    await eldStart();
    await sleep(holdMs);
    const b = snapshot();
    const eld = (await eldEnd())[target.index];
    const rssHeldKb = readRssKb(target.pid);
    const stillOpen = clients.filter((client) => client.ws.readyState === WebSocket.OPEN).length;
    if (stillOpen !== clients.length) {
      const codes = new Map();
      const closedAt = new Map();
      for (const client of clients) {
        if (client.ws.readyState === WebSocket.OPEN) continue;
        codes.set(client.closeCode, (codes.get(client.closeCode) ?? 0) + 1);
        const at = `${Math.round((client.closedAt - started0) / 1000)} s`;
        closedAt.set(at, (closedAt.get(at) ?? 0) + 1);
      }
      throw new Error(
        `${clients.length - stillOpen} of ${clients.length} connections dropped while idle ` +
          `(close codes ${JSON.stringify([...codes])}, closed at ${JSON.stringify([...closedAt])} after the first connect)`,
      );
    }
    await closeAll(clients, 120_000);
    const account = newAccount();
    charge(account, target, a, b);
    account.eld = eld;
    const first = readings[0];
    const last = readings.at(-1);
    const slope =
      readings.length > 1
        ? (last.rss_kb - first.rss_kb) / (last.connections - first.connections)
        : Number.NaN;
    results.push({
      idle_rss_mib: round(idleRssKb / 1024, 1),
      rss_before_kb: rssBeforeKb,
      readings,
      rss_held_kb: rssHeldKb,
      held_ms: holdMs,
      connections: first.connections,
      kb_per_connection: round((first.rss_kb - rssBeforeKb) / first.connections, 2),
      connections_max: last.connections,
      kb_per_connection_max: round((last.rss_kb - rssBeforeKb) / last.connections, 2),
      // Marginal cost between the first and the last step, and what 50,000 would need at that rate.
      slope_kb_per_connection: round(slope, 2),
      projected_50k_mib: round((last.rss_kb + (50_000 - last.connections) * slope) / 1024, 0),
      ...usage(account),
    });
  }
  return results;
}

/**
 * Join to first message: a peer is alone in its room; a second one connects, joins, learns the
 * first one's id (ours: `joined.peers`; PeerJS: known beforehand) and sends it an offer. Measured
 * from the second peer's connect until the first peer has the offer: what a user waits for before
 * negotiation can even start. `concurrency` rooms at a time, slices alternating between targets.
 */
async function firstmsg() {
  const { cycles, concurrency, slices, warmupCycles } = config;
  const samples = targets.map(() => []);
  const one = async (target, roomId, record) => {
    const peerjs = target.dialect === 'peerjs';
    const first = new Client(target, roomId, peerjs ? `${roomId}a` : null);
    await withDeadline(first.joined, 15_000, 'first peer joining');
    const arrived = new Promise((resolve) => {
      first.onRelay = () => resolve(performance.now());
    });
    const started = performance.now();
    const second = new Client(target, roomId, peerjs ? `${roomId}b` : null, 1);
    if (peerjs) second.pairWith(first.id);
    await withDeadline(Promise.all([second.joined, second.paired]), 15_000, 'second peer joining');
    second.sendNext(); // the first message of the mix: an offer
    record((await withDeadline(arrived, 15_000, 'first message')) - started);
    await Promise.all([first.close(), second.close()]);
  };
  const batch = (target, count, prefix, record) =>
    pool(count, concurrency, (i) => one(target, `${config.tag}-${target.index}${prefix}${i}`, record));
  for (const target of targets) await batch(target, warmupCycles, 'fw', () => {});
  const accounts = targets.map(() => newAccount());
  const perSlice = Math.ceil(cycles / slices);
  await eldStart();
  for (let slice = 0; slice < slices * targets.length; slice++) {
    const target = targets[slice % targets.length];
    const a = snapshot();
    await batch(target, perSlice, `f${slice}-`, (ms) => samples[target.index].push(ms));
    charge(accounts[target.index], target, a, snapshot());
  }
  const eld = await eldEnd();
  return targets.map((t) => {
    accounts[t.index].eld = eld[t.index];
    const sorted = Float64Array.from(samples[t.index]).sort();
    const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    return {
      cycles: sorted.length,
      p50_ms: round(pct(50), 3),
      p99_ms: round(pct(99), 3),
      // Target CPU per cycle (two connections joining, one offer relayed, both closing).
      cpu_us_per_cycle: round((accounts[t.index].targetS / sorted.length) * 1e6, 1),
      ...usage(accounts[t.index]),
    };
  });
}

// A lean WebSocket handshake for the connect scenario. ws's client handshake (http.request, the
// upgrade parser, key generation and checks) cost the generator two to three times what the whole
// accept+upgrade+join+leave costs the ceiling, so the generator, not the target, set the rate. This
// client writes a pre-built upgrade request on a raw TCP socket, waits for `101` and the first
// frame, checks that it is `joined`, and then does the closing handshake. The target sees an
// ordinary WebSocket client (fixed but valid Sec-WebSocket-Key; the accept value is not checked).
const HANDSHAKE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const CLOSE_FRAME = Buffer.from([0x88, 0x82, ...MASK_KEY, 0x03 ^ MASK_KEY[0], 0xe8 ^ MASK_KEY[1]]); // 1000, masked

let leanIds = 0;

/** Resolves once the first frame (`joined`; PeerJS: `OPEN`) arrived and the connection is closed again. */
function leanJoin(target, roomId, onJoined) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: HOST,
      port: target.port,
      noDelay: true,
      localAddress: sourceAddress(),
    });
    leanIds += 1;
    const id = `${roomId}-${leanIds}`;
    const welcome = target.dialect === 'peerjs' ? '"OPEN"' : '"joined"';
    let buffered = Buffer.alloc(0);
    let state = 'upgrading'; // -> 'joining' -> 'closing'
    const failWith = (message) => {
      state = 'failed';
      socket.destroy();
      reject(new Error(message));
    };
    socket.on('connect', () => {
      socket.write(
        `GET ${wsPath(target, roomId, id)} HTTP/1.1\r\nHost: ${HOST}:${target.port}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${HANDSHAKE_KEY}\r\n` +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('data', (chunk) => {
      if (state === 'closing' || state === 'failed') return; // the server's close frame; not needed
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (buffered.length > 65536) return failWith('no joined within the first 64 KB');
      if (state === 'upgrading') {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = buffered.toString('latin1', 0, buffered.indexOf('\r\n'));
        if (!status.startsWith('HTTP/1.1 101')) return failWith(`upgrade refused: ${status}`);
        buffered = buffered.subarray(end + 4);
        state = 'joining';
      }
      const frame = serverFrame(buffered);
      if (frame === null) return;
      if (frame.opcode !== 1 || frame.payload.indexOf(welcome) === -1) {
        return failWith(
          `first frame was not joined: opcode ${frame.opcode} ${frame.payload.toString().slice(0, 80)}`,
        );
      }
      state = 'closing';
      onJoined();
      socket.write(CLOSE_FRAME);
    });
    socket.on('error', (error) => {
      if (state !== 'failed') failWith(error.message);
    });
    // The server answers our close frame with its own and ends the TCP connection (RFC 6455 7.1.1).
    socket.on('close', () => {
      if (state === 'closing') resolve();
      else if (state !== 'failed') failWith(`connection closed while ${state}`);
    });
  });
}

/** One complete unmasked server frame at the start of `buf`, or null while it is incomplete. */
function serverFrame(buf) {
  if (buf.length < 2) return null;
  let length = buf[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buf.length < 4) return null;
    length = buf.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buf.length < 10) return null;
    length = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  if (buf.length < offset + length) return null;
  return { opcode: buf[0] & 0x0f, payload: buf.subarray(offset, offset + length) };
}

/** Connect, wait for `joined`, close: the whole cycle, `concurrency` at a time, in batches per slice. */
async function connect() {
  const { connections, concurrency, slices } = config;
  const failed = targets.map(() => 0);
  const joined = targets.map(() => 0);
  // Rooms of two (consecutive connections share one), so joins also announce peer_joined/peer_left
  // when the two overlap, as in real use.
  const cycles = async (target, count, prefix, onJoined) => {
    await pool(count, concurrency, async (i) => {
      const roomId = `${config.tag}-${target.index}${prefix}${Math.floor(i / 2)}`;
      try {
        await withDeadline(leanJoin(target, roomId, onJoined), 15_000, 'join cycle');
      } catch (error) {
        failed[target.index] += 1;
        if (failed[target.index] <= 3) log(`connection failed: ${error.message}`);
      }
    });
  };
  for (const target of targets) await cycles(target, config.warmupCycles, 'cw', () => {}); // JIT both sides
  failed.fill(0);

  // A slice is a batch of cycles rather than a time span: from its first connect until its last
  // connection has closed again.
  const accounts = targets.map(() => newAccount());
  const perSlice = Math.ceil(connections / slices);
  await eldStart();
  for (let slice = 0; slice < slices * targets.length; slice++) {
    const target = targets[slice % targets.length];
    const a = snapshot();
    await cycles(target, perSlice, `c${slice}-`, () => {
      joined[target.index] += 1;
    });
    charge(accounts[target.index], target, a, snapshot());
  }
  const eld = await eldEnd();
  for (const t of targets) accounts[t.index].eld = eld[t.index];
  return targets.map((t) => {
    if (failed[t.index] > connections * 0.01) {
      throw new Error(`${failed[t.index]} of ${perSlice * slices} connections failed`);
    }
    return {
      connections: perSlice * slices,
      joined: joined[t.index],
      failed: failed[t.index],
      joins_per_s: round(joined[t.index] / accounts[t.index].wallS, 1),
      // Target CPU per connect+join+close cycle: less sensitive to other load than joins/s.
      cpu_us_per_join: round((accounts[t.index].targetS / joined[t.index]) * 1e6, 1),
      ...usage(accounts[t.index]),
    };
  });
}

// ---------------------------------------------------------------------------------------------------

const scenarios = {
  throughput,
  throughput_big: throughput,
  latency,
  memory,
  connect,
  firstmsg,
  // Same code: the harness starts the targets differently (TLS + JWT, or two instances via Redis).
  secure_throughput: throughput,
  secure_firstmsg: firstmsg,
  fleet_throughput: throughput,
  fleet_latency: latency,
};

async function main() {
  const scenario = scenarios[config.scenario];
  if (!scenario) throw new Error(`unknown scenario ${JSON.stringify(config.scenario)}`);
  const hardLimit = setTimeout(() => {
    fail(new Error(`scenario exceeded ${config.maxMs} ms`));
  }, config.maxMs ?? 120_000);
  const results = await scenario();
  clearTimeout(hardLimit);
  const perTarget = results.map((result, i) => ({ result, problems: targets[i].stats }));
  process.stdout.write(`${JSON.stringify({ ok: true, scenario: config.scenario, targets: perTarget })}\n`);
  finish(0);
}

function fail(error) {
  const problems = targets.map((t) => t.stats);
  process.stdout.write(
    `${JSON.stringify({ ok: false, scenario: config.scenario, error: error.message, problems })}\n`,
  );
  finish(1);
}

function finish(code) {
  for (const ws of openSockets) ws.terminate();
  // Let stdout flush to the pipe before leaving.
  process.stdout.write('', () => process.exit(code));
}

main().catch(fail);
