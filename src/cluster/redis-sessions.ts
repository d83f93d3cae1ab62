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
import { TOMBSTONE_MS } from './memory-sessions.js';
import type { RedisCommands } from './redis-link.js';
import {
  CLAIM_SCRIPT,
  DETACH_SCRIPT,
  EXPIRE_SCRIPT,
  RELAY_SCRIPT,
  SEAL_SCRIPT,
} from './redis-session-scripts.js';
import { RelayBatches } from './relay-batches.js';
import { decodeRoomEvent } from './room-event-codec.js';

/** What `RedisSessions` needs from the `RedisBroker` it belongs to. */
export interface RedisSessionsHost {
  readonly instanceId: string;
  readonly sharded: boolean;
  channel(roomId: RoomId): string;
  /** The room event as it travels on the channel (JSON text). */
  encode(event: RoomEvent): string | Buffer;
  /** Removes a member (and the room from the listing when it empties); true when it was there. */
  leave(roomId: RoomId, peerId: PeerId): Promise<boolean>;
  publish(roomId: RoomId, event: RoomEvent): Promise<void>;
  room(roomId: RoomId): Promise<RoomSnapshot | null>;
  /** Adds or removes the member from this instance's index (what a reaper removes if it dies). */
  index(roomId: RoomId, peerId: PeerId, held: boolean): Promise<void>;
}

/** Sessions looked at per sweep; the rest wait for the next one, so one sweep stays bounded. */
const SWEEP_BATCH = 64;
/** Buffers outlive the grace by this much, so Redis forgets them even if every instance died. */
const KEY_MARGIN_MS = 60_000;

/**
 * The `SessionStore` of `RedisBroker`: a session is a hash `room:{r}:session:<peer>`, its handed-over
 * history a list `history:<peer>` and what was sent to it while away a list `away:<peer>` (capped by
 * the limits, with expiry), all on the room's hash slot; `room:{r}:detached` lists the room's
 * detached peers, and every relay is published by a script that appends it to their lists in the same
 * step. One sorted set `sessions:deadlines` (score: end of grace) lets any instance end sessions
 * whose instance is gone: resume and expiry do not depend on the instance that held the peer.
 */
export class RedisSessions implements SessionStore {
  readonly limits: SessionLimits;
  readonly #redis: RedisCommands;
  readonly #prefix: string;
  readonly #host: RedisSessionsHost;
  readonly #onError: (error: unknown, context: string) => void;
  #graceMs = 0;
  readonly #relays = new RelayBatches((roomId, args) => this.#sendRelays(roomId, args));

