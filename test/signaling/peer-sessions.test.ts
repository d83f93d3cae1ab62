import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBroker } from '../../src/cluster/memory-broker.js';
import type { Peer } from '../../src/signaling/peer.js';
import { PeerSessions } from '../../src/signaling/peer-sessions.js';
import type { ClientMessage } from '../../src/signaling/protocol.js';
import { RelayArena } from '../../src/signaling/relay-arena.js';
import type { RoomId } from '../../src/signaling/room-id.js';
import { SignalingHub } from '../../src/signaling/signaling-hub.js';
import { FakePeer } from '../helpers/fake-peer.js';

const room = 'core-room' as RoomId;
const candidate = (n: number, to: string): ClientMessage => ({
  type: 'ice_candidate',
  candidate: { candidate: String(n) },
  to,
});

function setup(graceMs = 30_000, arena?: RelayArena) {
  let clock = 1_000_000;
  let ids = 0;
  const broker = new MemoryBroker(() => clock, { maxMessages: 3, maxBytes: 10_000 });
  const hub = new SignalingHub({ broker, maxPeersPerRoom: 2, now: () => clock });
  const sessions = new PeerSessions({
    hub,
    broker,
    graceMs,
    ...(arena ? { arena } : {}),
    now: () => clock,
    randomId: () => {
      ids += 1;
      return `id${ids}`;
    },
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
  });
  const open = async (sink: FakePeer | null, resume?: { token: string; lastSeq: number }) => {
    const made: FakePeer[] = [];
    const result = await sessions.open(
      room,
      null,
      (id) => {
        made.push(sink ?? new FakePeer(id));
        return made[0]!;
      },
      resume,
    );
    assert.ok(result.ok);
    return { peer: result.peer, sink: made[0]! };
  };
  const advance = (ms: number) => {
    clock += ms;
  };
  return { hub, sessions, open, advance };
}

describe('PeerSessions (core, fake peers)', () => {
  test('a dropped peer is kept, buffered for and resumed under its id; the other hears nothing', async () => {
    const { hub, sessions, open } = setup();
    const alice = await open(null);
    const bob = await open(null);
    const token = bob.sink.ofType('joined')[0]?.resume_token as string;
    hub.receive(room, alice.peer, candidate(1, bob.peer.id));
    assert.equal(bob.sink.ofType('ice_candidate')[0]?.seq, 1);
    sessions.closed(room, bob.peer as never, 1006);
    await sessions.quiesce(1000);
    assert.equal(hub.localPeerCount, 1);
    hub.receive(room, alice.peer, candidate(2, bob.peer.id));
    const back = await open(null, { token, lastSeq: 1 });
    const joined = back.sink.ofType('joined')[0];
    assert.deepEqual([joined?.peer_id, joined?.resumed, joined?.recovered], [bob.peer.id, true, true]);
    assert.deepEqual(
      back.sink.ofType('ice_candidate').map((m) => [m.seq, (m.candidate as { candidate: string }).candidate]),
      [[2, '2']],
    );
    assert.deepEqual(
      alice.sink.sent.filter((m) => m.type === 'peer_left').map((m) => m.peer_id),
      [],
    );
  });

  test('the sweep ends a session whose grace passed: peer_left once, then resume_expired', async () => {
    const { sessions, open, advance } = setup(5000);
    const alice = await open(null);
    const bob = await open(null);
    const token = bob.sink.ofType('joined')[0]?.resume_token as string;
    sessions.closed(room, bob.peer as never, 1006);
    await sessions.quiesce(1000);
    assert.deepEqual(await sessions.sweep(), []);
    advance(5000);
    assert.deepEqual(await sessions.sweep(), [
      { roomId: room, peerId: bob.peer.id, reason: 'resume_expired' },
    ]);
    assert.deepEqual(alice.sink.ofType('peer_left'), [{ type: 'peer_left', peer_id: bob.peer.id }]);
    const late = await open(null, { token, lastSeq: 0 });
    assert.equal(late.sink.ofType('joined')[0]?.resume_refused, 'resume_expired');
  });

  test('delivered relays the shared arena overwrote are a gap: recovered false, the kept ones follow', async () => {
    // Each relayed candidate is ~75 bytes: a 200-byte ring keeps the last two delivered.
    const { hub, sessions, open } = setup(30_000, new RelayArena(200));
    const alice = await open(null);
    const bob = await open(null);
    const token = bob.sink.ofType('joined')[0]?.resume_token as string;
    for (let n = 1; n <= 3; n++) hub.receive(room, alice.peer, candidate(n, bob.peer.id));
    sessions.closed(room, bob.peer as never, 1006);
    await sessions.quiesce(1000);
    const back = await open(null, { token, lastSeq: 0 });
    const joined = back.sink.ofType('joined')[0];
    assert.deepEqual([joined?.resumed, joined?.recovered], [true, false]);
    assert.deepEqual(
      back.sink.ofType('ice_candidate').map((m) => [m.seq, (m.candidate as { candidate: string }).candidate]),
      [
        [2, '2'],
        [3, '3'],
      ],
    );
  });

  test('a client that got all but the overwritten ones recovers fully', async () => {
    const { hub, sessions, open } = setup(30_000, new RelayArena(200));
    const alice = await open(null);
    const bob = await open(null);
    const token = bob.sink.ofType('joined')[0]?.resume_token as string;
    for (let n = 1; n <= 3; n++) hub.receive(room, alice.peer, candidate(n, bob.peer.id));
    sessions.closed(room, bob.peer as never, 1006);
    await sessions.quiesce(1000);
    const back = await open(null, { token, lastSeq: 2 });
    assert.equal(back.sink.ofType('joined')[0]?.recovered, true);
    assert.deepEqual(
      back.sink.ofType('ice_candidate').map((m) => m.seq),
      [3],
    );
  });

  test('with resume off the connection itself is the peer: no seq, no token, peer_left at once', async () => {
    const { hub, open } = setup(0);
    const alice = await open(null);
    const bob = await open(null);
    assert.equal(bob.sink.ofType('joined')[0]?.resume_token, undefined);
    hub.receive(room, alice.peer, candidate(1, bob.peer.id));
    assert.equal(bob.sink.ofType('ice_candidate')[0]?.seq, undefined);
    assert.equal(bob.peer instanceof FakePeer, true);
    await hub.leave(room, bob.peer as Peer);
    assert.equal(alice.sink.ofType('peer_left').length, 1);
  });
});
