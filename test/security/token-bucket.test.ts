import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RateLimiter } from '../../src/security/token-bucket.js';

function limiter(perMinute: number, burst: number, maxKeys = 1000) {
  const clock = { now: 0 };
  const rate = new RateLimiter({ perMinute, burst, maxKeys, now: () => clock.now });
  return { rate, clock };
}

function takeMany(rate: RateLimiter, key: string, n: number): number {
  let admitted = 0;
  for (let i = 0; i < n; i += 1) if (rate.take(key)) admitted += 1;
  return admitted;
}

describe('RateLimiter (token bucket)', () => {
  test('admits a burst of exactly `burst` messages and refuses the next one', () => {
    const { rate } = limiter(60, 60);
    assert.equal(takeMany(rate, '1.2.3.4', 60), 60);
    assert.equal(rate.take('1.2.3.4'), false);
  });

  test('refills at perMinute/60 tokens a second and never above burst', () => {
    const { rate, clock } = limiter(60, 10);
    assert.equal(takeMany(rate, 'k', 100), 10);
    clock.now += 999;
    assert.equal(rate.take('k'), false, 'less than one token after 999 ms at 1/s');
    clock.now += 1;
    assert.equal(rate.take('k'), true, 'one token after one second');
    assert.equal(rate.take('k'), false);
    clock.now += 3_600_000;
    assert.equal(takeMany(rate, 'k', 100), 10, 'an hour idle refills to burst, not beyond');
  });

  test('RATE_LIMIT_BURST smaller than the rate: at most burst at once, the rate over time', () => {
    const { rate, clock } = limiter(600, 5);
    assert.equal(takeMany(rate, 'k', 50), 5);
    clock.now += 1000;
    assert.equal(takeMany(rate, 'k', 50), 5, '10/s refills 10 tokens but the bucket holds 5');
  });

  test('keys are independent: one flooding key does not drain another', () => {
    const { rate } = limiter(60, 3);
    assert.equal(takeMany(rate, 'flooder', 1000), 3);
    assert.equal(takeMany(rate, 'honest', 3), 3);
  });

  test('sweep forgets only refilled buckets, and a forgotten key starts full', () => {
    const { rate, clock } = limiter(60, 2);
    rate.take('a');
    rate.take('b');
    rate.take('b');
    assert.equal(rate.size, 2);
    clock.now += 1000; // a: 2 (full), b: 1
    rate.sweep();
    assert.equal(rate.size, 1, 'only the refilled bucket is forgotten');
    clock.now += 1000;
    rate.sweep();
    assert.equal(rate.size, 0);
    assert.equal(takeMany(rate, 'b', 5), 2);
  });

  test('the table never holds more than maxKeys keys, however many clients come', () => {
    const { rate } = limiter(60, 60, 100);
    for (let i = 0; i < 10_000; i += 1) rate.take(`10.0.${i >> 8}.${i & 255}`);
    assert.ok(rate.size <= 100, `size ${rate.size}`);
  });

  test('property: without eviction no key is ever admitted more than burst + rate × elapsed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 5000 })), {
          maxLength: 300,
        }),
        (perMinute, burst, steps) => {
          const { rate, clock } = limiter(perMinute, burst);
          const admitted = new Map<string, number>();
          for (const [key, advance] of steps) {
            clock.now += advance;
            if (rate.take(key)) admitted.set(key, (admitted.get(key) ?? 0) + 1);
          }
          for (const count of admitted.values()) {
            assert.ok(count <= burst + (perMinute * clock.now) / 60_000 + 1e-9);
          }
          assert.ok(rate.size <= 3);
        },
      ),
      { numRuns: 500 },
    );
  });
});
