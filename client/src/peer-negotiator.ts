import type { PeerConnectionLike } from './peer-connection.js';
import type { WireCandidate, WireDescription } from './protocol.js';

/** Where a negotiator sends what it produces (the mesh addresses it `to` the remote peer). */
export interface NegotiatorSignals {
  sendDescription(description: WireDescription): void;
  /** `null` is end of candidates. */
  sendCandidate(candidate: WireCandidate | null): void;
}

/** What a `PeerNegotiator` needs. */
export interface PeerNegotiatorOptions {
  readonly pc: PeerConnectionLike;
  /**
   * The polite peer yields when both sides offer at once (glare): it rolls back its own offer and
   * answers the other. Exactly one side of each pair must be polite.
   */
  readonly polite: boolean;
  readonly signals: NegotiatorSignals;
  /** Failures of a negotiation step; the negotiator carries on with the next message. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The "perfect negotiation" pattern (W3C WebRTC 1.0, section 10.7) for one peer connection: either
 * side may (re)negotiate at any time, e.g. when tracks or a data channel are added, and offer
 * collisions resolve themselves because the impolite peer ignores the colliding offer while the
 * polite peer rolls back (implicitly, by setting the remote offer) and answers. ICE candidates are
 * trickled both ways, end of candidates included. Incoming messages are applied one at a time, in
 * arrival order.
 */
export class PeerNegotiator {
  readonly pc: PeerConnectionLike;
  readonly polite: boolean;
  readonly #signals: NegotiatorSignals;
  readonly #onError: (error: unknown) => void;
  #makingOffer = false;
  #ignoreOffer = false;
  #closed = false;
  #queue: Promise<void> = Promise.resolve();

  constructor(options: PeerNegotiatorOptions) {
    this.pc = options.pc;
    this.polite = options.polite;
    this.#signals = options.signals;
    this.#onError = options.onError ?? (() => {});
    this.pc.onnegotiationneeded = () => void this.#offer();
    this.pc.onicecandidate = (event) => {
      if (this.#closed) return;
      this.#signals.sendCandidate(event.candidate ? toWireCandidate(event.candidate.toJSON()) : null);
    };
  }

  /** True while the last offer received was a collision this (impolite) side chose to ignore. */
  get ignoringOffer(): boolean {
    return this.#ignoreOffer;
  }

  /** Applies a remote offer or answer; resolves once it has been handled (failures go to `onError`). */
  handleDescription(description: WireDescription): Promise<void> {
    return this.#enqueue(() => this.#applyDescription(description));
  }

  /** Applies a remote ICE candidate, or end of candidates for `null`. */
  handleCandidate(candidate: WireCandidate | null): Promise<void> {
    return this.#enqueue(async () => {
      try {
        await this.pc.addIceCandidate(candidate);
      } catch (error) {
        // Candidates for an offer we ignored cannot apply; that is expected, not a failure.
        if (!this.#ignoreOffer) throw error;
      }
    });
  }

  /** Closes the peer connection; later messages are ignored. */
  close(): void {
    this.#closed = true;
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.close();
  }

  async #offer(): Promise<void> {
    if (this.#closed) return;
    try {
      this.#makingOffer = true;
      await this.pc.setLocalDescription();
      this.#sendLocalDescription();
    } catch (error) {
      this.#onError(error);
    } finally {
      this.#makingOffer = false;
    }
  }

  async #applyDescription(description: WireDescription): Promise<void> {
    // Incoming messages are serialised, so no remote answer can be half-applied here.
    const readyForOffer = !this.#makingOffer && this.pc.signalingState === 'stable';
    const collision = description.type === 'offer' && !readyForOffer;
    this.#ignoreOffer = !this.polite && collision;
    if (this.#ignoreOffer) return;
    // A polite peer with an offer of its own lets setRemoteDescription roll it back: done as one
    // operation, no new offer (from a fresh negotiationneeded) can slip in between rollback and offer.
    await this.pc.setRemoteDescription(description);
    if (description.type === 'offer') {
      await this.pc.setLocalDescription();
      this.#sendLocalDescription();
    }
  }

  #sendLocalDescription(): void {
    const local = this.pc.localDescription;
    if (this.#closed || !local?.sdp || (local.type !== 'offer' && local.type !== 'answer')) return;
    this.#signals.sendDescription({ type: local.type, sdp: local.sdp });
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = async () => {
      if (this.#closed) return;
      try {
        await step();
      } catch (error) {
        this.#onError(error);
      }
    };
    this.#queue = this.#queue.then(run);
    return this.#queue;
  }
}

function toWireCandidate(init: RTCIceCandidateInit): WireCandidate {
  return {
    candidate: init.candidate ?? '',
    sdpMid: init.sdpMid ?? null,
    sdpMLineIndex: init.sdpMLineIndex ?? null,
    usernameFragment: init.usernameFragment ?? null,
  };
}
