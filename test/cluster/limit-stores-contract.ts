import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LimitStores } from '../../src/security/limit-stores.js';

/** Limits every store must enforce: rate 5/min burst 5, 2 connections per IP, block after 3 failures. */
export const CONTRACT_LIMITS = {
  perMinute: 5,
  burst: 5,
  maxConnectionsPerIp: 2,
  maxFailures: 3,
  windowSeconds: 60,
  blockSeconds: 60,
};

/** `CONTRACT_LIMITS` as the configuration `createCluster` takes. */
export const CONTRACT_LIMIT_CONFIG = {
  rateLimitPerMinute: CONTRACT_LIMITS.perMinute,
  rateLimitBurst: CONTRACT_LIMITS.burst,
  maxConnectionsPerIp: CONTRACT_LIMITS.maxConnectionsPerIp,
  authMaxFailures: CONTRACT_LIMITS.maxFailures,
  authFailureWindow: CONTRACT_LIMITS.windowSeconds,
  authBlockSeconds: CONTRACT_LIMITS.blockSeconds,
};

/**
 * The behaviour every set of limit stores keeps, in-process or shared through Redis. `factory`
 * returns fresh stores with CONTRACT_LIMITS (keys must not collide between calls).
 */
export function describeLimitStores(name: string, factory: () => Promise<LimitStores>): void {
  describe(`limit stores contract: ${name}`, () => {
    // Changed with issue 10: `take` answers at once (a boolean, never a promise) in every store, so
    // no message waits for Redis; shared stores reconcile their counts in the background.
    test('a bucket admits the burst, then refuses, per key, deciding at once', async () => {
      const stores = await factory();
      const results: boolean[] = [];
      for (let i = 0; i < 7; i += 1) results.push(stores.ipRate.take('10.0.0.1'));
      assert.deepEqual(results, [true, true, true, true, true, false, false]);
      assert.equal(stores.ipRate.take('10.0.0.2'), true);
      assert.equal(stores.userRate.take('alice'), true);
    });

    test('connections are capped per key and a release frees a slot', async () => {
      const stores = await factory();
      assert.equal(await stores.connections.tryAcquire('ip'), true);
      assert.equal(await stores.connections.tryAcquire('ip'), true);
      assert.equal(await stores.connections.tryAcquire('ip'), false);
      assert.equal(await stores.connections.tryAcquire('other'), true);
      assert.equal(await stores.connections.count('ip'), 2);
      assert.equal(await stores.connections.count('other'), 1);
      assert.equal(await stores.connections.count('nobody'), 0);
      stores.connections.release('ip');
      await waitFor(async () => {
        const ok = await stores.connections.tryAcquire('ip');
        if (ok) return true;
        return false;
      });
    });

    test('failures block the IP at the limit and throttle the username, success clears the username', async () => {
      const stores = await factory();
      assert.deepEqual(await stores.authFailures.checkIp('ip'), { allowed: true });
      assert.equal(await stores.authFailures.recordFailure('ip', 'alice'), false);
      assert.equal(await stores.authFailures.recordFailure('ip', 'alice'), false);
      assert.equal(await stores.authFailures.recordFailure('ip', 'alice'), true);
      const gate = await stores.authFailures.checkIp('ip');
      assert.equal(gate.allowed, false);
      if (!gate.allowed) assert.ok(gate.retryAfterSeconds > 0 && gate.retryAfterSeconds <= 60);
      assert.equal((await stores.authFailures.checkUsername('ALICE')).allowed, false);
      assert.deepEqual(await stores.authFailures.checkIp('other-ip'), { allowed: true });
      await stores.authFailures.recordSuccess('alice');
      assert.deepEqual(await stores.authFailures.checkUsername('alice'), { allowed: true });
    });

    test('logins are counted before their password is checked: concurrent ones never exceed the limit', async () => {
      const stores = await factory();
      const f = stores.authFailures;
      const gates = await Promise.all(Array.from({ length: 10 }, () => f.beginLogin('ip')));
      assert.equal(gates.filter((g) => g.allowed).length, 3, 'three admitted, the rest wait');
      for (const g of gates) if (!g.allowed) assert.ok(g.retryAfterSeconds >= 1);
      assert.deepEqual(await f.beginLogin('other-ip'), { allowed: true }, 'per IP');
      assert.equal(await f.endLogin('ip', 'alice', 'succeeded'), false);
      assert.equal(await f.endLogin('ip', 'alice', 'abandoned'), false);
      assert.equal(
        (await f.beginLogin('ip')).allowed,
        true,
        'a success or an abandoned login gives its place back',
      );
      assert.equal((await f.beginLogin('ip')).allowed, true);
      assert.equal((await f.beginLogin('ip')).allowed, false);
      assert.equal(await f.endLogin('ip', 'alice', 'failed'), false);
      assert.equal(await f.endLogin('ip', 'alice', 'failed'), false);
      assert.equal(await f.endLogin('ip', 'alice', 'failed'), true, 'the third failure blocks');
      const gate = await f.beginLogin('ip');
      assert.equal(gate.allowed, false);
      if (!gate.allowed) assert.ok(gate.retryAfterSeconds > 1, 'blocked: the block’s own wait');
      assert.equal((await f.checkIp('ip')).allowed, false);
    });
  });
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
