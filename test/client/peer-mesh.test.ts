import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PeerMesh } from '../../client/src/peer-mesh.js';
import { SignalingClient } from '../../client/src/signaling-client.js';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { FakePeerConnection } from '../helpers/fake-peer-connection.js';
import { FakeServer } from '../helpers/fake-transport.js';

async function joinedMesh(selfId: string, peers: string[]) {
  const server = new FakeServer();
  const clock = new FakeClock();
  const client = new SignalingClient({
    url: 'http://signaling.test',
    room: 'room',
    transport: server.transport,
    clock,
    heartbeatIntervalMs: 0,
  });
  const connections: FakePeerConnection[] = [];
  const mesh = new PeerMesh(client, {
    clock,
    offerWaitMs: 3000,
    rtcConfiguration: { iceServers: [] },
    createPeerConnection: (configuration) => {
      const pc = new FakePeerConnection(`pc${connections.length}`, configuration);
      connections.push(pc);
      return pc;
    },
  });
  const events: string[] = [];
  mesh.on('peer_added', (event) =>
    events.push(`added ${event.peerId} ${event.polite ? 'polite' : 'impolite'}`),
  );
  mesh.on('peer_removed', (event) => events.push(`removed ${event.peerId}`));
  client.connect();
  await flush();
  server.last.join(selfId, peers);
  return { server, clock, client, mesh, connections, events };
}

