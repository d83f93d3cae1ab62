import type { MemberInfo, RoomEvent, RoomSnapshot } from '../signaling/broker.js';
import { ResumeRefusal } from '../signaling/errors.js';
import type { EncodedRelay, PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import type {
  ClaimOutcome,
  EndedSession,
  SequencedRelay,
  SessionClaim,
  SessionLimits,
  SessionRecord,
  SessionStore,
} from '../signaling/session-store.js';

/** How long an ended session's tombstone tells late clients why. */
export const TOMBSTONE_MS = 10 * 60_000;

/** What a `MemorySessions` needs from the broker it belongs to. */
export interface MemorySessionsHost {
  member(roomId: RoomId, peerId: PeerId): MemberInfo | undefined;
  room(roomId: RoomId): Promise<RoomSnapshot | null>;
  leave(roomId: RoomId, peerId: PeerId): Promise<boolean>;
  publish(roomId: RoomId, event: RoomEvent): void;
}

interface Held {
  readonly record: SessionRecord;
  detached: boolean;
  epoch: string;
  deadline: number;
  sealed: boolean;
  lastSeq: number;
  history: readonly SequencedRelay[];
  away: EncodedRelay[];
  bytes: number;
  overflow: boolean;
}

/**
 * The in-process `SessionStore` of `MemoryBroker`: sessions in a Map, relays buffered synchronously
 * inside the broker's `publish`, so nothing can fall between a marker and a relay. Lost with the
 * process: after a restart every resume is refused (`resume_unknown`) and clients join fresh.
 */
export class MemorySessions implements SessionStore {
  readonly limits: SessionLimits;
  readonly #host: MemorySessionsHost;
  readonly #now: () => number;
  readonly #held = new Map<string, Held>();
  readonly #ended = new Map<string, { reason: ResumeRefusal; until: number }>();
  /** Detached sessions per room, so a publish to a room without any costs one Map lookup. */
  readonly #detachedIn = new Map<RoomId, Map<PeerId, Held>>();

  constructor(host: MemorySessionsHost, limits: SessionLimits, now: () => number) {
    this.#host = host;
    this.limits = limits;
    this.#now = now;
  }

  /** Called by the broker for every relay before it is delivered: keeps it for detached recipients. */
  buffer(roomId: RoomId, from: PeerId, to: PeerId | undefined, payload: EncodedRelay): void {
    const detached = this.#detachedIn.get(roomId);
    if (detached === undefined) return;
    for (const [peerId, held] of detached) {
      if (peerId === from || (to !== undefined && to !== peerId) || held.overflow) continue;
      held.away.push(payload);
      held.bytes += payload.length;
      if (held.away.length > this.limits.maxMessages || held.bytes > this.limits.maxBytes) {
        held.overflow = true;
        held.away = [];
        held.deadline = 0;
      }
    }
  }

  async open(roomId: RoomId, record: SessionRecord): Promise<void> {
    this.#held.set(key(roomId, record.member.peerId), {
      record,
      detached: false,
      epoch: '',
      deadline: 0,
      sealed: false,
      lastSeq: 0,
      history: [],
      away: [],
      bytes: 0,
      overflow: false,
    });
  }

  async detach(roomId: RoomId, peerId: PeerId, epoch: string, deadline: number): Promise<boolean> {
    const held = this.#held.get(key(roomId, peerId));
    if (!held || held.detached || !this.#host.member(roomId, peerId)) return false;
    Object.assign(held, { detached: true, epoch, deadline, sealed: false, away: [], bytes: 0 });
    const room = this.#detachedIn.get(roomId) ?? new Map<PeerId, Held>();
    this.#detachedIn.set(roomId, room);
    room.set(peerId, held);
    this.#host.publish(roomId, { kind: 'session', peerId, phase: 'detached' });
    return true;
  }

  async seal(roomId: RoomId, peerId: PeerId, history: readonly SequencedRelay[], lastSeq: number) {
    const held = this.#held.get(key(roomId, peerId));
    if (!held?.detached) return;
    Object.assign(held, { sealed: true, history, lastSeq });
  }

  async claim(roomId: RoomId, peerId: PeerId, claim: SessionClaim): Promise<ClaimOutcome> {
    const id = key(roomId, peerId);
    const held = this.#held.get(id);
    if (!held) {
      const ended = this.#ended.get(id);
      return { ok: false, reason: ended && ended.until > this.#now() ? ended.reason : ResumeRefusal.Unknown };
    }
    if (held.record.member.username !== claim.username) return { ok: false, reason: ResumeRefusal.WrongUser };
    if (held.record.tokenHash !== claim.tokenHash) return { ok: false, reason: ResumeRefusal.TokenUsed };
    if (held.overflow) return { ok: false, reason: ResumeRefusal.Overflow };
    if (!held.detached) return { ok: false, reason: 'attached' };
    if (!held.sealed && !claim.force) return { ok: false, reason: 'unsealed' };
    this.#undetach(roomId, peerId);
    this.#held.set(id, {
      ...held,
      record: { ...held.record, tokenHash: claim.nextTokenHash },
      detached: false,
    });
    this.#host.publish(roomId, { kind: 'session', peerId, phase: 'resumed' });
    const room = await this.#host.room(roomId);
    if (!room) return { ok: false, reason: ResumeRefusal.Unknown };
    const { sealed, epoch, lastSeq, history, away } = held;
    return { ok: true, member: held.record.member, sealed, epoch, lastSeq, history, away, room };
  }

  async close(roomId: RoomId, peerId: PeerId): Promise<void> {
    this.#undetach(roomId, peerId);
    this.#held.delete(key(roomId, peerId));
  }

  async sweep(now: number): Promise<readonly EndedSession[]> {
    const ended: EndedSession[] = [];
    for (const [roomId, room] of [...this.#detachedIn]) {
      for (const [peerId, held] of [...room]) {
        if (!held.overflow && held.deadline > now) continue;
        const reason = held.overflow ? ResumeRefusal.Overflow : ResumeRefusal.Expired;
        await this.close(roomId, peerId);
        this.#ended.set(key(roomId, peerId), { reason, until: now + TOMBSTONE_MS });
        if (await this.#host.leave(roomId, peerId)) {
          this.#host.publish(roomId, { kind: 'left', peerId });
          ended.push({ roomId, peerId, reason });
        }
      }
    }
    for (const [id, tombstone] of this.#ended) if (tombstone.until <= now) this.#ended.delete(id);
    return ended;
  }

  #undetach(roomId: RoomId, peerId: PeerId): void {
    const room = this.#detachedIn.get(roomId);
    if (room?.delete(peerId) && room.size === 0) this.#detachedIn.delete(roomId);
  }
}

function key(roomId: RoomId, peerId: PeerId): string {
  return `${roomId} ${peerId}`;
}
