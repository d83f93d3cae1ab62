import type { RoomEvent } from '../signaling/broker.js';
import type { EncodedRelay } from '../signaling/protocol.js';

/**
 * How room events travel on a room's Redis channel (and sit in a detached peer's `away` list).
 * Relays, nearly all the traffic, are `R` + a JSON header `["from"]` or `["from","to"]` + `\n` + the
 * relayed frame's bytes untouched: no JSON escaping of the payload on the way out, no parse of it on
 * the way in, and the receiving instance hands the bytes to its peers as they came. Every other event
 * is its JSON object. JSON never contains a raw newline, so the first `\n` ends the header.
 */
const RELAY_TAG = 0x52; // 'R'
const NEWLINE = 0x0a;

export function encodeRoomEvent(event: RoomEvent): string | Buffer {
  if (event.kind !== 'relay') return JSON.stringify(event);
  const header = JSON.stringify(event.to === undefined ? [event.from] : [event.from, event.to]);
  const headerBytes = Buffer.byteLength(header);
  const payload = event.payload;
  const payloadBytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  const wire = Buffer.allocUnsafe(2 + headerBytes + payloadBytes);
  wire[0] = RELAY_TAG;
  wire.write(header, 1);
  wire[1 + headerBytes] = NEWLINE;
  if (typeof payload === 'string') wire.write(payload, 2 + headerBytes);
  else wire.set(payload, 2 + headerBytes);
  return wire;
}

/** The event `encodeRoomEvent` made; throws on anything else (the caller reports and drops it). */
export function decodeRoomEvent(message: Buffer | string): RoomEvent {
  const relay = typeof message === 'string' ? message.charCodeAt(0) === RELAY_TAG : message[0] === RELAY_TAG;
  if (!relay) {
    const event: unknown = JSON.parse(message.toString());
    if (typeof event !== 'object' || event === null || typeof (event as { kind?: unknown }).kind !== 'string')
      throw new Error('room event without a kind');
    return event as RoomEvent;
  }
  const end = typeof message === 'string' ? message.indexOf('\n') : message.indexOf(NEWLINE);
  if (end === -1) throw new Error('relay event without a header');
  const header: unknown = JSON.parse(
    typeof message === 'string' ? message.slice(1, end) : message.toString('utf8', 1, end),
  );
  if (
    !Array.isArray(header) ||
    header.length < 1 ||
    header.length > 2 ||
    !header.every((id) => typeof id === 'string')
  )
    throw new Error('relay event with a malformed header');
  const [from, to] = header as [string, string | undefined];
  const payload: EncodedRelay =
    typeof message === 'string' ? message.slice(end + 1) : message.subarray(end + 1);
  return to === undefined ? { kind: 'relay', from, payload } : { kind: 'relay', from, to, payload };
}
