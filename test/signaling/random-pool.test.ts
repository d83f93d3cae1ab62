import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RandomPool, randomBase64url } from '../../src/signaling/random-pool.js';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

describe('RandomPool', () => {
  test('hands out base64url text of the asked length, never the same bytes twice', () => {
    // 100 bytes a pool: draws of 24 cross the refill boundary every fourth or fifth time.
    const pool = new RandomPool(100);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const value = pool.base64url(24);
      assert.match(value, BASE64URL);
      assert.equal(Buffer.from(value, 'base64url').length, 24);
      assert.ok(!seen.has(value), `value ${value} handed out twice`);
      seen.add(value);
    }
  });

  test('a draw larger than the pool still gets fresh bytes', () => {
    const pool = new RandomPool(16);
    const a = pool.base64url(64);
    const b = pool.base64url(64);
    assert.equal(Buffer.from(a, 'base64url').length, 64);
    assert.notEqual(a, b);
  });

  test('the bytes are spread over all values (not a counter, not zeros)', () => {
    const pool = new RandomPool(256);
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 400; i++)
      for (const byte of Buffer.from(pool.base64url(16), 'base64url')) counts[byte] = (counts[byte] ?? 0) + 1;
    // 6,400 bytes over 256 values: 25 each on average; every value seen, none wildly over.
    assert.ok(
      counts.every((c) => c > 0),
      'some byte value never came up',
    );
    assert.ok(Math.max(...counts) < 70, `one byte value came up ${Math.max(...counts)} times`);
  });

  test('the shared pool serves ids of 16 bytes', () => {
    const a = randomBase64url(16);
    assert.equal(a.length, 22);
    assert.notEqual(a, randomBase64url(16));
  });
});
