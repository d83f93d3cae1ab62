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
        // A shared broker hands the frame over as the bytes it received, an in-process one as given.
        one.map((e) => (e.kind === 'relay' ? Buffer.from(e.payload).toString() : '')),
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

    test('reports each room start and finish once, even when joins and leaves race', async () => {
      const started: string[] = [];
      const finished: string[] = [];
      broker.observeRooms({
        roomStarted: (roomId) => started.push(roomId),
        roomFinished: (roomId) => finished.push(roomId),
        memberReaped: () => {},
      });
      const room = newRoom();
      await Promise.all(Array.from({ length: 6 }, (_, i) => broker.join(room, member(`r${i}`), 10)));
      await Promise.all(Array.from({ length: 6 }, (_, i) => broker.leave(room, `r${i}`)));
      await broker.leave(room, 'r0');
      assert.deepEqual(started, [room]);
      assert.deepEqual(finished, [room]);
    });

    test('a room keeps the lower cap it was created with, and its metadata until it finishes', async () => {
      const room = newRoom();
      await broker.setMetadata(room, 'before the start');
      const first = await broker.join(room, member('a'), 10, { createMaxPeers: 2 });
      assert.ok(first.ok);
      assert.equal(first.room.maxPeers, 2);
      assert.equal(first.room.metadata, 'before the start');
      await broker.setMetadata(room, 'changed');
      assert.equal((await broker.join(room, member('b'), 10, { createMaxPeers: 9 })).ok, true);
      const third = await broker.join(room, member('c'), 10);
      assert.ok(!third.ok && third.reason === 'room_full');
      assert.equal((await broker.room(room))?.metadata, 'changed');
      await broker.leave(room, 'a');
      await broker.leave(room, 'b');
      const again = await broker.join(room, member('d'), 10);
      assert.ok(again.ok);
      assert.equal(again.room.metadata, undefined);
      assert.equal(again.room.maxPeers, undefined);
    });

    test('denied token ids are refused until they expire', async () => {
      const jti = `${prefix}-jti`;
      assert.equal(await broker.isTokenDenied(jti), false);
      await broker.denyToken(jti, Date.now() + 60_000);
      assert.equal(await broker.isTokenDenied(jti), true);
      await broker.denyToken(`${jti}-old`, Date.now() - 1000);
      assert.equal(await broker.isTokenDenied(`${jti}-old`), false);
    });

    test('carries kick, close and server events like any other', async () => {
      const room = newRoom();
      const got: RoomEvent[] = [];
      const stop = await broker.subscribe(room, (e) => got.push(e));
      const sent: RoomEvent[] = [
        { kind: 'kick', peerId: 'p', reason: 'bye' },
        { kind: 'server', to: 'p', payload: { n: [1, 'x'] } },
        { kind: 'close', reason: 'done' },
      ];
      for (const event of sent) await broker.publish(room, event);
      await waitFor(() => got.length === 3);
      assert.deepEqual(got, sent);
      await stop();
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
