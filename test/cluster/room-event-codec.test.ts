import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeRoomEvent, encodeRoomEvent } from '../../src/cluster/room-event-codec.js';
import type { RoomEvent } from '../../src/signaling/broker.js';

const frame = '{"type":"offer","offer":{"type":"offer","sdp":"v=0\\r\\na=x \\"é\\"\\n"},"from":"a"}';

function asText(payload: unknown): string {
  return typeof payload === 'string' ? payload : Buffer.from(payload as Uint8Array).toString();
}

describe('room event codec', () => {
  test('a relay travels as its frame bytes, untouched, with from and to', () => {
    for (const payload of [frame, new TextEncoder().encode(frame)]) {
      for (const to of [undefined, 'b', 'peer "with\nnewline"']) {
        const event: RoomEvent =
          to === undefined
            ? { kind: 'relay', from: 'a', payload }
            : { kind: 'relay', from: 'a', to, payload };
        const wire = encodeRoomEvent(event);
        assert.ok(Buffer.isBuffer(wire));
        assert.ok(wire.includes(frame), 'the payload is not escaped');
        for (const received of [wire, wire.toString()]) {
          const decoded = decodeRoomEvent(received);
          assert.equal(decoded.kind, 'relay');
          if (decoded.kind !== 'relay') return;
          assert.equal(decoded.from, 'a');
          assert.equal(decoded.to, to);
          assert.equal(asText(decoded.payload), frame);
        }
      }
    }
  });

  test('other events are their JSON', () => {
    const events: RoomEvent[] = [
      { kind: 'joined', member: { peerId: 'p', username: 'ré', joinedAt: 5 } },
      { kind: 'left', peerId: 'p' },
      { kind: 'session', peerId: 'p', phase: 'detached' },
      { kind: 'server', payload: { any: ['thing'] } },
    ];
    for (const event of events) {
      const wire = encodeRoomEvent(event);
      assert.equal(wire, JSON.stringify(event));
      assert.deepEqual(decodeRoomEvent(Buffer.from(wire)), event);
    }
  });

  test('malformed messages are refused with an error, never half-decoded', () => {
    for (const bad of [
      '',
      'R["a"]',
      'R{"a":1}\nx',
      'R[1]\nx',
      'R["a","b","c"]\nx',
      'R[]\nx',
      'not json',
      '42',
      'null',
    ]) {
      assert.throws(() => decodeRoomEvent(Buffer.from(bad)), Error, bad);
      assert.throws(() => decodeRoomEvent(bad), Error, bad);
    }
  });
});
