import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { AuthFailureTracker } from '../../src/security/auth-failure-tracker.js';
import { AuthGuard, MAX_LOGIN_DELAY_SECONDS } from '../../src/security/auth-guard.js';
import { SecurityEvents } from '../../src/security/security-events.js';

function setup(maxFailures = 2) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const events = new SecurityEvents(log);
  const clock = { now: 1_000_000 };
  const store = new AuthFailureTracker({
    maxFailures,
    windowSeconds: 60,
    blockSeconds: 30,
    maxEntries: 100,
    now: () => clock.now,
  });
  return { guard: new AuthGuard(store, events), events, lines, clock };
}

const client = { ip: '203.0.113.9', key: '203.0.113.9' };

describe('AuthGuard', () => {
  test('an address is blocked at the limit: blockedFor gives the wait and logs ip_blocked once per refusal', async () => {
    const { guard, events, lines } = setup(2);
    assert.equal(await guard.blockedFor(client, 'login'), null);
    await guard.recordFailure(client, { reason: 'http: invalid token' });
    assert.equal(events.counts().get('ip_blocked'), undefined);
    await guard.recordFailure(client, { reason: 'http: invalid token', room: 'r1' });
    assert.equal(events.counts().get('auth_failed'), 2);
    assert.equal(events.counts().get('ip_blocked'), 1, 'the blocking failure says so');
    assert.equal(await guard.blockedFor(client, 'upgrade refused while blocked'), 30);
    assert.equal(events.counts().get('ip_blocked'), 2);
    const refusal = lines.at(-1);
    assert.equal(refusal?.security_event, 'ip_blocked');
    assert.equal(refusal?.reason, 'upgrade refused while blocked');
    assert.equal(lines.find((l) => l.room === 'r1')?.security_event, 'auth_failed');
  });

  test('a block expires by itself', async () => {
    const { guard, clock } = setup(1);
    await guard.recordFailure(client, { reason: 'websocket: invalid token' });
    assert.equal(await guard.blockedFor(client, 'login'), 30);
    clock.now += 30_001;
    assert.equal(await guard.blockedFor(client, 'login'), null);
  });

  test('login failures from any address delay the username (never refuse it); a success clears it', async () => {
    const { guard, events } = setup(2);
    const other = { ip: '198.51.100.1', key: '198.51.100.1' };
    for (const from of [client, other]) {
      assert.equal(await guard.beginLogin(from), null);
      await guard.endLogin(from, 'alice', 'failed');
    }
    const delay = await guard.loginDelaySeconds(other, 'alice');
    assert.ok(delay > 0 && delay <= MAX_LOGIN_DELAY_SECONDS, `delayed ${delay} s`);
    assert.equal(events.counts().get('auth_failed'), 3, 'the delayed attempt is an event too');
    const third = { ip: '198.51.100.3', key: '198.51.100.3' };
    assert.equal(await guard.beginLogin(third), null, 'a fresh address is admitted');
    await guard.endLogin(third, 'alice', 'succeeded');
    assert.equal(await guard.loginDelaySeconds(other, 'alice'), 0);
  });

  test('a login is counted before its password is checked: the address is refused while attempts are in flight', async () => {
    const { guard } = setup(2);
    assert.equal(await guard.beginLogin(client), null);
    assert.equal(await guard.beginLogin(client), null);
    assert.equal(await guard.beginLogin(client), 1, 'two in flight reach the limit of two');
    await guard.endLogin(client, 'alice', 'succeeded');
    assert.equal(await guard.beginLogin(client), null, 'a success gives its place back');
  });

  test('token failures count against the address only, never a username', async () => {
    const { guard } = setup(2);
    await guard.recordFailure(client, { reason: 'http: invalid token', user: 'mallory' });
    await guard.recordFailure({ ip: '198.51.100.2', key: '198.51.100.2' }, { reason: 'x', user: 'mallory' });
    assert.equal(await guard.loginDelaySeconds(client, 'mallory'), 0);
  });
});
