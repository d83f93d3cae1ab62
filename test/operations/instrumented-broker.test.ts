import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryBroker } from '../../src/cluster/memory-broker.js';
import { type BrokerObserver, InstrumentedBroker } from '../../src/operations/instrumented-broker.js';
import { NegotiationTracker } from '../../src/operations/negotiation-tracker.js';
import type { EncodedRelay } from '../../src/signaling/protocol.js';
import { parseRoomId, type RoomId } from '../../src/signaling/room-id.js';

const room = parseRoomId('negotiation-room') as RoomId;
const observer: BrokerObserver = { command() {}, publish() {}, joined() {} };

/** An instrumented memory broker where `a` has offered to `b`; counts the answers it observes. */
async function offerPending(): Promise<{ broker: InstrumentedBroker; answered: () => number }> {
  let answered = 0;
  const tracker = new NegotiationTracker(Date.now, () => {
    answered += 1;
  });
  tracker.joined(room, 'a');
  tracker.relayed(room, 'a', 'b', 'offer');
  const broker = new InstrumentedBroker(new MemoryBroker(), observer, tracker);
  await broker.subscribe(room, () => {});
  return { broker, answered: () => answered };
}

function relay(broker: InstrumentedBroker, payload: EncodedRelay): void {
  broker.publish(room, { kind: 'relay', from: 'b', to: 'a', payload });
}

describe('InstrumentedBroker', () => {
  test('observes an answer to a pending offer, as bytes or as text', async () => {
    const bytes = await offerPending();
    relay(bytes.broker, Buffer.from('{"type":"answer","answer":{"type":"answer","sdp":"v=0"},"from":"b"}'));
    assert.equal(bytes.answered(), 1);
    const text = await offerPending();
    relay(text.broker, '{"type":"answer","answer":{"type":"answer","sdp":"v=0"},"from":"b"}');
    assert.equal(text.answered(), 1);
  });

  test('observes an answer whose type a client spelled with \\u escapes', async () => {
    const { broker, answered } = await offerPending();
    relay(
      broker,
      Buffer.from(
        String.raw`{"type":"\u0061nswer","\u0061nswer":{"type":"\u0061nswer","sdp":"v=0"},"from":"b"}`,
      ),
    );
    assert.equal(answered(), 1);
  });

  test('candidates and offers while an offer is pending are not taken for answers', async () => {
    const { broker, answered } = await offerPending();
    relay(broker, Buffer.from('{"type":"ice_candidate","candidate":{"candidate":"candidate:1"},"from":"b"}'));
    relay(broker, '{"type":"offer","offer":{"type":"offer","sdp":"v=0 answer later"},"from":"b"}');
    assert.equal(answered(), 0);
  });
});
