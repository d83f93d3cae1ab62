import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DeliveredHistory } from '../../src/signaling/delivered-history.js';
import { RelayArena, relayByteLength } from '../../src/signaling/relay-arena.js';

const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));
const bytesOf = (s: string) => Buffer.from(s, 'utf8');

describe('RelayArena', () => {
  test('keeps entries until the ring comes round, then reports them gone', () => {
    const arena = new RelayArena(10);
    const a = arena.append(bytesOf('aaaa'), 4);
    const b = arena.append(bytesOf('bbbb'), 4);
    assert.deepEqual([text(arena.read(a, 4)), text(arena.read(b, 4))], ['aaaa', 'bbbb']);
    // 'cccc' does not fit the 2-byte tail: it goes to the start, over 'aaaa' only.
    const c = arena.append(bytesOf('cccc'), 4);
    assert.deepEqual(
      [arena.read(a, 4), text(arena.read(b, 4)), text(arena.read(c, 4))],
      [null, 'bbbb', 'cccc'],
    );
    const d = arena.append(bytesOf('dddd'), 4);
    assert.deepEqual(
      [arena.read(b, 4), text(arena.read(c, 4)), text(arena.read(d, 4))],
      [null, 'cccc', 'dddd'],
    );
  });

  test('a copy read out stays intact after the ring overwrites the entry', () => {
    const arena = new RelayArena(8);
    const a = arena.append(bytesOf('abcd'), 4);
    const copy = arena.read(a, 4);
    arena.append(bytesOf('wxyz'), 4);
    arena.append(bytesOf('1234'), 4);
    assert.equal(text(copy), 'abcd');
    assert.equal(arena.read(a, 4), null);
  });

  test('the same payload appended in a row (a broadcast) is stored once', () => {
    const arena = new RelayArena(100);
    const payload = bytesOf('{"type":"offer"}');
    const first = arena.append(payload, payload.length);
    assert.equal(arena.append(payload, payload.length), first);
    const other = arena.append(bytesOf('{"type":"answer"}'), 17);
    assert.equal(other, first + payload.length);
  });

  test('strings are stored as UTF-8; an entry larger than the ring is not kept', () => {
    const arena = new RelayArena(16);
    const s = '{"é":"ü"}';
    const at = arena.append(s, relayByteLength(s));
    assert.equal(relayByteLength(s), 11);
    assert.equal(text(arena.read(at, 11)), s);
    assert.equal(arena.append('x'.repeat(17), 17), -1);
    assert.equal(arena.intact(-1), false);
  });
});

describe('DeliveredHistory', () => {
  const fill = (arenaBytes: number, limits: { maxMessages: number; maxBytes: number }, count: number) => {
    const arena = new RelayArena(arenaBytes);
    const history = new DeliveredHistory(arena, limits);
    for (let seq = 1; seq <= count; seq++) {
      const payload = bytesOf(`m${String(seq).padStart(3, '0')}`);
      history.add(seq, arena.append(payload, payload.length), payload.length);
    }
    return history.entries().map((e) => [e.seq, text(e.payload as Uint8Array)]);
  };

  test('keeps the newest RESUME_BUFFER_MESSAGES, growing past its first capacity', () => {
    const kept = fill(10_000, { maxMessages: 20, maxBytes: 1_000_000 }, 50);
    assert.equal(kept.length, 20);
    assert.deepEqual(kept[0], [31, 'm031']);
    assert.deepEqual(kept.at(-1), [50, 'm050']);
  });

  test('keeps within RESUME_BUFFER_BYTES, at least the newest entry', () => {
    assert.deepEqual(
      fill(10_000, { maxMessages: 100, maxBytes: 9 }, 5).map(([seq]) => seq),
      [4, 5],
    );
    assert.deepEqual(
      fill(10_000, { maxMessages: 100, maxBytes: 1 }, 5).map(([seq]) => seq),
      [5],
    );
  });

  test('what the arena overwrote is dropped from the front', () => {
    assert.deepEqual(
      fill(12, { maxMessages: 100, maxBytes: 1_000_000 }, 7).map(([seq]) => seq),
      [5, 6, 7],
    );
  });

  test('an entry the arena could not keep starts the history after it', () => {
    const arena = new RelayArena(8);
    const history = new DeliveredHistory(arena, { maxMessages: 10, maxBytes: 1_000 });
    history.add(1, arena.append('ab', 2), 2);
    history.add(2, arena.append('x'.repeat(9), 9), 9);
    history.add(3, arena.append('cd', 2), 2);
    assert.deepEqual(
      history.entries().map((e) => e.seq),
      [3],
    );
  });

  test('numbering that jumps (a new stream) starts over at the new seq', () => {
    const arena = new RelayArena(100);
    const history = new DeliveredHistory(arena, { maxMessages: 10, maxBytes: 1_000 });
    history.add(1, arena.append('a1', 2), 2);
    history.add(7, arena.append('a7', 2), 2);
    history.add(8, arena.append('a8', 2), 2);
    assert.deepEqual(
      history.entries().map((e) => [e.seq, text(e.payload as Uint8Array)]),
      [
        [7, 'a7'],
        [8, 'a8'],
      ],
    );
  });
});