describe('PeerMesh', () => {
  test('opens one connection per peer already in the room; the smaller id is the polite one', async () => {
    const { connections, events, mesh } = await joinedMesh('m', ['a', 'z']);
    assert.equal(connections.length, 2);
    assert.deepEqual(events, ['added a impolite', 'added z polite']);
    assert.deepEqual(mesh.peerIds, ['a', 'z']);
    assert.deepEqual(connections[0]?.configuration, { iceServers: [] });
    assert.deepEqual(
      connections.map((pc) => pc.channels.map((channel) => channel.label)),
      [['chat'], ['chat']],
    );
  });

  test('addresses each offer and candidate to the peer its connection belongs to', async () => {
    const { server, connections } = await joinedMesh('m', ['a', 'z']);
    const [toA, toZ] = connections;
    toZ!.needNegotiation();
    toA!.needNegotiation();
    await flush();
    toA!.gather({ candidate: 'candidate:a', sdpMid: '0', sdpMLineIndex: 0 });
    toZ!.gather(null);
    assert.deepEqual(server.last.sent, [
      { type: 'offer', offer: { type: 'offer', sdp: 'offer pc1 1' }, to: 'z' },
      { type: 'offer', offer: { type: 'offer', sdp: 'offer pc0 1' }, to: 'a' },
      {
        type: 'ice_candidate',
        candidate: { candidate: 'candidate:a', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: null },
        to: 'a',
      },
      { type: 'ice_candidate', candidate: null, to: 'z' },
    ]);
  });

  test('routes offers, answers and candidates to the connection of their sender and answers it', async () => {
    const { server, connections } = await joinedMesh('m', ['a', 'z']);
    const [toA, toZ] = connections;
    server.last.receive({ type: 'offer', offer: { type: 'offer', sdp: 'from a' }, to: 'm', from: 'a' });
    await flush();
    server.last.receive({ type: 'ice_candidate', candidate: null, to: 'm', from: 'a' });
    await flush();
    assert.deepEqual(toA!.log, ['remote offer: from a', 'local answer']);
    assert.deepEqual(toA!.candidates, [null]);
    assert.deepEqual(toZ!.log, []);
    assert.deepEqual(server.last.sent, [
      { type: 'answer', answer: { type: 'answer', sdp: 'answer pc0 1' }, to: 'a' },
    ]);

    toZ!.needNegotiation();
    await flush();
    server.last.receive({ type: 'answer', answer: { type: 'answer', sdp: 'from z' }, to: 'm', from: 'z' });
    await flush();
    assert.deepEqual(toZ!.log, ['local offer', 'remote answer: from z']);
    assert.equal(toZ!.signalingState, 'stable');
  });

  test('ignores relayed messages addressed to another peer', async () => {
    const { server, connections } = await joinedMesh('m', ['a']);
    server.last.receive({ type: 'offer', offer: { type: 'offer', sdp: 'x' }, to: 'someone-else', from: 'a' });
    await flush();
    assert.deepEqual(connections[0]!.log, []);
  });

  test('waits for the offer of a peer that joins later instead of offering too', async () => {
    const { server, connections, events, mesh } = await joinedMesh('m', []);
    server.last.receive({ type: 'peer_joined', peer_id: 'b' });
    assert.deepEqual(events, ['added b impolite']);
    assert.equal(connections.length, 0, 'no connection, so no colliding offer');
    assert.equal(mesh.peerConnection('b'), null);
    server.last.receive({ type: 'offer', offer: { type: 'offer', sdp: 'from b' }, to: 'm', from: 'b' });
    await flush();
    assert.equal(connections.length, 1);
    assert.deepEqual(connections[0]!.log, ['remote offer: from b', 'local answer']);
    assert.deepEqual(server.last.sent, [
      { type: 'answer', answer: { type: 'answer', sdp: 'answer pc0 1' }, to: 'b' },
    ]);
  });

  test('offers itself when a peer that joined later has not offered within offerWaitMs', async () => {
    const { server, clock, connections } = await joinedMesh('m', []);
    server.last.receive({ type: 'peer_joined', peer_id: 'b' });
    await clock.advance(2999);
    assert.equal(connections.length, 0);
    await clock.advance(1);
    assert.equal(connections.length, 1);
    connections[0]!.needNegotiation();
    await flush();
    assert.deepEqual(server.last.sent, [
      { type: 'offer', offer: { type: 'offer', sdp: 'offer pc0 1' }, to: 'b' },
    ]);
  });

  test('creates the connection for an offer that overtakes its peer_joined', async () => {
    const { server, clock, connections, events } = await joinedMesh('m', []);
    server.last.receive({ type: 'offer', offer: { type: 'offer', sdp: 'from c' }, to: 'm', from: 'c' });
    server.last.receive({ type: 'peer_joined', peer_id: 'c' });
    await clock.advance(10_000);
    assert.equal(connections.length, 1);
    assert.deepEqual(events, ['added c impolite']);
    assert.deepEqual(connections[0]!.log, ['remote offer: from c', 'local answer']);
  });

  test('a peer that leaves before offering is forgotten without a connection', async () => {
    const { server, clock, connections, events } = await joinedMesh('m', []);
    server.last.receive({ type: 'peer_joined', peer_id: 'b' });
    server.last.receive({ type: 'peer_left', peer_id: 'b' });
    await clock.advance(10_000);
    assert.equal(connections.length, 0);
    assert.deepEqual(events, ['added b impolite', 'removed b']);
  });

  test('closes the connection of a peer that leaves', async () => {
    const { server, connections, events, mesh } = await joinedMesh('m', ['a', 'z']);
    server.last.receive({ type: 'peer_left', peer_id: 'a' });
    assert.equal(connections[0]!.closed, true);
    assert.equal(connections[0]!.channels[0]!.readyState, 'closed');
    assert.equal(connections[1]!.closed, false);
    assert.deepEqual(mesh.peerIds, ['z']);
    assert.equal(events.at(-1), 'removed a');
  });

  test('a rejoin after a reconnect replaces every connection', async () => {
    const { server, clock, connections, mesh } = await joinedMesh('m', ['a']);
    server.last.serverClose(1001);
    assert.equal(connections[0]!.closed, false, 'a brief signaling outage does not cut the call yet');
    await clock.advance(60_000);
    assert.equal(server.connections.length, 2);
    server.last.join('m2', ['a']);
    assert.equal(connections[0]!.closed, true);
    assert.equal(connections.length, 2);
    assert.deepEqual(mesh.peerIds, ['a']);
  });

  test('a final close or close() closes every connection', async () => {
    const first = await joinedMesh('m', ['a']);
    first.server.last.serverClose(4403);
    assert.equal(first.connections[0]!.closed, true);

    const second = await joinedMesh('m', ['a']);
    second.mesh.close();
    assert.equal(second.connections[0]!.closed, true);
    second.server.last.receive({ type: 'peer_joined', peer_id: 'b' });
    assert.equal(second.connections.length, 1);
  });

  test('sends and receives data-channel messages per peer and restarts ICE when a connection fails', async () => {
    const { connections, mesh } = await joinedMesh('m', ['a', 'z']);
    const received: string[] = [];
    mesh.on('data', (event) => received.push(`${event.peerId}: ${String(event.data)}`));
    const states: string[] = [];
    mesh.on('connection_state', (event) => states.push(`${event.peerId} ${event.state}`));
    assert.equal(mesh.send('a', 'too early'), false);
    connections[0]!.channels[0]!.openNow();
    assert.equal(mesh.broadcast('hello'), 1);
    assert.deepEqual(connections[0]!.channels[0]!.sent, ['hello']);
    connections[0]!.channels[0]!.onmessage?.({ data: 'hi back' });
    assert.deepEqual(received, ['a: hi back']);
    connections[1]!.setConnectionState('failed');
    assert.deepEqual(states, ['z failed']);
    assert.deepEqual(connections[1]!.log, ['restartIce']);
  });
});
