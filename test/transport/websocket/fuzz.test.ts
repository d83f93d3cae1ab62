import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  closedWithin,
  describeGrowth,
  type MemorySample,
  MiB,
  measureMemory,
  waitFor,
} from '../../helpers/measure.js';
import { rawWebSocket } from '../../helpers/raw-socket.js';
import { type RunningServer, startServer } from '../../helpers/server.js';
import { joinRoom, type TestClient } from '../../helpers/ws-client.js';

const ERROR_CODES = new Set(['invalid_json', 'invalid_message', 'unknown_peer', 'rate_limited']);
/** What a relayed copy may contain (CONTRACT.md): nothing a client adds survives. */
const RELAY_FIELDS: Record<string, Set<string>> = {
  offer: new Set(['type', 'offer', 'to', 'from']),
  answer: new Set(['type', 'answer', 'to', 'from']),
  ice_candidate: new Set(['type', 'candidate', 'to', 'from']),
};
const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Sets `key` as an own property, so `__proto__` is serialised as a key instead of changing the prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const children = Object.keys(value).flatMap((k) =>
    paths((value as Record<string, unknown>)[k], [...prefix, k]),
  );
  return [prefix, ...children];
}

function mutate(
  message: Record<string, unknown>,
  pick: number,
  how: 'replace' | 'delete' | 'addKey',
  key: string,
  value: unknown,
): unknown {
  const copy = structuredClone(message) as Record<string, unknown>;
  const all = paths(copy);
  const path = all[pick % all.length]!;
  if (path.length === 0) {
    if (how === 'replace') return value;
    setOwn(copy, key, value);
    return copy;
  }
  let parent: Record<string, unknown> = copy;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string, unknown>;
  const last = path.at(-1)!;
  if (how === 'delete') delete parent[last];
  else if (how === 'replace') setOwn(parent, last, value);
  else if (typeof parent[last] === 'object' && parent[last] !== null)
    setOwn(parent[last] as Record<string, unknown>, key, value);
  else setOwn(parent, key, value);
  return copy;
}

