import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthFailureTracker, type AuthGate } from '../../src/security/auth-failure-tracker.js';

function tracker(
  options: { maxFailures?: number; windowSeconds?: number; blockSeconds?: number; maxEntries?: number } = {},
) {
  const clock = { now: 1_000_000 };
  const failures = new AuthFailureTracker({
    maxFailures: options.maxFailures ?? 3,
    windowSeconds: options.windowSeconds ?? 300,
    blockSeconds: options.blockSeconds ?? 900,
    maxEntries: options.maxEntries ?? 1000,
    now: () => clock.now,
  });
  return { failures, clock };
}

function retryAfter(gate: AuthGate): number {
  assert.equal(gate.allowed, false);
  return gate.allowed ? 0 : gate.retryAfterSeconds;
}

describe('AuthFailureTracker', () => {
  test('blocks an IP at the maxFailures-th failure within the window, with Retry-After = the block time', () => {
    const { failures } = tracker({ maxFailures: 3, blockSeconds: 900 });
    assert.equal(failures.recordFailure('1.2.3.4'), false);
    assert.equal(failures.recordFailure('1.2.3.4'), false);
    assert.deepEqual(failures.checkIp('1.2.3.4'), { allowed: true });
    assert.equal(failures.recordFailure('1.2.3.4'), true, 'the third failure blocks');
    assert.equal(retryAfter(failures.checkIp('1.2.3.4')), 900);
    assert.deepEqual(failures.checkIp('5.6.7.8'), { allowed: true }, 'other IPs are not blocked');
  });

  test('a block counts down and expires by itself', () => {
    const { failures, clock } = tracker({ maxFailures: 1, blockSeconds: 10 });
    failures.recordFailure('ip');
    clock.now += 4_500;
    assert.equal(retryAfter(failures.checkIp('ip')), 6, 'rounded up, never 0');
    clock.now += 5_499;
    assert.equal(retryAfter(failures.checkIp('ip')), 1);
    clock.now += 1;
    assert.deepEqual(failures.checkIp('ip'), { allowed: true });
  });

  test('failures spread over more than the window never add up to a block', () => {
    const { failures, clock } = tracker({ maxFailures: 3, windowSeconds: 60 });
    for (let i = 0; i < 10; i += 1) {
      assert.equal(failures.recordFailure('ip'), false);
      failures.recordFailure('ip');
      clock.now += 60_000;
    }
    assert.deepEqual(failures.checkIp('ip'), { allowed: true });
  });

  test('per-username throttling: failures from many IPs slow the username 2, 4, 8 … at most 60 s', () => {
    const { failures, clock } = tracker({ maxFailures: 3, windowSeconds: 3600 });
    failures.recordFailure('10.0.0.1', 'alice');
    failures.recordFailure('10.0.0.2', 'alice');
    assert.deepEqual(failures.checkUsername('alice'), { allowed: true });
    failures.recordFailure('10.0.0.3', 'Alice');
    assert.equal(retryAfter(failures.checkUsername('ALICE')), 2, 'usernames are compared case-insensitively');
    assert.deepEqual(failures.checkUsername('bob'), { allowed: true }, 'other usernames are not slowed');
    const delays: number[] = [];
    for (let i = 4; i < 12; i += 1) {
      clock.now += 61_000;
      failures.recordFailure(`10.0.0.${i}`, 'alice');
      delays.push(retryAfter(failures.checkUsername('alice')));
    }
    assert.deepEqual(delays, [4, 8, 16, 32, 60, 60, 60, 60]);
    for (let i = 1; i < 12; i += 1)
      assert.deepEqual(failures.checkIp(`10.0.0.${i}`), { allowed: true }, 'no IP blocked');
  });

  test('a successful login clears the username throttle but not an IP block', () => {
    const { failures } = tracker({ maxFailures: 2 });
    failures.recordFailure('ip', 'alice');
    failures.recordFailure('ip', 'alice');
    assert.equal(failures.checkUsername('alice').allowed, false);
    assert.equal(failures.checkIp('ip').allowed, false);
    failures.recordSuccess('alice');
    assert.deepEqual(failures.checkUsername('alice'), { allowed: true });
    assert.equal(failures.checkIp('ip').allowed, false);
  });

  test('sweep forgets expired windows and blocks, so the tables return to empty', () => {
    const { failures, clock } = tracker({ maxFailures: 2, windowSeconds: 60, blockSeconds: 120 });
    failures.recordFailure('a', 'alice');
    failures.recordFailure('a', 'alice');
    failures.recordFailure('b', 'bob');
    assert.equal(failures.trackedIps, 2);
    assert.equal(failures.trackedUsernames, 2);
    clock.now += 60_000;
    failures.sweep();
    assert.equal(failures.trackedIps, 1, 'the blocked IP stays until its block ends');
    clock.now += 60_000;
    failures.sweep();
    assert.equal(failures.trackedIps, 0);
    assert.equal(failures.trackedUsernames, 0);
  });

  test('lookups never create entries, and the tables stay within maxEntries under a million-address attack', () => {
    const { failures } = tracker({ maxEntries: 500 });
    for (let i = 0; i < 5000; i += 1) failures.checkIp(`lookup-${i}`);
    assert.equal(failures.trackedIps, 0);
    for (let i = 0; i < 20_000; i += 1)
      failures.recordFailure(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, `user${i}`);
    assert.ok(failures.trackedIps <= 500, `tracked IPs ${failures.trackedIps}`);
    assert.ok(failures.trackedUsernames <= 500, `tracked usernames ${failures.trackedUsernames}`);
  });
});

test('after a block ends, counting starts afresh: one more failure does not block again', () => {
  let now = 0;
  const failures = new AuthFailureTracker({
    maxFailures: 2,
    windowSeconds: 600,
    blockSeconds: 10,
    maxEntries: 100,
    now: () => now,
  });
  failures.recordFailure('ip');
  assert.equal(failures.recordFailure('ip'), true);
  now += 10_000;
  assert.deepEqual(failures.checkIp('ip'), { allowed: true });
  assert.equal(failures.recordFailure('ip'), false);
  assert.deepEqual(failures.checkIp('ip'), { allowed: true });
});

test('a full table keeps active blocks when new addresses flood it', () => {
  let now = 0;
  const failures = new AuthFailureTracker({
    maxFailures: 2,
    windowSeconds: 60,
    blockSeconds: 600,
    maxEntries: 50,
    now: () => now,
  });
  failures.recordFailure('attacker');
  failures.recordFailure('attacker');
  // Each new address fails once (not enough to be blocked itself), as a spray from many IPs would.
  for (let i = 0; i < 5000; i += 1) {
    now += 1;
    failures.recordFailure(`10.0.${Math.floor(i / 250)}.${i % 250}`);
  }
  assert.ok(failures.trackedIps <= 50);
  assert.equal(failures.checkIp('attacker').allowed, false);
});
