import { CloseCode, ResumeRefusal } from './errors.js';
import type { Peer } from './peer.js';
import type { FreshJoin, OpenResult, PeerSessionsDeps, ResumeRequest } from './peer-session-options.js';
import type { PeerId } from './protocol.js';
import { RelayArena } from './relay-arena.js';
import type { RoomId } from './room-id.js';
import { type ResumePlan, SessionPeer } from './session-peer.js';
import { type JoinedSessionFields, RESUMABLE_CLOSE_CODES } from './session-protocol.js';
import type { ClaimOutcome, EndedSession, SessionClaim } from './session-store.js';
import { newToken, parseToken } from './session-tokens.js';

export type { FreshJoin, OpenResult, PeerSessionsDeps, ResumeRequest };

const CLAIM_RETRY_MS = 50;
/** How long a resume waits for the old connection to be let go and its history handed over. */
const CLAIM_PATIENCE_MS = 3000;

/**
 * Sessions that survive a dropped connection. Each joined peer gets a single-use `resume_token`
 * (bound to the room, the peer id and the user; rotated on every resume) and a numbered stream
 * (`SessionPeer`). When its connection drops with a resumable code, the peer stays a member (still
 * counted against the room cap) for the grace period and what is sent to it is buffered by the
 * broker; a connection presenting the token within the grace gets the same peer id, `joined` with
 * `resumed: true`, then exactly what it missed after its `last_seq`, in order, and the others see
 * nothing. A refused resume (unknown, used or foreign token, grace passed, buffer overflowed) is a
 * fresh join whose `joined` says why; the old peer is announced `peer_left` when its session ends.
 */
export class PeerSessions {
  readonly #deps: PeerSessionsDeps;
  readonly #local = new Map<string, SessionPeer>();
  readonly #markers = new WeakMap<SessionPeer, () => void>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #arena: RelayArena;

  constructor(deps: PeerSessionsDeps) {
    this.#deps = deps;
    this.#arena = deps.arena ?? new RelayArena();
  }

