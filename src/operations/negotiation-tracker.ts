import type { PeerId } from '../signaling/protocol.js';

/** Offers waiting for an answer: by room, by offerer, by target (`*` for an offer to everyone). */
type PendingOffers = Map<string, Map<PeerId, Map<string, number>>>;

const ANYONE = '*';
/** Targets one offerer may have waiting at once; a room holds at most this many peers anyway. */
const MAX_PENDING_PER_OFFERER = 256;

/**
 * Signaling quality of the peers joined through this instance. The offer→answer time is measured on
 * the offerer's instance, from its offer being accepted for relay to the answer from the same peer
 * reaching it, so it is counted once in a fleet whichever instance the answerer is on. A peer has
 * negotiated once it sent an answer or received the answer to one of its offers; a join that leaves
 * without either is counted as never negotiated.
 */
export class NegotiationTracker {
  readonly #now: () => number;
  readonly #onAnswered: (seconds: number) => void;
  readonly #offers: PendingOffers = new Map();
  /** Local peers by room: true once negotiated. */
  readonly #peers = new Map<string, Map<PeerId, boolean>>();
  /** Joins through this instance since start. */
  joins = 0;
  /** Of those, the ones that left without completing a negotiation. */
  joinsWithoutNegotiation = 0;

  constructor(now: () => number, onAnswered: (seconds: number) => void) {
    this.#now = now;
    this.#onAnswered = onAnswered;
  }

  /** A peer joined through this instance. */
  joined(room: string, peer: PeerId): void {
    let peers = this.#peers.get(room);
    if (peers === undefined) {
      peers = new Map();
      this.#peers.set(room, peers);
    }
    if (peers.has(peer)) return;
    peers.set(peer, false);
    this.joins += 1;
  }

  /** A peer of this instance left (or its join was rolled back). Unknown peers are ignored. */
  left(room: string, peer: PeerId): void {
    const peers = this.#peers.get(room);
    const negotiated = peers?.get(peer);
    if (peers === undefined || negotiated === undefined) return;
    if (!negotiated) this.joinsWithoutNegotiation += 1;
    peers.delete(peer);
    if (peers.size === 0) this.#peers.delete(room);
    const offers = this.#offers.get(room);
    offers?.delete(peer);
    if (offers?.size === 0) this.#offers.delete(room);
  }

  /** A local peer's message was accepted for relay (called on the hot path: counts only). */
  relayed(room: string, from: PeerId, to: PeerId | undefined, type: string): void {
    if (type === 'answer') {
      const peers = this.#peers.get(room);
      if (peers?.has(from)) peers.set(from, true);
      return;
    }
    if (type !== 'offer') return;
    let offers = this.#offers.get(room);
    if (offers === undefined) {
      offers = new Map();
      this.#offers.set(room, offers);
    }
    let targets = offers.get(from);
    if (targets === undefined) {
      targets = new Map();
      offers.set(from, targets);
    }
    if (targets.size < MAX_PENDING_PER_OFFERER || targets.has(to ?? ANYONE))
      targets.set(to ?? ANYONE, this.#now());
  }

  /**
   * True when a relay from `from` (to `to`, or to everyone) reaching this instance could be the
   * answer to a waiting offer of a local peer; only then does the caller need to look at its type.
   */
  awaitsAnswer(room: string, from: PeerId, to: PeerId | undefined): boolean {
    if (this.#offers.size === 0) return false;
    const offers = this.#offers.get(room);
    if (offers === undefined) return false;
    if (to !== undefined) return waitsFor(offers.get(to), from);
    for (const [offerer, targets] of offers) if (offerer !== from && waitsFor(targets, from)) return true;
    return false;
  }

  /** An answer from `from` reached this instance: the offers it answers are observed and cleared. */
  answered(room: string, from: PeerId, to: PeerId | undefined): void {
    const offers = this.#offers.get(room);
    if (offers === undefined) return;
    const now = this.#now();
    for (const [offerer, targets] of offers) {
      if (offerer === from || (to !== undefined && offerer !== to)) continue;
      const sentAt = targets.get(from) ?? targets.get(ANYONE);
      if (sentAt === undefined) continue;
      this.#onAnswered(Math.max(0, now - sentAt) / 1000);
      if (!targets.delete(from)) targets.delete(ANYONE);
      if (targets.size === 0) offers.delete(offerer);
      const peers = this.#peers.get(room);
      if (peers?.has(offerer)) peers.set(offerer, true);
    }
    if (offers.size === 0) this.#offers.delete(room);
  }
}

function waitsFor(targets: Map<string, number> | undefined, answerer: PeerId): boolean {
  return targets !== undefined && (targets.has(answerer) || targets.has(ANYONE));
}
