import { Buffer } from 'node:buffer';
import type { SessionEvent } from './broker.js';
import { DeliveredHistory } from './delivered-history.js';
import type { CloseCode } from './errors.js';
import type { Peer } from './peer.js';
import type { EncodedRelay, PeerId, ServerMessage } from './protocol.js';
import { type RelayArena, relayByteLength } from './relay-arena.js';
import { relayHead, seqTail } from './session-protocol.js';
import type { ClaimOutcome, SequencedRelay, SessionLimits } from './session-store.js';

/**
 * `live`: frames go to the connection, relays numbered; `pending`: a resume is being claimed, and what
 * arrives after the `resumed` marker waits for `joined`; `recording`: the connection dropped, relays
 * are numbered and kept until the `detached` marker; `ended`: nothing more.
 */
export type SessionPeerMode = 'live' | 'pending' | 'recording' | 'ended';

/** What the claim decided for a resuming peer's stream. */
export interface ResumePlan {
  readonly epoch: string;
  readonly recovered: boolean;
}

/**
 * The hub's view of one session: a `Peer` that numbers every relay it delivers (`seq`, per recipient,
 * within `epoch`) and keeps the last ones (bounded by `limits`), so a resumed connection gets exactly
 * what its predecessor may have missed. The shared payload is never re-encoded: `seq` goes in a small
 * suffix. The connection (`sink`) changes on resume; the peer id stays.
 */
export class SessionPeer implements Peer {
  readonly id: PeerId;
  readonly username: string | null;
  readonly #sink: Peer;
  readonly #arena: RelayArena;
  readonly #history: DeliveredHistory;
  #mode: SessionPeerMode;
  #epoch: string;
  #seq = 0;
  #afterMarker = false;
  #queue: Array<ServerMessage | { readonly relay: EncodedRelay }> = [];
  #replay: SequencedRelay[] = [];
  /** sha256 of the resume token this session's client holds now. */
  tokenHash: string;
  /** Told about markers for this peer: `detached` (seal now) and `takeover` (let go). */
  onSessionEvent: ((event: SessionEvent) => void) | null = null;

  constructor(
    id: PeerId,
    username: string | null,
    sink: Peer,
    options: {
      mode: 'live' | 'pending';
      epoch: string;
      tokenHash: string;
      limits: SessionLimits;
      arena: RelayArena;
    },
  ) {
    this.id = id;
    this.username = username;
    this.#sink = sink;
    this.#mode = options.mode;
    this.#epoch = options.epoch;
    this.tokenHash = options.tokenHash;
    this.#arena = options.arena;
    this.#history = new DeliveredHistory(options.arena, options.limits);
  }

  get mode(): SessionPeerMode {
    return this.#mode;
  }

  get epoch(): string {
    return this.#epoch;
  }

  send(message: ServerMessage): void {
    if (this.#mode === 'live') this.#sink.send(message);
    else if (this.#mode === 'pending') {
      if (message.type !== 'joined') this.#queue.push(message);
      else this.#goLive(message);
    }
  }

  sendEncoded(json: EncodedRelay): void {
    if (this.#mode === 'live') this.#deliver(json);
    else if (this.#mode === 'recording') this.#record(json);
    // Before our `resumed` marker a relay is in the claimed buffer already.
    else if (this.#mode === 'pending' && this.#afterMarker) this.#queue.push({ relay: json });
  }

  sessionEvent(event: SessionEvent): void {
    if (this.#mode === 'pending' && event.phase === 'resumed') this.#afterMarker = true;
    else this.onSessionEvent?.(event);
  }

  close(code: CloseCode, reason: string): void {
    this.#sink.close(code, reason);
  }

  /** The connection is gone: keep numbering relays until the `detached` marker. */
  startRecording(): void {
    if (this.#mode === 'live') this.#mode = 'recording';
  }

  /** The marker came: hands over what was numbered; nothing more is kept here. */
  endRecording(): { history: readonly SequencedRelay[]; lastSeq: number } {
    this.#mode = 'ended';
    return { history: this.#history.entries(), lastSeq: this.#seq };
  }

  /** Ends the session here without handing anything over (it left). */
  end(): void {
    this.#mode = 'ended';
  }

  /**
   * Prepares the stream of a resumed session from the claim and the client's `last_seq`: what follows
   * `joined` is the kept history after `last_seq`, then what arrived while away, then what arrived
   * after the `resumed` marker. `recovered` is false when some of it is gone (the client's `last_seq`
   * is older than the oldest kept entry, or the old instance died before handing over its history).
   */
  planResume(claim: Extract<ClaimOutcome, { ok: true }>, lastSeq: number, newEpoch: string): ResumePlan {
    let recovered: boolean;
    let replay: SequencedRelay[];
    if (claim.sealed) {
      this.#epoch = claim.epoch;
      this.#seq = claim.lastSeq;
      const oldest = claim.history[0]?.seq ?? claim.lastSeq + 1;
      recovered = lastSeq >= oldest - 1 && lastSeq <= claim.lastSeq;
      replay = claim.history.filter((entry) => entry.seq > lastSeq);
    } else {
      this.#epoch = newEpoch;
      this.#seq = 0;
      recovered = false;
      replay = [];
    }
    for (const payload of claim.away) replay.push({ seq: ++this.#seq, payload });
    this.#replay = replay;
    return { epoch: this.#epoch, recovered };
  }

  #goLive(joined: ServerMessage): void {
    this.#mode = 'live';
    this.#sink.send(joined);
    for (const entry of this.#replay) {
      this.#keep(entry.seq, entry.payload);
      this.#sendNumbered(entry.payload, entry.seq);
    }
    this.#replay = [];
    const queued = this.#queue;
    this.#queue = [];
    const listed = new Set(joined.type === 'joined' ? joined.peers : []);
    for (const item of queued) {
      if ('relay' in item) this.#deliver(item.relay);
      // `joined` already tells the room as it is: no presence news it contains.
      else if (
        item.type === 'peer_joined'
          ? !listed.has(item.peer_id)
          : item.type !== 'peer_left' || listed.has(item.peer_id)
      )
        this.#sink.send(item);
    }
  }

  #deliver(payload: EncodedRelay): void {
    const seq = this.#record(payload);
    this.#sendNumbered(payload, seq);
  }

  #sendNumbered(payload: EncodedRelay, seq: number): void {
    if (this.#sink.sendRelay) {
      this.#sink.sendRelay(payload, seq);
      return;
    }
    const head = relayHead(payload);
    const tail = seqTail(seq);
    const frame = Buffer.allocUnsafe(head.length + tail.length);
    frame.set(head, 0);
    frame.write(tail, head.length, 'latin1');
    this.#sink.sendEncoded(frame);
  }

  #record(payload: EncodedRelay): number {
    const seq = ++this.#seq;
    this.#keep(seq, payload);
    return seq;
  }

  /** Keeps the newest entries within the limits: the client acknowledges nothing, so keep recent. */
  #keep(seq: number, payload: EncodedRelay): void {
    const length = relayByteLength(payload);
    this.#history.add(seq, this.#arena.append(payload, length), length);
  }
}
