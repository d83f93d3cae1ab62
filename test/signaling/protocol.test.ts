import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { closeReason } from '../../src/signaling/errors.js';
import { clientMessageSchema, parseClientMessage } from '../../src/signaling/protocol.js';
import { encodeRelay, relayedCopy } from '../../src/signaling/relay-encoding.js';
import { parseRoomId } from '../../src/signaling/room-id.js';

describe('parseClientMessage', () => {
  test('accepts every client message of the contract', () => {
    for (const text of [
      '{"type":"offer","offer":{"type":"offer","sdp":"v=0"},"to":"p1"}',
      '{"type":"answer","answer":{"type":"answer","sdp":"v=0"}}',
      '{"type":"ice_candidate","candidate":{"candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"u"}}',
      '{"type":"ice_candidate","candidate":{"candidate":"candidate:1","sdpMid":null,"sdpMLineIndex":null}}',
      '{"type":"ice_candidate","candidate":null}',
      '{"type":"ping"}',
      '{"type":"ping","ts":123}',
      '{"type":"auth","token":"abc"}',
    ]) {
      assert.equal(parseClientMessage(text).ok, true, text);
    }
  });

  test('names invalid_json and invalid_message failures', () => {
    const cases: Array<[string, string]> = [
      ['', 'invalid_json'],
      ['{', 'invalid_json'],
      ['null', 'invalid_message'],
      ['"offer"', 'invalid_message'],
      ['{"type":"unknown"}', 'invalid_message'],
      ['{"type":"offer"}', 'invalid_message'],
      ['{"type":"offer","offer":{"type":"offer","sdp":1}}', 'invalid_message'],
      ['{"type":"ice_candidate"}', 'invalid_message'],
      ['{"type":"ice_candidate","candidate":{"sdpMid":"0"}}', 'invalid_message'],
      ['{"type":"offer","offer":{"type":"offer","sdp":"x"},"to":""}', 'invalid_message'],
      ['{"type":"auth"}', 'invalid_message'],
    ];
    for (const [text, code] of cases) {
      const result = parseClientMessage(text);
      assert.equal(result.ok, false, text);
      if (!result.ok) {
        assert.equal(result.code, code, text);
        assert.ok(result.message.length > 0 && result.message.length <= 200);
      }
    }
  });

  test('relayed copies keep only contract fields and set from', () => {
    const parsed = parseClientMessage(
      '{"type":"offer","offer":{"type":"offer","sdp":"s","extra":1},"to":"b","from":"forged","__proto__":{"x":1},"junk":true}',
    );
    assert.ok(parsed.ok && parsed.message.type === 'offer');
    if (parsed.ok && parsed.message.type === 'offer') {
      assert.deepEqual(relayedCopy(parsed.message, 'a'), {
        type: 'offer',
        offer: { type: 'offer', sdp: 's' },
        to: 'b',
        from: 'a',
      });
    }
  });
});

describe('parseClientMessage, hand-checked relayable messages', () => {
  // Values that sit on both sides of every check: types, lengths 0/1/64/65, integer bounds, null.
  const value = fc.oneof(
    fc.constantFrom('offer', 'answer', 'ice_candidate', 'x', '', 'p'.repeat(64), 'p'.repeat(65), '__proto__'),
    fc.constantFrom(0, -0, -1, 1.5, 65535, 65536, 2 ** 53, true, null),
    fc.string({ maxLength: 3 }),
    fc.constant([]),
    fc.constant({}),
  );
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const description = fc.oneof(
    value,
    fc.record(
      {
        type: fc.oneof(fc.constantFrom('offer', 'answer'), value),
        sdp: fc.oneof(fc.string(), value),
        x: value,
      },
      { requiredKeys: [] },
    ),
  );
  const candidate = fc.oneof(
    value,
    fc.record(
      {
        candidate: fc.oneof(fc.string(), value),
        sdpMid: value,
        sdpMLineIndex: value,
        usernameFragment: value,
        extra: value,
      },
      { requiredKeys: [] },
    ),
  );
  const message = fc.record(
    {
      type: fc.constantFrom('offer', 'answer', 'ice_candidate'),
      offer: description,
      answer: description,
      candidate,
      to: value,
      from: maybe(value),
    },
    { requiredKeys: ['type'] },
  );

  test('accepts and refuses exactly what the schema does, with the same result', () => {
    fc.assert(
      fc.property(message, (data) => {
        const text = JSON.stringify(data);
        const parsed = parseClientMessage(text);
        const reference = clientMessageSchema.safeParse(JSON.parse(text));
        assert.equal(parsed.ok, reference.success, text);
        if (parsed.ok && reference.success) {
          assert.deepEqual(parsed.message, reference.data, text);
          // Same key order too: relayed copies are serialised from these objects.
          assert.equal(JSON.stringify(parsed.message), JSON.stringify(reference.data), text);
        }
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('parseRoomId', () => {
  test('accepts 1 to 64 of the allowed characters and refuses . and ..', () => {
    for (const ok of ['a', 'A-z_0.9', 'x'.repeat(64), '...']) assert.equal(parseRoomId(ok), ok);
    for (const bad of ['', '.', '..', 'a b', 'x'.repeat(65), 'a/b', 'é', 'a%20b'])
      assert.equal(parseRoomId(bad), null, bad);
  });
});

describe('closeReason', () => {
  test('keeps reasons ASCII and at most 123 bytes', () => {
    assert.equal(closeReason('room full'), 'room full');
    assert.equal(closeReason('é'.repeat(200)).length, 123);
    assert.match(closeReason('naïve'), /^[\x20-\x7e]+$/);
  });
});

describe('encodeRelay', () => {
  const cases = [
    '{"type":"offer","offer":{"type":"offer","sdp":"v=0\\r\\n"},"to":"b"}',
    ' {"type":"answer","answer":{"type":"answer","sdp":"x"}} \n',
    '{"type":"ice_candidate","candidate":{"candidate":"c","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}',
    '{"type":"ice_candidate","candidate":null,"to":"b"}',
    '{"type":"offer","offer":{"type":"offer","sdp":"x"},"from":"forged"}',
    '{"type":"offer","offer":{"type":"offer","sdp":"x","extra":1}}',
    '{"type":"offer","offer":{"type":"offer","sdp":"x"},"__proto__":{"polluted":1}}',
    '{"type":"offer","offer":{"type":"offer","sdp":"x"},"fr\\u006fm":"forged"}',
    '{"type":"offer","to":"a","offer":{"type":"offer","sdp":"x"},"to":"b"}',
  ];
  for (const text of cases) {
    test(`parses to exactly the relayed copy: ${text.trim().slice(0, 60)}`, () => {
      const parsed = parseClientMessage(text);
      assert.ok(parsed.ok);
      if (!parsed.ok || parsed.message.type === 'ping' || parsed.message.type === 'auth') return;
      const frame = parsed.exact ? new TextEncoder().encode(text) : undefined;
      const wire = encodeRelay(parsed.message, 'server-id', frame);
      const decoded = JSON.parse(typeof wire === 'string' ? wire : new TextDecoder().decode(wire));
      assert.deepEqual(decoded, relayedCopy(parsed.message, 'server-id'));
      assert.equal(decoded.from, 'server-id');
    });
  }

  test('reuses the frame only when it holds nothing but contract fields', () => {
    const exact = parseClientMessage('{"type":"offer","offer":{"type":"offer","sdp":"x"}}');
    assert.ok(exact.ok && exact.exact);
    const extra = parseClientMessage('{"type":"offer","offer":{"type":"offer","sdp":"x"},"from":"f"}');
    assert.ok(extra.ok && !extra.exact);
  });
});
