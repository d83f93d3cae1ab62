import type { EncodedRelay, PeerId, RelayableMessage, RelayedMessage } from './protocol.js';

/**
 * How a relayed message goes on the wire: encoded once for every recipient, reusing the client's
 * own frame bytes when they hold only contract fields.
 */

const CLOSING_BRACE = 0x7d;
const utf8 = new TextEncoder();

/** The bytes `,"from":"<id>"}` that close a relayed frame; computed once per peer by the caller. */
export function relaySuffix(from: PeerId): Uint8Array {
  return utf8.encode(`,"from":${JSON.stringify(from)}}`);
}

/**
 * The wire form of a relayed message. When the client's frame (its UTF-8 bytes) held only contract
 * fields (the normal case), the frame is reused as sent with `from` appended, which parses to
 * exactly `relayedCopy`; a client's `from`, extra fields or prototype keys always take the slow
 * path. This skips re-serialising and re-encoding multi-kilobyte SDP on every relay.
 */
export function encodeRelay(
  message: RelayableMessage,
  from: PeerId,
  exactFrame?: Uint8Array,
  suffix: Uint8Array = relaySuffix(from),
): EncodedRelay {
  if (exactFrame !== undefined) {
    const end = exactFrame.lastIndexOf(CLOSING_BRACE);
    if (end > 0) {
      // Uninitialised (pooled for small sizes): every byte is written just below.
      const out = Buffer.allocUnsafe(end + suffix.length);
      out.set(exactFrame.subarray(0, end), 0);
      out.set(suffix, end);
      return out;
    }
  }
  return JSON.stringify(relayedCopy(message, from));
}

/** Builds the relayed copy of a validated message: only contract fields, `from` set by the server. */
export function relayedCopy(message: RelayableMessage, from: PeerId): RelayedMessage {
  switch (message.type) {
    case 'offer':
      return withTo({ type: 'offer', offer: { type: 'offer', sdp: message.offer.sdp } }, message.to, from);
    case 'answer':
      return withTo(
        { type: 'answer', answer: { type: 'answer', sdp: message.answer.sdp } },
        message.to,
        from,
      );
    case 'ice_candidate':
      return withTo({ type: 'ice_candidate', candidate: message.candidate }, message.to, from);
  }
}

function withTo<T extends object>(body: T, to: PeerId | undefined, from: PeerId): T & { from: PeerId } {
  return to === undefined ? { ...body, from } : { ...body, to, from };
}