describe('fuzzing the WebSocket endpoint with fast-check', () => {
  let server: RunningServer;
  let sender: { client: TestClient; peerId: string };
  let observer: { client: TestClient; peerId: string };
  let baseline: MemorySample;
  const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  let framesSent = 0;

  before(async () => {
    server = await startServer({
      RATE_LIMIT_PER_MINUTE: '10000000',
      RATE_LIMIT_BURST: '10000000',
      MAX_CONNECTIONS_PER_IP: '100',
      // Security events are warnings; keep only errors so the captured log does not grow with the fuzz.
      LOG_LEVEL: 'error',
    });
    sender = await joinRoom(server.wsUrl, 'fuzz');
    observer = await joinRoom(server.wsUrl, 'fuzz', { localAddress: '127.0.0.2' });
    await sender.client.next('peer_joined');
    baseline = await measureMemory();
  });
  after(async () => {
    sender.client.ws.terminate();
    observer.client.ws.terminate();
    await server.stop();
  });

  /** The sender may only ever see refusals and pongs; the observer only relays from the sender, with contract fields only. */
  function checkInboxes(): void {
    for (const m of sender.client.inbox.splice(0)) {
      if (m.type === 'error')
        assert.ok(ERROR_CODES.has(m.code as string), `unknown error code ${String(m.code)}`);
      else assert.equal(m.type, 'pong', `unexpected ${JSON.stringify(m).slice(0, 200)}`);
    }
    for (const m of observer.client.inbox.splice(0)) {
      const allowed = RELAY_FIELDS[m.type];
      assert.ok(allowed, `observer got ${JSON.stringify(m).slice(0, 200)}`);
      assert.equal(m.from, sender.peerId);
      for (const key of Object.keys(m)) assert.ok(allowed.has(key), `relayed field ${key}`);
    }
  }

  test('thousands of random and mutated JSON messages never close the socket, and a ping is always answered', async () => {
    const peerIds = fc.constantFrom(observer.peerId, sender.peerId, 'nobody', '', 'x'.repeat(65));
    const weirdNumber = fc.constantFrom(
      1e308,
      -1e308,
      Number.MAX_SAFE_INTEGER + 2,
      -0,
      5e-324,
      1e21,
      65_536,
      -1,
      0.5,
      2 ** 31,
    );
    const weirdString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom(
        '\u0000',
        '\ud800',
        '\udfff\ud800',
        '\u202e\u200b',
        '𝕏'.repeat(500),
        'x'.repeat(50_000),
      ),
    );
    const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      weirdNumber,
      weirdString,
      fc.constantFrom(null, true, [], {}, [[[[[]]]]]),
    );
    const sdp = fc.oneof(fc.string({ maxLength: 200 }), fc.constant(`v=0\r\n${'a=x\r\n'.repeat(2000)}`));
    const to = fc.option(peerIds, { nil: undefined });
    const withTo = <T extends object>(body: T, target: string | undefined) =>
      target === undefined ? body : { ...body, to: target };
    const valid: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
      fc.tuple(sdp, to).map(([s, t]) => withTo({ type: 'offer', offer: { type: 'offer', sdp: s } }, t)),
      fc.tuple(sdp, to).map(([s, t]) => withTo({ type: 'answer', answer: { type: 'answer', sdp: s } }, t)),
      fc
        .tuple(
          fc.option(
            fc.record(
              {
                candidate: fc.string({ maxLength: 100 }),
                sdpMid: fc.option(fc.string({ maxLength: 5 })),
                sdpMLineIndex: fc.option(fc.integer({ min: 0, max: 65_535 })),
                usernameFragment: fc.option(fc.string({ maxLength: 8 })),
              },
              { requiredKeys: ['candidate'] },
            ),
          ),
          to,
        )
        .map(([c, t]) => withTo({ type: 'ice_candidate', candidate: c }, t)),
      fc
        .option(fc.oneof(fc.double(), fc.string({ maxLength: 64 })), { nil: undefined })
        .map((ts) => (ts === undefined ? { type: 'ping' } : { type: 'ping', ts })),
      fc.string({ minLength: 1, maxLength: 300 }).map((token) => ({ type: 'auth', token })),
    );
    const mutated = fc
      .tuple(
        valid,
        fc.nat(),
        fc.constantFrom('replace', 'delete', 'addKey') as fc.Arbitrary<'replace' | 'delete' | 'addKey'>,
        fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 10 })),
        weirdValue,
      )
      .map(([message, pick, how, key, value]) => mutate(message, pick, how, key, value));
    const frame: fc.Arbitrary<string> = fc.oneof(
      { weight: 3, arbitrary: mutated.map((m) => JSON.stringify(m) ?? 'undefined') },
      { weight: 2, arbitrary: valid.map((m) => JSON.stringify(m)) },
      { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v as Json)) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      {
        weight: 1,
        arbitrary: fc.tuple(valid, fc.nat()).map(([m, cut]) => {
          const t = JSON.stringify(m);
          return t.slice(0, cut % t.length);
        }),
      },
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: 1000, max: 30_000 })
          .map((n) => `{"type":"offer","offer":${'['.repeat(n)}${']'.repeat(n)}}`),
      },
    );

    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
        for (const f of frames) sender.client.send(f);
        framesSent += frames.length;
        await sender.client.expectAlive();
        assert.equal(sender.client.ws.readyState, sender.client.ws.OPEN);
        checkInboxes();
      }),
      { numRuns: 1500 },
    );
  });

  test('random binary frames are refused with invalid_message on the same socket', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        sender.client.ws.send(Buffer.from(bytes), { binary: true });
        framesSent += 1;
        const error = await sender.client.next('error');
        assert.equal(error.code, 'invalid_message');
        await sender.client.expectAlive();
        checkInboxes();
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes sent as a text frame: invalid UTF-8 is closed with 1007 and a fresh socket works', async () => {
    let closed1007 = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const { client } = await joinRoom(server.wsUrl, 'fuzz-utf8');
        try {
          client.ws.send(Buffer.from(bytes), { binary: false });
          framesSent += 1;
          if (isUtf8(bytes)) {
            await client.next('error');
            await client.expectAlive();
          } else {
            assert.equal((await closedWithin(client)).code, 1007);
            closed1007 += 1;
          }
        } finally {
          client.ws.terminate();
        }
      }),
      { numRuns: 150 },
    );
    assert.ok(closed1007 > 50, 'most random byte strings are invalid UTF-8');
    await sender.client.expectAlive();
  });

  test('random bytes on the raw socket after the handshake never hurt the server', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), async (bytes) => {
        const raw = await rawWebSocket(server.port, '/ws/fuzz-raw', { localAddress: '127.0.0.3' });
        raw.socket.on('error', () => {});
        raw.socket.resume();
        raw.socket.write(Buffer.from(bytes));
        framesSent += 1;
        await new Promise((resolve) => setTimeout(resolve, 2));
        raw.socket.destroy();
      }),
      { numRuns: 200 },
    );
    await waitFor(
      'the raw sockets to be released',
      async () => (await server.app.diagnostics.connectionsOf('127.0.0.3')) === 0,
      5000,
    );
    await sender.client.expectAlive();
  });

  test('afterwards: no crash, no error logged, no prototype pollution, memory steady', async () => {
    await sender.client.expectAlive();
    await observer.client.expectAlive();
    checkInboxes();
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeBefore);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const errors = server.logs.filter((l) => Number(l.level) >= 50);
    assert.deepEqual(errors, [], 'the server logged errors');
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    const now = await measureMemory();
    const growth = now.heapUsed + now.offHeap - (baseline.heapUsed + baseline.offHeap);
    console.log(`fuzz: ${framesSent} frames sent; ${describeGrowth(baseline, now)}`);
    assert.ok(growth < 24 * MiB, `memory grew ${(growth / MiB).toFixed(1)} MiB`);
  });
});
