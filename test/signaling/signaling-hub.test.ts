import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBroker } from '../../src/cluster/memory-broker.js';
import type { Broker } from '../../src/signaling/broker.js';
import type { ClientMessage } from '../../src/signaling/protocol.js';
import type { RoomId } from '../../src/signaling/room-id.js';
import { SignalingHub } from '../../src/signaling/signaling-hub.js';
import { FakePeer } from '../helpers/fake-peer.js';

const room = 'room-1' as RoomId;
const offer = (sdp: string, to?: string): ClientMessage => ({
  type: 'offer',
  offer: { type: 'offer', sdp },
  ...(to ? { to } : {}),
});

function makeHub(maxPeersPerRoom = 10, broker: Broker = new MemoryBroker(() => 1000)) {
  return { hub: new SignalingHub({ broker, maxPeersPerRoom, now: () => 1000 }), broker };
}

describe('SignalingHub', () => {
  test('sends joined with the peers already there and peer_joined with the username to the others', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a', 'alice');
    const b = new FakePeer('b', 'bob');
    assert.deepEqual(await hub.join(room, a), { ok: true });
    assert.deepEqual(a.sent, [{ type: 'joined', room_id: room, peer_id: 'a', peers: [], peer_info: [] }]);
    await hub.join(room, b);
    assert.deepEqual(b.sent, [
      {
        type: 'joined',
        room_id: room,
        peer_id: 'b',
        peers: ['a'],
        peer_info: [{ peer_id: 'a', username: 'alice' }],
      },
    ]);
    assert.deepEqual(a.ofType('peer_joined'), [{ type: 'peer_joined', peer_id: 'b', username: 'bob' }]);
    assert.equal(b.ofType('peer_joined').length, 0);
  });

  test('a peer whose join awaits its admission still learns of a member that joined meanwhile', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    let admit!: () => void;
    const held = new Promise<void>((resolve) => {
      admit = resolve;
    });
    let reachedAdmission!: () => void;
    const atAdmission = new Promise<void>((resolve) => {
      reachedAdmission = resolve;
    });
    const joiningA = hub.join(room, a, {
      admitted: async () => {
        reachedAdmission();
        await held;
      },
    });
    await atAdmission;
    // b joins completely (its joined event is delivered) while a is in the broker but not yet listed.
    assert.deepEqual(await hub.join(room, b), { ok: true });
    assert.deepEqual(b.ofType('joined')[0]?.peers, ['a']);
    admit();
    assert.deepEqual(await joiningA, { ok: true });
    const told = [
      ...((a.ofType('joined')[0]?.peers as string[] | undefined) ?? []),
      ...a.ofType('peer_joined').map((m) => m.peer_id),
    ];
    assert.deepEqual(told, ['b'], 'a is told of b exactly once');
  });

  test('omits username in peer_joined for anonymous peers, and lists them with a null username', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    await hub.join(room, a);
    const b = new FakePeer('b');
    await hub.join(room, b);
    assert.deepEqual(a.ofType('peer_joined'), [{ type: 'peer_joined', peer_id: 'b' }]);
    assert.deepEqual(b.ofType('joined')[0]?.peer_info, [{ peer_id: 'a', username: null }]);
  });

  test('relays to one peer with from set and to kept', async () => {
    const { hub } = makeHub();
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')];
    for (const p of [a, b, c]) await hub.join(room, p);
    hub.receive(room, a, offer('x', 'b'));
    assert.deepEqual(b.ofType('offer'), [
      { type: 'offer', offer: { type: 'offer', sdp: 'x' }, to: 'b', from: 'a' },
    ]);
    assert.equal(c.ofType('offer').length, 0);
    assert.equal(a.ofType('offer').length, 0);
  });

  test('broadcasts to every other peer and never back to the sender', async () => {
    const { hub } = makeHub();
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')];
    for (const p of [a, b, c]) await hub.join(room, p);
    hub.receive(room, a, { type: 'ice_candidate', candidate: null });
    assert.deepEqual(b.ofType('ice_candidate'), [{ type: 'ice_candidate', candidate: null, from: 'a' }]);
    assert.deepEqual(c.ofType('ice_candidate'), [{ type: 'ice_candidate', candidate: null, from: 'a' }]);
    assert.equal(a.ofType('ice_candidate').length, 0);
  });

  test('answers unknown_peer for a to outside the room or to oneself', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    await hub.join(room, a);
    hub.receive(room, a, offer('x', 'ghost'));
    hub.receive(room, a, offer('x', 'a'));
    assert.deepEqual(
      a.ofType('error').map((e) => e.code),
      ['unknown_peer', 'unknown_peer'],
    );
  });

  test('does not deliver across rooms', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    await hub.join(room, a);
    await hub.join('room-2' as RoomId, b);
    hub.receive(room, a, offer('x'));
    assert.deepEqual(
      b.sent.map((m) => m.type),
      ['joined'],
    );
  });

  test('keeps per-sender order', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    await hub.join(room, a);
    await hub.join(room, b);
    for (let i = 0; i < 200; i += 1) hub.receive(room, a, offer(String(i), 'b'));
    assert.deepEqual(
      b.ofType('offer').map((m) => (m.offer as { sdp: string }).sdp),
      Array.from({ length: 200 }, (_, i) => String(i)),
    );
  });

  test('answers ping with pong and echoes ts, without relaying it', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    await hub.join(room, a);
    await hub.join(room, b);
    hub.receive(room, a, { type: 'ping', ts: 42 });
    hub.receive(room, a, { type: 'ping' });
    assert.deepEqual(a.ofType('pong'), [{ type: 'pong', ts: 42 }, { type: 'pong' }]);
    assert.equal(b.ofType('pong').length, 0);
  });

  test('refuses a join past maxPeersPerRoom and sends nothing to anyone', async () => {
    const { hub } = makeHub(2);
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')];
    await hub.join(room, a);
    await hub.join(room, b);
    assert.deepEqual(await hub.join(room, c), { ok: false, reason: 'room_full' });
    assert.deepEqual(c.sent, []);
    assert.equal(a.ofType('peer_joined').length, 1);
  });

  test('tells the others peer_left, frees the slot and removes an empty room', async () => {
    const { hub, broker } = makeHub(2);
    const [a, b, c] = [new FakePeer('a'), new FakePeer('b'), new FakePeer('c')];
    await hub.join(room, a);
    await hub.join(room, b);
    await hub.leave(room, b);
    assert.deepEqual(a.ofType('peer_left'), [{ type: 'peer_left', peer_id: 'b' }]);
    assert.deepEqual(await hub.join(room, c), { ok: true });
    await hub.leave(room, a);
    await hub.leave(room, c);
    await hub.leave(room, c);
    assert.equal(await broker.room(room), null);
    assert.equal(hub.localRoomCount, 0);
    assert.equal(hub.localPeerCount, 0);
  });

  test('a peer that left gets nothing more and cannot relay', async () => {
    const { hub } = makeHub();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    await hub.join(room, a);
    await hub.join(room, b);
    await hub.leave(room, b);
    hub.receive(room, b, offer('late'));
    hub.receive(room, a, offer('after'));
    assert.equal(a.ofType('offer').length, 0);
    assert.equal(b.ofType('offer').length, 0);
  });

  test('reports a failing broker as unavailable instead of throwing', async () => {
    const failing = new MemoryBroker();
    failing.join = async () => {
      throw new Error('broker down');
    };
    const errors: string[] = [];
    const hub = new SignalingHub({
      broker: failing,
      maxPeersPerRoom: 4,
      now: () => 0,
      onBrokerError: (_e, ctx) => errors.push(ctx),
    });
    const a = new FakePeer('a');
    assert.deepEqual(await hub.join(room, a), { ok: false, reason: 'unavailable' });
    assert.deepEqual(errors, ['join']);
    assert.deepEqual(a.sent, []);
    assert.equal(hub.localRoomCount, 0);
  });

  test('delivers relays published by another hub on the same broker (one delivery path for a fleet)', async () => {
    const broker = new MemoryBroker();
    const one = new SignalingHub({ broker, maxPeersPerRoom: 4, now: () => 0 });
    const two = new SignalingHub({ broker, maxPeersPerRoom: 4, now: () => 0 });
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    await one.join(room, a);
    await two.join(room, b);
    assert.deepEqual(b.ofType('joined')[0]?.peers, ['a']);
    assert.equal(a.ofType('peer_joined')[0]?.peer_id, 'b');
    one.receive(room, a, offer('cross', 'b'));
    assert.equal(b.ofType('offer')[0]?.from, 'a');
    await two.leave(room, b);
    assert.deepEqual(a.ofType('peer_left'), [{ type: 'peer_left', peer_id: 'b' }]);
  });
});

