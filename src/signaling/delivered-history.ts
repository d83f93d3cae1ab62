import type { RelayArena } from './relay-arena.js';
import type { SequencedRelay, SessionLimits } from './session-store.js';

/** Entries a history starts with; it doubles up to the limit as a peer receives more. */
const INITIAL_CAPACITY = 8;

/**
 * The relays one session delivered lately, newest last, as consecutive `seq`s and their places in
 * the process's `RelayArena`: two numbers an entry, in one typed array, so the GC sees nothing per
 * relay. Bounded by `limits` (messages and bytes); allocated at the first relay, so an idle peer
 * costs nothing. An entry the arena could not keep ends the history before it: what follows is
 * kept, what came before is a gap.
 */
export class DeliveredHistory {
  readonly #arena: RelayArena;
  readonly #limits: SessionLimits;
  /** position, length, position, length, ... as a ring of `capacity` entries. */
  #ring: Float64Array | null = null;
  #start = 0;
  #count = 0;
  #bytes = 0;
  /** The `seq` of the oldest entry (of the next one when empty). */
  #firstSeq = 1;

  constructor(arena: RelayArena, limits: SessionLimits) {
    this.#arena = arena;
    this.#limits = limits;
  }

  /** Records that `seq` was `length` bytes at `position` in the arena (-1: not kept). */
  add(seq: number, position: number, length: number): void {
    if (position < 0 || seq !== this.#firstSeq + this.#count) {
      this.#clear(position < 0 ? seq + 1 : seq);
      if (position < 0) return;
    }
    const ring = this.#room();
    const slot = ((this.#start + this.#count) % (ring.length / 2)) * 2;
    ring[slot] = position;
    ring[slot + 1] = length;
    this.#count += 1;
    this.#bytes += length;
    const { maxMessages, maxBytes } = this.#limits;
    while (this.#count > maxMessages || (this.#bytes > maxBytes && this.#count > 1)) this.#dropOldest(ring);
  }

  /** Standalone copies of what is still kept, oldest first; entries the arena overwrote are gone. */
  entries(): SequencedRelay[] {
    const out: SequencedRelay[] = [];
    const ring = this.#ring;
    if (ring === null) return out;
    const capacity = ring.length / 2;
    for (let i = 0; i < this.#count; i++) {
      const slot = ((this.#start + i) % capacity) * 2;
      const payload = this.#arena.read(ring[slot] as number, ring[slot + 1] as number);
      // Older entries are overwritten first: a missing one voids everything before it.
      if (payload === null) out.length = 0;
      else out.push({ seq: this.#firstSeq + i, payload });
    }
    return out;
  }

  #room(): Float64Array {
    const ring = this.#ring;
    const capacity = ring === null ? 0 : ring.length / 2;
    if (ring !== null && this.#count < capacity) return ring;
    const grown = new Float64Array(
      2 * Math.max(INITIAL_CAPACITY, Math.min(capacity * 2, this.#limits.maxMessages + 1)),
    );
    for (let i = 0; i < this.#count && ring !== null; i++) {
      const from = ((this.#start + i) % capacity) * 2;
      grown[2 * i] = ring[from] as number;
      grown[2 * i + 1] = ring[from + 1] as number;
    }
    this.#ring = grown;
    this.#start = 0;
    return grown;
  }

  #dropOldest(ring: Float64Array): void {
    this.#bytes -= ring[this.#start * 2 + 1] as number;
    this.#start = (this.#start + 1) % (ring.length / 2);
    this.#count -= 1;
    this.#firstSeq += 1;
  }

  #clear(nextSeq: number): void {
    this.#start = 0;
    this.#count = 0;
    this.#bytes = 0;
    this.#firstSeq = nextSeq;
  }
}
