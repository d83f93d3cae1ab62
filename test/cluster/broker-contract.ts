import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Broker, MemberInfo, RoomEvent } from '../../src/signaling/broker.js';
import type { RoomId } from '../../src/signaling/room-id.js';

const member = (peerId: string, username: string | null = null): MemberInfo => ({
  peerId,
  username,
  joinedAt: 1_700_000_000_000,
});

/**
 * The contract every Broker implementation must keep; run it with a factory per implementation.
 * Room ids are unique per run so implementations backed by shared state (Redis) do not collide.
 */
export function describeBroker(name: string, factory: () => Promise<Broker>): void {
  describe(`Broker contract: ${name}`, () => {
    let broker: Broker;
    const prefix = `contract-${process.pid}-${Date.now()}`;
    let n = 0;
    const newRoom = () => {
      n += 1;
      return `${prefix}-${n}` as RoomId;
    };

    before(async () => {
      broker = await factory();
    });
    after(async () => {
      await broker.close();
    });

    test('join creates the room and returns every member including the new one', async () => {
      const room = newRoom();
      const first = await broker.join(room, member('a', 'alice'), 3);
      assert.equal(first.ok, true);
      const second = await broker.join(room, member('b'), 3);
      assert.ok(second.ok);
      assert.deepEqual(second.room.members.map((m) => m.peerId).sort(), ['a', 'b']);
      assert.equal(second.room.members.find((m) => m.peerId === 'a')?.username, 'alice');
      const snapshot = await broker.room(room);
      assert.equal(snapshot?.members.length, 2);
    });

    test('refuses a join past maxPeers atomically, even when joins race', async () => {
      const room = newRoom();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => broker.join(room, member(`p${i}`), 4)),
      );
      assert.equal(results.filter((r) => r.ok).length, 4);
      assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'room_full'));
      assert.equal((await broker.room(room))?.members.length, 4);
    });

    test('refuses a peer id already in the room atomically, even when joins race, and frees it on leave', async () => {
      const room = newRoom();
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => broker.join(room, member('same', `user${i}`), 10)),
      );
      assert.equal(results.filter((r) => r.ok).length, 1);
      assert.ok(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'id_taken'));
      assert.equal((await broker.room(room))?.members.length, 1);
      assert.deepEqual(await broker.join(room, member('same'), 1), { ok: false, reason: 'id_taken' });
      await broker.leave(room, 'same');
      assert.equal((await broker.join(room, member('same'), 10)).ok, true);
    });

    test('leave reports whether the member was there and deletes an empty room', async () => {
      const room = newRoom();
      await broker.join(room, member('a'), 2);
      assert.equal(await broker.leave(room, 'a'), true);
      assert.equal(await broker.leave(room, 'a'), false);
      assert.equal(await broker.room(room), null);
      assert.ok(!(await broker.rooms()).some((r) => r.roomId === room));
    });

    test('rooms lists active rooms with peer counts and creation times', async () => {
      const room = newRoom();
      await broker.join(room, member('a'), 5);
      await broker.join(room, member('b'), 5);
      const listed = (await broker.rooms()).find((r) => r.roomId === room);
      assert.equal(listed?.peerCount, 2);
      assert.equal(typeof listed?.createdAt, 'number');
      assert.equal(await broker.roomCount(), (await broker.rooms()).length);
    });

    test('delivers published events to every subscriber in publish order, and stops after unsubscribe', async () => {
      const room = newRoom();
      const one: RoomEvent[] = [];
      const two: RoomEvent[] = [];
      const stopOne = await broker.subscribe(room, (e) => one.push(e));
      const stopTwo = await broker.subscribe(room, (e) => two.push(e));
      for (let i = 0; i < 50; i += 1)
        await broker.publish(room, { kind: 'relay', from: 'a', payload: String(i) });
      await waitFor(() => one.length === 50 && two.length === 50);
      assert.deepEqual(
        one.map((e) => (e.kind === 'relay' ? e.payload : '')),
        Array.from({ length: 50 }, (_, i) => String(i)),
      );
      await stopOne();
      await broker.publish(room, { kind: 'left', peerId: 'x' });
      await waitFor(() => two.length === 51);
      assert.equal(one.length, 50);
      await stopTwo();
    });

    test('does not deliver one room’s events to another room’s subscribers', async () => {
      const roomA = newRoom();
      const roomB = newRoom();
      const got: RoomEvent[] = [];
      const stop = await broker.subscribe(roomB, (e) => got.push(e));
      const sentinel: RoomEvent[] = [];
      const stopA = await broker.subscribe(roomA, (e) => sentinel.push(e));
      await broker.publish(roomA, { kind: 'joined', member: member('z') });
      await waitFor(() => sentinel.length === 1);
      assert.equal(got.length, 0);
      await stop();
      await stopA();
    });

    test('is healthy while open', async () => {
      assert.equal(await broker.isHealthy(), true);
    });
  });
}

async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
