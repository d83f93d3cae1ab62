import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBroker } from '../../src/cluster/memory-broker.js';
import { dialectRoomId } from '../../src/signaling/dialect-rooms.js';
import { parseRoomId } from '../../src/signaling/room-id.js';
import { SignalingHub } from '../../src/signaling/signaling-hub.js';
import { FakePeer } from '../helpers/fake-peer.js';

const room = dialectRoomId('peerjs', 'app');

function fleetOfTwo() {
  const broker = new MemoryBroker();
  return [
    new SignalingHub({ broker, maxPeersPerRoom: 2, now: () => 0 }),
    new SignalingHub({ broker, maxPeersPerRoom: 2, now: () => 0 }),
  ] as const;
}

describe('SignalingHub for other dialects', () => {
  test('refuses a peer id that is already a member on any hub of the fleet', async () => {
    const [one, two] = fleetOfTwo();
    assert.deepEqual(await one.join(room, new FakePeer('alice')), { ok: true });
    assert.deepEqual(await two.join(room, new FakePeer('alice')), { ok: false, reason: 'id_taken' });
    assert.equal(two.localPeerCount, 0);
  });

  test('a per-join maxPeers replaces MAX_CONNECTIONS_PER_ROOM', async () => {
    const [one] = fleetOfTwo();
    for (const id of ['a', 'b', 'c'])
      assert.deepEqual(await one.join(room, new FakePeer(id), { maxPeers: 3 }), { ok: true });
    assert.deepEqual(await one.join(room, new FakePeer('d'), { maxPeers: 3 }), {
      ok: false,
      reason: 'room_full',
    });
  });

  test('relayEncoded carries a dialect’s own frame as is, to one peer or to all but `from`, across hubs', async () => {
    const [one, two] = fleetOfTwo();
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    await one.join(room, a);
    await two.join(room, b);
    one.relayEncoded(room, 'a', '{"type":"OFFER","src":"a","dst":"b"}', 'b');
    assert.deepEqual(b.ofType('OFFER'), [{ type: 'OFFER', src: 'a', dst: 'b' }]);
    one.relayEncoded(room, 'a', '{"type":"publish"}');
    assert.equal(a.ofType('publish').length, 0, 'not to from');
    assert.equal(b.ofType('publish').length, 1);
    two.relayEncoded(room, 'not-a-member', '{"type":"publish"}');
    assert.equal(a.ofType('publish').length, 1, 'a from that is no member reaches everyone');
    assert.equal(b.ofType('publish').length, 2);
  });

  test('hasMember and memberCount see the members of every hub', async () => {
    const [one, two] = fleetOfTwo();
    await one.join(room, new FakePeer('a'));
    const b = new FakePeer('b');
    await two.join(room, b);
    assert.equal(one.hasMember(room, 'b'), true);
    assert.equal(one.memberCount(room), 2);
    await two.leave(room, b);
    assert.equal(one.hasMember(room, 'b'), false);
    assert.equal(one.memberCount(room), 1);
    assert.equal(one.memberCount(dialectRoomId('y-webrtc', 'nobody here')), 0);
  });

  test('native clients can never name a dialect’s room', () => {
    assert.equal(parseRoomId(dialectRoomId('peerjs', 'app')), null);
    assert.equal(parseRoomId(dialectRoomId('y-webrtc', 'doc')), null);
  });
});
