import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closeReason } from '../../src/signaling/errors.js';
import { parseClientMessage, relayedCopy } from '../../src/signaling/protocol.js';
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