describe('SignalingHub with a broker whose join reply races its events', () => {
  test('does not list a peer whose left event arrived before the join reply', async () => {
    const broker = new MemoryBroker();
    const hub = new SignalingHub({ broker, maxPeersPerRoom: 4, now: () => 0 });
    const other = new SignalingHub({ broker, maxPeersPerRoom: 4, now: () => 0 });
    const ghost = new FakePeer('ghost');
    await other.join(room, ghost);
    const realJoin = broker.join.bind(broker);
    // The reply is computed with ghost present, then ghost leaves before the reply is delivered.
    broker.join = async (...args) => {
      const outcome = await realJoin(...args);
      await other.leave(room, ghost);
      return outcome;
    };
    const a = new FakePeer('a');
    await hub.join(room, a);
    assert.deepEqual(a.ofType('joined')[0]?.peers, []);
    hub.receive(room, a, offer('x', 'ghost'));
    assert.equal(a.ofType('error')[0]?.code, 'unknown_peer');
  });
});

describe('SignalingHub.pauseJoins (a fleet repair)', () => {
  test('a repair during a join in flight waited for it: the member is held, never taken for stale', async () => {
    const broker = new MemoryBroker(() => 1000);
    let finishJoin!: () => void;
    const slowJoin = new Promise<void>((resolve) => {
      finishJoin = resolve;
    });
    const join = broker.join.bind(broker);
    let brokerJoins = 0;
    broker.join = async (...args) => {
      brokerJoins += 1;
      if (brokerJoins === 1) await slowJoin;
      return join(...args);
    };
    const { hub } = makeHub(10, broker);
    const joining = hub.join(room, new FakePeer('a'));
    await new Promise((resolve) => setImmediate(resolve));
    let paused = false;
    const pausing = hub.pauseJoins().then((release) => {
      paused = true;
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(paused, false, 'the repair waits for the join in flight');
    finishJoin();
    assert.deepEqual(await joining, { ok: true });
    const release = await pausing;
    assert.deepEqual(
      [...(hub.heldMembers().get(room) ?? [])].map((m) => m.peerId),
      ['a'],
      'the repair sees the joined member',
    );
    const later = hub.join(room, new FakePeer('b'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(brokerJoins, 1, 'a join that starts during the repair waits for it');
    release();
    assert.deepEqual(await later, { ok: true });
    assert.equal(brokerJoins, 2);
  });
});