  /** Joins `roomId`, resuming the session `resume` names when it can; the peer's connection is `sinkFor(id)`. */
  async open(
    roomId: RoomId,
    username: string | null,
    sinkFor: (peerId: PeerId) => Peer,
    resume?: ResumeRequest,
    fresh: FreshJoin = {},
  ): Promise<OpenResult> {
    if (resume === undefined || this.#deps.graceMs <= 0) return this.#fresh(roomId, username, sinkFor, fresh);
    const resumed = await this.#resume(roomId, username, sinkFor, resume);
    if ('refusal' in resumed) return this.#fresh(roomId, username, sinkFor, fresh, resumed.refusal);
    return resumed;
  }

  /** The peer's connection closed with `code`: keep the session for a resume, or end it. */
  closed(roomId: RoomId, peer: SessionPeer, code: number): void {
    if (peer.mode !== 'live') return;
    if (this.#deps.graceMs > 0 && RESUMABLE_CLOSE_CODES.has(code)) this.#detach(roomId, peer);
    else this.#track(this.#leave(roomId, peer));
  }

  /** Ends the sessions whose grace passed or whose buffer overflowed (their peers are announced left). */
  sweep(): Promise<readonly EndedSession[]> {
    return this.#deps.broker.sessions.sweep(this.#deps.now());
  }

  /** Resolves when the detaches in progress are done (at most `timeoutMs`): a drain hands them over. */
  async quiesce(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.#inFlight]), this.#deps.sleep(timeoutMs)]);
  }

  async #fresh(
    roomId: RoomId,
    username: string | null,
    sinkFor: (peerId: PeerId) => Peer,
    { peerId = this.#deps.randomId(), createMaxPeers }: FreshJoin,
    refusal?: ResumeRefusal,
  ): Promise<OpenResult> {
    const cap = createMaxPeers === undefined ? {} : { createMaxPeers };
    const resumable = this.#deps.graceMs > 0;
    if (!resumable) {
      // Resume off: no numbering, no tokens; the relay path is exactly the plain one.
      const sink = sinkFor(peerId);
      const plain = await this.#deps.hub.join(roomId, sink, {
        ...cap,
        extras: () => this.#ice(username, peerId),
      });
      return plain.ok ? { ok: true, peer: sink } : { ok: false, reason: joinFailure(plain.reason) };
    }
    const token = newToken(peerId);
    const peer = this.#peer(roomId, peerId, username, sinkFor(peerId), 'live', token.hash);
    const result = await this.#deps.hub.join(roomId, peer, {
      ...cap,
      // Recorded before `joined` goes out: a client holding the token can always resume.
      admitted: (member) => this.#deps.broker.sessions.open(roomId, { member, tokenHash: token.hash }),
      extras: () => ({
        resume_token: token.value,
        epoch: peer.epoch,
        ...(refusal ? { resumed: false, resume_refused: refusal } : {}),
        ...this.#ice(username, peerId),
      }),
    });
    if (!result.ok) return { ok: false, reason: joinFailure(result.reason) };
    this.#local.set(key(roomId, peerId), peer);
    return { ok: true, peer };
  }

  async #resume(
    roomId: RoomId,
    username: string | null,
    sinkFor: (peerId: PeerId) => Peer,
    request: ResumeRequest,
  ): Promise<OpenResult | { readonly refusal: ResumeRefusal }> {
    const presented = parseToken(request.token);
    if (presented === null) return { refusal: ResumeRefusal.Unknown };
    const { peerId, hash } = presented;
    const old = this.#local.get(key(roomId, peerId));
    if (old !== undefined) {
      // The old connection is on this instance: let it go here, without a round trip.
      if (old.username !== username) return { refusal: ResumeRefusal.WrongUser };
      if (old.tokenHash !== hash) return { refusal: ResumeRefusal.TokenUsed };
      if (old.mode === 'live') this.#takeOver(roomId, old);
      await this.#gone(roomId, peerId);
    }
    const next = newToken(peerId);
    const peer = this.#peer(roomId, peerId, username, sinkFor(peerId), 'pending', next.hash);
    let refusal: ResumeRefusal = ResumeRefusal.Unknown;
    let plan: ResumePlan = { epoch: '', recovered: false };
    const claim = { tokenHash: hash, nextTokenHash: next.hash, username };
    const result = await this.#deps.hub.join(roomId, peer, {
      announce: false,
      admit: async () => {
        const outcome = await this.#claim(roomId, peerId, claim);
        if (!outcome.ok) {
          refusal =
            outcome.reason === 'attached' || outcome.reason === 'unsealed'
              ? ResumeRefusal.Busy
              : outcome.reason;
          return { ok: false, reason: 'refused' };
        }
        plan = peer.planResume(outcome, request.lastSeq, this.#deps.randomId());
        return { ok: true, room: outcome.room };
      },
      extras: (): JoinedSessionFields => ({
        resume_token: next.value,
        epoch: plan.epoch,
        resumed: true,
        recovered: plan.recovered,
        ...this.#ice(username, peerId),
      }),
    });
    if (result.ok) {
      this.#local.set(key(roomId, peerId), peer);
      return { ok: true, peer };
    }
    return result.reason === 'refused' ? { refusal } : { ok: false, reason: 'unavailable' };
  }

  /** Claims until the old connection is let go and its history sealed, or patience runs out. */
  async #claim(roomId: RoomId, peerId: PeerId, claim: Omit<SessionClaim, 'force'>): Promise<ClaimOutcome> {
    const deadline = this.#deps.now() + CLAIM_PATIENCE_MS;
    let askedTakeover = false;
    for (;;) {
      const force = this.#deps.now() >= deadline;
      const outcome = await this.#deps.broker.sessions.claim(roomId, peerId, { ...claim, force });
      if (outcome.ok || (outcome.reason !== 'attached' && outcome.reason !== 'unsealed') || force)
        return outcome;
      if (outcome.reason === 'attached' && !askedTakeover) {
        askedTakeover = true;
        const { tokenHash, username } = claim;
        await this.#deps.broker.publish(roomId, {
          kind: 'session',
          peerId,
          phase: 'takeover',
          tokenHash,
          username,
        });
      }
      await this.#deps.sleep(CLAIM_RETRY_MS);
    }
  }

  #peer(
    roomId: RoomId,
    id: PeerId,
    username: string | null,
    sink: Peer,
    mode: 'live' | 'pending',
    tokenHash: string,
  ) {
    const limits = this.#deps.broker.sessions.limits;
    const peer = new SessionPeer(id, username, sink, {
      mode,
      epoch: this.#deps.randomId(),
      tokenHash,
      limits,
      arena: this.#arena,
    });
    peer.onSessionEvent = (event) => {
      if (event.phase === 'detached') this.#markers.get(peer)?.();
      else if (
        event.phase === 'takeover' &&
        peer.mode === 'live' &&
        event.tokenHash === peer.tokenHash &&
        event.username === peer.username
      )
        this.#takeOver(roomId, peer);
    };
    return peer;
  }

  /** A newer connection resumes this session: close the old one and hand its stream over. */
  #takeOver(roomId: RoomId, peer: SessionPeer): void {
    peer.close(CloseCode.SessionResumed, 'session resumed on a newer connection');
    this.#detach(roomId, peer);
  }

  #detach(roomId: RoomId, peer: SessionPeer): void {
    peer.startRecording();
    const { sessions } = this.#deps.broker;
    const marker = new Promise<void>((resolve) => this.#markers.set(peer, resolve));
    const task = (async () => {
      try {
        const deadline = this.#deps.now() + this.#deps.graceMs;
        if (!(await sessions.detach(roomId, peer.id, peer.epoch, deadline))) {
          await this.#leave(roomId, peer);
          return;
        }
        // Relays published before the marker are this instance's to number; after it, the broker's.
        await Promise.race([marker, this.#deps.sleep(CLAIM_PATIENCE_MS)]);
        const { history, lastSeq } = peer.endRecording();
        await sessions.seal(roomId, peer.id, history, lastSeq);
      } catch (error) {
        this.#deps.onError?.(error, 'detach');
      } finally {
        peer.end();
        this.#deps.hub.release(roomId, peer);
        this.#forget(roomId, peer);
      }
    })();
    this.#track(task);
  }

  async #leave(roomId: RoomId, peer: SessionPeer): Promise<void> {
    peer.end();
    this.#forget(roomId, peer);
    await this.#deps.hub.leave(roomId, peer);
    await this.#deps.broker.sessions
      .close(roomId, peer.id)
      .catch((error: unknown) => this.#deps.onError?.(error, 'session close'));
  }

  /** Waits until this instance holds no connection of the session any more. */
  async #gone(roomId: RoomId, peerId: PeerId): Promise<void> {
    const deadline = this.#deps.now() + CLAIM_PATIENCE_MS;
    while (this.#local.has(key(roomId, peerId)) && this.#deps.now() < deadline)
      await this.#deps.sleep(CLAIM_RETRY_MS / 5);
  }

  #forget(roomId: RoomId, peer: SessionPeer): void {
    if (this.#local.get(key(roomId, peer.id)) === peer) this.#local.delete(key(roomId, peer.id));
  }

  #track(task: Promise<void>): void {
    this.#inFlight.add(task);
    void task.finally(() => this.#inFlight.delete(task));
  }

  #ice(username: string | null, peerId: PeerId): JoinedSessionFields {
    const ice = this.#deps.iceServers?.(username ?? peerId);
    return ice ? { ice_servers: ice.iceServers, ice_servers_ttl: ice.ttl } : {};
  }
}

function joinFailure(reason: string): 'room_full' | 'unavailable' {
  return reason === 'room_full' ? 'room_full' : 'unavailable';
}

function key(roomId: RoomId, peerId: PeerId): string {
  return `${roomId} ${peerId}`;
}
