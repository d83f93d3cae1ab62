import { Buffer } from 'node:buffer';
import type { EncodedRelay } from './protocol.js';

/** `RESUME_HISTORY_BYTES` by default. */
export const DEFAULT_ARENA_BYTES = 16 * 1024 * 1024;

/**
 * One ring of bytes, shared by every session of the process, holding the relays delivered lately,
 * so that a resume can send again what a dying socket swallowed. Each relay is copied in once (a
 * broadcast once for all its recipients) and named by its absolute position; a session keeps only
 * positions and lengths (`DeliveredHistory`).
 *
 * Why not keep the delivered buffers themselves: at 100 messages per peer that kept tens of
 * thousands of small buffers alive for seconds, long enough to be promoted and marked; the GC work
 * came back as p99 stalls of 10-20 ms. The ring costs a memcpy per relay and nothing for the GC. Its
 * price: under heavy traffic the ring, not the per-peer limits, bounds how far back a resume
 * reaches; an overwritten entry is a gap, reported to the client as `recovered: false`.
 */
export class RelayArena {
  readonly capacity: number;
  /** Allocated at first use; its pages count in RSS only once written. */
  #bytes: Buffer | null = null;
  /** Bytes written since the start, counting skipped tails: the next absolute position. */
  #written = 0;
  #lastPayload: EncodedRelay | null = null;
  #lastPosition = -1;

  constructor(capacity: number = DEFAULT_ARENA_BYTES) {
    this.capacity = capacity;
  }

  /**
   * Copies `payload` (of `length` UTF-8 bytes) in and returns its position, or -1 when it cannot
   * be kept (larger than the ring). The same payload again in a row is the same entry.
   */
  append(payload: EncodedRelay, length: number): number {
    if (payload === this.#lastPayload && this.intact(this.#lastPosition)) return this.#lastPosition;
    if (length > this.capacity) return -1;
    this.#bytes ??= Buffer.allocUnsafeSlow(this.capacity);
    let offset = this.#written % this.capacity;
    if (offset + length > this.capacity) {
      // Entries never wrap: the tail that is too short is skipped.
      this.#written += this.capacity - offset;
      offset = 0;
    }
    if (typeof payload === 'string') this.#bytes.write(payload, offset, length, 'utf8');
    else this.#bytes.set(payload, offset);
    const position = this.#written;
    this.#written += length;
    this.#lastPayload = payload;
    this.#lastPosition = position;
    return position;
  }

  /** True while the entry at `position` has not been overwritten. */
  intact(position: number): boolean {
    return position >= 0 && position >= this.#written - this.capacity;
  }

  /** A standalone copy of the entry, or null once it has been overwritten. */
  read(position: number, length: number): Uint8Array | null {
    if (this.#bytes === null || !this.intact(position)) return null;
    const offset = position % this.capacity;
    return new Uint8Array(this.#bytes.subarray(offset, offset + length));
  }
}

/** The UTF-8 size of a relay as it goes on the wire. */
export function relayByteLength(payload: EncodedRelay): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
}
