import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisBroker } from '../../src/cluster/redis-broker.js';
import type { RoomId } from '../../src/signaling/room-id.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { describeBroker } from './broker-contract.js';

const REDIS_URL = TEST_REDIS_URL;

const available = await redisReachable();
const prefix = () => `test:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2)}:`;

if (!available) {
  test('RedisBroker contract', (t) =>
    t.skip(`Redis not reachable at ${REDIS_URL}: start redis-server (bash .ci/run does)`));
} else {
  describeBroker('RedisBroker', () => RedisBroker.connect({ url: REDIS_URL, prefix: prefix() }));

  describe('RedisBroker across instances', () => {
    test('enforces the room cap across two instances and relays between them', async () => {
      const shared = prefix();
      const one = await RedisBroker.connect({ url: REDIS_URL, prefix: shared });
      const two = await RedisBroker.connect({ url: REDIS_URL, prefix: shared });
      try {
        const room = 'cap' as RoomId;
        const member = (peerId: string) => ({ peerId, username: null, joinedAt: 0 });
        const results = await Promise.all([
          one.join(room, member('a'), 3),
          two.join(room, member('b'), 3),
          one.join(room, member('c'), 3),
          two.join(room, member('d'), 3),
        ]);
        assert.equal(results.filter((r) => r.ok).length, 3);
        const got: string[] = [];
        const stop = await two.subscribe(room, (e) => got.push(e.kind));
        await one.publish(room, { kind: 'relay', from: 'a', payload: '{}' });
        const deadline = Date.now() + 2000;
        while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(got, ['relay']);
        await stop();
      } finally {
        await one.close();
        await two.close();
      }
    });

    test('relays published in one turn keep their order around presence and session markers, and fill a detached buffer in order', async () => {
      const shared = prefix();
      const limits = { maxMessages: 150, maxBytes: 1 << 20 };
      const one = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, sessionLimits: limits });
      const two = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, sessionLimits: limits });
      const room = 'burst' as RoomId;
      const member = (peerId: string) => ({ peerId, username: null, joinedAt: 0 });
      const text = (payload: string | Uint8Array) => Buffer.from(payload).toString();
      try {
        assert.equal((await one.join(room, member('a'), 5)).ok, true);
        // b is held by the publishing instance too: its own instance orders its commands.
        assert.equal((await one.join(room, member('b'), 5)).ok, true);
        await one.sessions.open(room, { member: member('b'), tokenHash: 'h' });
        const seen: string[] = [];
        const stop = await two.subscribe(room, (e) =>
          seen.push(e.kind === 'relay' ? text(e.payload) : e.kind === 'session' ? e.phase : e.kind),
        );
        // More relays than one script call carries, all in one turn, with presence in between.
        const sent: Promise<void>[] = [];
        for (let i = 0; i < 70; i += 1)
          sent.push(one.publish(room, { kind: 'relay', from: 'a', payload: `m${i}` }));
        sent.push(one.publish(room, { kind: 'left', peerId: 'x' }));
        for (let i = 70; i < 100; i += 1)
          sent.push(one.publish(room, { kind: 'relay', from: 'a', to: 'b', payload: `m${i}` }));
        // b's connection drops within the same turn: relays queued before it stay before its marker.
        const detached = one.sessions.detach(room, 'b', 'e1', Date.now() + 60_000);
        for (let i = 100; i < 130; i += 1)
          sent.push(one.publish(room, { kind: 'relay', from: 'a', payload: `m${i}` }));
        await Promise.all(sent);
        assert.equal(await detached, true);
        const deadline = Date.now() + 5000;
        while (seen.length < 132 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        const relays = (from: number, to: number) =>
          Array.from({ length: to - from }, (_, i) => `m${from + i}`);
        assert.deepEqual(seen, [
          ...relays(0, 70),
          'left',
          ...relays(70, 100),
          'detached',
          ...relays(100, 130),
        ]);
        await one.sessions.seal(room, 'b', [], 0);
        const claim = await two.sessions.claim(room, 'b', {
          tokenHash: 'h',
          nextTokenHash: 'h2',
          username: null,
          force: false,
        });
        assert.equal(claim.ok, true);
        if (claim.ok)
          assert.deepEqual(claim.away.map(text), relays(100, 130), 'buffered once each, in order');
        await stop();
      } finally {
        await one.close();
        await two.close();
      }
    });

    test('a burst that overflows a detached buffer mid-call ends the session once, as overflowed', async () => {
      const shared = prefix();
      const limits = { maxMessages: 10, maxBytes: 1 << 20 };
      const one = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, sessionLimits: limits });
      const room = 'overflow' as RoomId;
      const member = (peerId: string) => ({ peerId, username: null, joinedAt: 0 });
      try {
        await one.join(room, member('a'), 5);
        await one.join(room, member('b'), 5);
        await one.sessions.open(room, { member: member('b'), tokenHash: 'h' });
        assert.equal(await one.sessions.detach(room, 'b', 'e1', Date.now() + 60_000), true);
        const sent: Promise<void>[] = [];
        for (let i = 0; i < 40; i += 1)
          sent.push(one.publish(room, { kind: 'relay', from: 'a', payload: `m${i}` }));
        await Promise.all(sent);
        const ended = await one.sessions.sweep(Date.now());
        assert.deepEqual(
          ended.map((e) => [e.peerId, e.reason]),
          [['b', 'resume_overflow']],
        );
      } finally {
        await one.close();
      }
    });

    test('reaps the members of an instance that stopped heart-beating and announces them as left', async () => {
      const shared = prefix();
      const crashed = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, heartbeatMs: 60_000 });
      const survivor = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, heartbeatMs: 60_000 });
      const room = 'reap' as RoomId;
      try {
        await crashed.join(room, { peerId: 'ghost', username: null, joinedAt: 0 }, 5);
        await survivor.join(room, { peerId: 'alive', username: null, joinedAt: 0 }, 5);
        const events: string[] = [];
        const stop = await survivor.subscribe(room, (e) => {
          if (e.kind === 'left') events.push(e.peerId);
        });
        // Simulate the crash: the instance's deadline passes without a clean leave.
        const admin = new Redis(REDIS_URL);
        await admin.zadd(`${shared}instances`, 0, crashed.instanceId);
        admin.disconnect();
        await survivor.registry.tick();
        const deadline = Date.now() + 2000;
        while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(events, ['ghost']);
        assert.deepEqual(
          (await survivor.room(room))?.members.map((m) => m.peerId),
          ['alive'],
        );
        await stop();
      } finally {
        await crashed.close();
        await survivor.close();
      }
    });

    test('an instance taken for dead while alive puts its members back on its next beat and announces them', async () => {
      const shared = prefix();
      const cutOff = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, heartbeatMs: 60_000 });
      const survivor = await RedisBroker.connect({ url: REDIS_URL, prefix: shared, heartbeatMs: 60_000 });
      const room = 'rejoin' as RoomId;
      const held = { peerId: 'still-here', username: null, joinedAt: 1 };
      cutOff.bindLocalMembership({
        heldMembers: () => new Map([[room, [held]]]),
        resync: async () => {},
        pauseJoins: async () => () => {},
      });
      try {
        await cutOff.join(room, held, 5);
        const events: string[] = [];
        const stop = await survivor.subscribe(room, (e) => events.push(e.kind));
        const admin = new Redis(REDIS_URL);
        await admin.zadd(`${shared}instances`, 0, cutOff.instanceId);
        admin.disconnect();
        await survivor.registry.tick();
        assert.equal(await survivor.room(room), null);
        await cutOff.registry.tick();
        assert.deepEqual(
          (await survivor.room(room))?.members.map((m) => m.peerId),
          ['still-here'],
        );
        const deadline = Date.now() + 2000;
        while (events.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        assert.deepEqual(events, ['left', 'joined']);
        await stop();
      } finally {
        await cutOff.close();
        await survivor.close();
      }
    });
  });
}