  constructor(
    redis: RedisCommands,
    prefix: string,
    host: RedisSessionsHost,
    limits: SessionLimits,
    onError: (error: unknown, context: string) => void,
  ) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#host = host;
    this.limits = limits;
    this.#onError = onError;
    redis.defineCommand('sessionRelay', { numberOfKeys: 1, lua: RELAY_SCRIPT });
    redis.defineCommand('sessionDetach', { numberOfKeys: 3, lua: DETACH_SCRIPT });
    redis.defineCommand('sessionSeal', { numberOfKeys: 2, lua: SEAL_SCRIPT });
    redis.defineCommand('sessionClaim', { numberOfKeys: 3, lua: CLAIM_SCRIPT });
    redis.defineCommand('sessionExpire', { numberOfKeys: 2, lua: EXPIRE_SCRIPT });
  }

  /**
   * Publishes a relay, appending it to the buffer of each detached recipient in the same step.
   * Relays to one room queued within one turn of the event loop (a client's burst arrives in one
   * read) go in one script call, in order: one command instead of one per relay, and no relay can
   * fall between a session marker and the buffers it starts. Buffers that overflow end their sessions
   * at the next sweep. Resolves once Redis has published the relay.
   */
  publishRelay(roomId: RoomId, event: Extract<RoomEvent, { kind: 'relay' }>): Promise<void> {
    return this.#relays.add(roomId, this.#host.encode(event), event.from, event.to ?? '');
  }

  /** Sends the room's queued relays now: anything published about the room after them stays after. */
  flushRelays(roomId: RoomId): void {
    this.#relays.flush(roomId);
  }

  async #sendRelays(roomId: RoomId, relays: (string | Buffer)[]): Promise<void> {
    const { maxMessages, maxBytes } = this.limits;
    const overflowed = await this.#redis.sessionRelay(
      this.#key(roomId, 'detached'),
      this.#host.channel(roomId),
      maxMessages,
      maxBytes,
      this.#roomKeys(roomId),
      this.#host.sharded ? '1' : '0',
      this.#keyTtl(),
      ...relays,
    );
    if (overflowed.length > 0)
      await this.#redis.zadd(
        this.#deadlines(),
        ...overflowed.flatMap((peerId) => [0, entry(roomId, peerId)]),
      );
  }

  async open(roomId: RoomId, record: SessionRecord): Promise<void> {
    const session = this.#key(roomId, `session:${record.member.peerId}`);
    await this.#redis
      .multi()
      .del(session)
      .hset(session, 'state', 'a', 'user', JSON.stringify(record.member.username), 'token', record.tokenHash)
      .exec();
  }

  async detach(roomId: RoomId, peerId: PeerId, epoch: string, deadline: number): Promise<boolean> {
    this.flushRelays(roomId); // the peer's last relays go before its `detached` marker
    this.#graceMs = Math.max(this.#graceMs, deadline - Date.now());
    const marker = this.#host.encode({ kind: 'session', peerId, phase: 'detached' });
    const done = await this.#redis.sessionDetach(
      this.#key(roomId, 'members'),
      this.#key(roomId, 'detached'),
      this.#key(roomId, `session:${peerId}`),
      peerId,
      this.#roomKeys(roomId),
      epoch,
      deadline,
      this.#keyTtl(),
      this.#host.channel(roomId),
      marker,
      this.#host.sharded ? '1' : '0',
    );
    if (done !== 1) return false;
    await this.#redis.zadd(this.#deadlines(), deadline, entry(roomId, peerId));
    // Detached, the member is nobody's: a reaper of this instance must not remove it.
    await this.#host.index(roomId, peerId, false);
    return true;
  }

  async seal(roomId: RoomId, peerId: PeerId, history: readonly SequencedRelay[], lastSeq: number) {
    const entries = history.map((e) => JSON.stringify([e.seq, text(e.payload)]));
    await this.#redis.sessionSeal(
      this.#key(roomId, `session:${peerId}`),
      this.#key(roomId, `history:${peerId}`),
      lastSeq,
      this.#keyTtl(),
      ...entries,
    );
  }

  async claim(roomId: RoomId, peerId: PeerId, claim: SessionClaim): Promise<ClaimOutcome> {
    this.flushRelays(roomId);
    await this.#host.index(roomId, peerId, true);
    const marker = this.#host.encode({ kind: 'session', peerId, phase: 'resumed' });
    const reply = await this.#redis.sessionClaim(
      this.#key(roomId, 'members'),
      this.#key(roomId, 'detached'),
      this.#key(roomId, `session:${peerId}`),
      peerId,
      this.#roomKeys(roomId),
      JSON.stringify(claim.username),
      claim.tokenHash,
      claim.nextTokenHash,
      this.#host.instanceId,
      claim.force ? '1' : '0',
      this.#host.channel(roomId),
      marker,
      this.#host.sharded ? '1' : '0',
    );
    if (reply[0] !== 'ok') {
      await this.#host.index(roomId, peerId, false);
      return { ok: false, reason: reply[1] as ResumeRefusal | 'attached' | 'unsealed' };
    }
    const [, sealed, epoch, last, memberJson, history, away] = reply as [
      string,
      string,
      string,
      string,
      string,
      string[],
      string[],
    ];
    await this.#redis.zrem(this.#deadlines(), entry(roomId, peerId));
    const room = await this.#host.room(roomId);
    if (!room) return { ok: false, reason: ResumeRefusal.Expired };
    const { username, joinedAt } = JSON.parse(memberJson) as MemberInfo;
    return {
      ok: true,
      member: { peerId, username, joinedAt },
      sealed: sealed === '1',
      epoch,
      lastSeq: Number(last),
      history: history.map((json) => {
        const [seq, payload] = JSON.parse(json) as [number, string];
        return { seq, payload };
      }),
      away: away.flatMap((entry) => {
        const event = decodeRoomEvent(entry);
        return event.kind === 'relay' ? [event.payload] : [];
      }),
      room,
    };
  }

  async close(roomId: RoomId, peerId: PeerId): Promise<void> {
    await this.#redis
      .multi()
      .srem(this.#key(roomId, 'detached'), peerId)
      .del(
        this.#key(roomId, `session:${peerId}`),
        this.#key(roomId, `history:${peerId}`),
        this.#key(roomId, `away:${peerId}`),
      )
      .exec();
    await this.#redis.zrem(this.#deadlines(), entry(roomId, peerId));
  }

  async sweep(now: number): Promise<readonly EndedSession[]> {
    const due = await this.#redis.zrangebyscore(this.#deadlines(), '-inf', now, 'LIMIT', 0, SWEEP_BATCH);
    const ended: EndedSession[] = [];
    for (const item of due) {
      const [roomId, peerId] = split(item);
      try {
        const reason = await this.#redis.sessionExpire(
          this.#key(roomId, 'detached'),
          this.#key(roomId, `session:${peerId}`),
          peerId,
          this.#roomKeys(roomId),
          now,
          Math.ceil(TOMBSTONE_MS / 1000),
        );
        if (reason === null) continue;
        await this.#redis.zrem(this.#deadlines(), item);
        // Only the one script run that ended the session got its reason: only it announces.
        if (reason === 'gone') continue;
        if (await this.#host.leave(roomId, peerId)) {
          await this.#host.publish(roomId, { kind: 'left', peerId });
          ended.push({ roomId, peerId, reason: reason as ResumeRefusal });
        }
      } catch (error) {
        this.#onError(error, 'session sweep');
      }
    }
    return ended;
  }

  #keyTtl(): number {
    return Math.max(this.#graceMs, 30_000) + KEY_MARGIN_MS;
  }

  #deadlines(): string {
    return `${this.#prefix}sessions:deadlines`;
  }

  #roomKeys(roomId: RoomId): string {
    return `${this.#prefix}room:{${roomId}}:`;
  }

  #key(roomId: RoomId, suffix: string): string {
    return `${this.#roomKeys(roomId)}${suffix}`;
  }
}

function entry(roomId: RoomId, peerId: PeerId): string {
  return `${roomId} ${peerId}`;
}

function split(item: string): [RoomId, PeerId] {
  const space = item.indexOf(' ');
  return [item.slice(0, space) as RoomId, item.slice(space + 1)];
}

const decoder = new TextDecoder();

function text(payload: EncodedRelay): string {
  return typeof payload === 'string' ? payload : decoder.decode(payload);
}
