import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ConnectionCounter } from '../../src/security/connection-counter.js';

describe('ConnectionCounter', () => {
  test('counts up to the maximum per key and refuses the next without counting it', () => {
    const counter = new ConnectionCounter(5);
    for (let i = 0; i < 5; i += 1) assert.equal(counter.tryAcquire('127.0.0.1'), true);
    assert.equal(counter.tryAcquire('127.0.0.1'), false);
    assert.equal(counter.count('127.0.0.1'), 5);
    assert.equal(counter.tryAcquire('127.0.0.2'), true, 'another key has its own count');
  });

  test('a release frees exactly one slot', () => {
    const counter = new ConnectionCounter(2);
    counter.tryAcquire('k');
    counter.tryAcquire('k');
    counter.release('k');
    assert.equal(counter.tryAcquire('k'), true);
    assert.equal(counter.tryAcquire('k'), false);
  });

  test('keeps no entry for a key without open connections, and an extra release never goes negative', () => {
    const counter = new ConnectionCounter(3);
    counter.tryAcquire('k');
    counter.release('k');
    assert.equal(counter.size, 0);
    counter.release('k');
    counter.release('never-seen');
    assert.equal(counter.size, 0);
    assert.equal(counter.count('k'), 0);
    for (let i = 0; i < 3; i += 1) assert.equal(counter.tryAcquire('k'), true);
    assert.equal(counter.tryAcquire('k'), false);
  });

  test('property: agrees with a simple model and its table holds only keys with open connections', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.boolean(), fc.constantFrom('a', 'b', 'c', 'd')), { maxLength: 400 }),
        (max, ops) => {
          const counter = new ConnectionCounter(max);
          const model = new Map<string, number>();
          for (const [acquire, key] of ops) {
            const open = model.get(key) ?? 0;
            if (acquire) {
              assert.equal(counter.tryAcquire(key), open < max);
              if (open < max) model.set(key, open + 1);
            } else if (open > 0) {
              counter.release(key);
              model.set(key, open - 1);
            }
            assert.equal(counter.count(key), model.get(key) ?? 0);
          }
          assert.equal(counter.size, [...model.values()].filter((n) => n > 0).length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
