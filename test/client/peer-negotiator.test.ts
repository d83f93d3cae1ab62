import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PeerNegotiator } from '../../client/src/peer-negotiator.js';
import type { WireCandidate, WireDescription } from '../../client/src/protocol.js';
import { flush } from '../helpers/fake-clock.js';
import { FakePeerConnection } from '../helpers/fake-peer-connection.js';

/** One side of a call: its fake connection, its negotiator and what it signalled. */
function side(name: string, polite: boolean) {
  const pc = new FakePeerConnection(name);
  const descriptions: WireDescription[] = [];
  const candidates: Array<WireCandidate | null> = [];
  const errors: unknown[] = [];
  const negotiator = new PeerNegotiator({
    pc,
    polite,
    signals: {
      sendDescription: (description) => descriptions.push(description),
      sendCandidate: (candidate) => candidates.push(candidate),
    },
    onError: (error) => errors.push(error),
  });
  return { pc, negotiator, descriptions, candidates, errors };
}

describe('PeerNegotiator', () => {
  test('one side offers and the other answers', async () => {
    const a = side('a', true);
    const b = side('b', false);
    a.pc.needNegotiation();
    await flush();
    assert.deepEqual(a.descriptions, [{ type: 'offer', sdp: 'offer a 1' }]);
    await b.negotiator.handleDescription(a.descriptions[0]!);
    assert.deepEqual(b.descriptions, [{ type: 'answer', sdp: 'answer b 1' }]);
    await a.negotiator.handleDescription(b.descriptions[0]!);
    assert.equal(a.pc.signalingState, 'stable');
    assert.equal(b.pc.signalingState, 'stable');
    assert.deepEqual([...a.errors, ...b.errors], []);
  });

  test('on glare the polite peer rolls back its offer and answers, the impolite peer ignores the colliding offer', async () => {
    const polite = side('polite', true);
    const impolite = side('impolite', false);
    polite.pc.needNegotiation();
    impolite.pc.needNegotiation();
    await flush();
    const politeOffer = polite.descriptions[0]!;
    const impoliteOffer = impolite.descriptions[0]!;
    assert.equal(politeOffer.type, 'offer');
    assert.equal(impoliteOffer.type, 'offer');

    // The offers cross in the network.
    await Promise.all([
      polite.negotiator.handleDescription(impoliteOffer),
      impolite.negotiator.handleDescription(politeOffer),
    ]);

    assert.equal(impolite.negotiator.ignoringOffer, true);
    assert.ok(
      !impolite.pc.log.some((entry) => entry.startsWith('remote offer')),
      'impolite applied the offer',
    );
    assert.equal(impolite.pc.signalingState, 'have-local-offer');

    assert.deepEqual(polite.pc.log, [
      'local offer',
      'implicit rollback',
      `remote offer: ${impoliteOffer.sdp}`,
      'local answer',
    ]);
    assert.equal(polite.descriptions[1]?.type, 'answer');

    await impolite.negotiator.handleDescription(polite.descriptions[1]!);
    assert.equal(impolite.pc.signalingState, 'stable');
    assert.equal(polite.pc.signalingState, 'stable');
    assert.equal(impolite.negotiator.ignoringOffer, false);
    assert.deepEqual([...polite.errors, ...impolite.errors], []);
  });

  test('a polite peer still creating its offer when the other offer arrives rolls it back too', async () => {
    const polite = side('polite', true);
    polite.pc.needNegotiation(); // setLocalDescription is now in flight
    const done = polite.negotiator.handleDescription({ type: 'offer', sdp: 'remote offer' });
    await done;
    await flush();
    assert.deepEqual(polite.pc.log, [
      'local offer',
      'implicit rollback',
      'remote offer: remote offer',
      'local answer',
    ]);
    assert.equal(polite.pc.signalingState, 'stable');
    assert.equal(polite.descriptions.at(-1)?.type, 'answer');
    assert.deepEqual(polite.errors, []);
  });

  test('the impolite peer drops candidates of the offer it ignored without reporting an error', async () => {
    const polite = side('polite', true);
    const impolite = side('impolite', false);
    polite.pc.needNegotiation();
    impolite.pc.needNegotiation();
    await flush();
    await impolite.negotiator.handleDescription(polite.descriptions[0]!);
    polite.pc.gather({
      candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    });
    await impolite.negotiator.handleCandidate(polite.candidates[0]!);
    assert.deepEqual(impolite.errors, []);
    assert.deepEqual(impolite.pc.candidates, []);
  });

  test('a failing candidate is reported when no offer was ignored', async () => {
    const a = side('a', false);
    await a.negotiator.handleCandidate({ candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host' });
    assert.equal(a.errors.length, 1);
  });

  test('trickles candidates in their JSON form and passes end of candidates (null) through both ways', async () => {
    const a = side('a', true);
    const b = side('b', false);
    a.pc.needNegotiation();
    await flush();
    await b.negotiator.handleDescription(a.descriptions[0]!);
    const gathered = {
      candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    a.pc.gather(gathered);
    a.pc.gather(null);
    assert.deepEqual(a.candidates, [{ ...gathered, usernameFragment: null }, null]);

    for (const candidate of a.candidates) await b.negotiator.handleCandidate(candidate);
    assert.deepEqual(b.pc.candidates, [{ ...gathered, usernameFragment: null }, null]);
    assert.deepEqual(b.errors, []);
  });

  test('applies incoming messages one at a time, in arrival order', async () => {
    const a = side('a', true);
    const b = side('b', false);
    a.pc.needNegotiation();
    await flush();
    // Candidate right behind the offer: it must wait until the offer is applied.
    const offerDone = b.negotiator.handleDescription(a.descriptions[0]!);
    const candidateDone = b.negotiator.handleCandidate({
      candidate: 'candidate:2 1 udp 1 192.0.2.1 5001 typ host',
    });
    await Promise.all([offerDone, candidateDone]);
    assert.equal(b.pc.candidates.length, 1);
    assert.deepEqual(b.errors, []);
  });

  test('close() closes the connection and ignores later messages', async () => {
    const a = side('a', true);
    a.negotiator.close();
    assert.equal(a.pc.closed, true);
    await a.negotiator.handleDescription({ type: 'offer', sdp: 'late' });
    a.pc.gather(null);
    assert.deepEqual(a.pc.log, []);
    assert.deepEqual(a.candidates, []);
  });
});
