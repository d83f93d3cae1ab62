import { randomBytes } from 'node:crypto';
import type {
  Broker,
  JoinOptions,
  JoinOutcome,
  LocalMembership,
  MemberInfo,
  RoomEvent,
  RoomEventListener,
  RoomLifecycle,
  RoomSnapshot,
  RoomSummary,
} from '../signaling/broker.js';
import type { EncodedRelay, PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';
import type { SessionStore } from '../signaling/session-store.js';
import type { NegotiationTracker } from './negotiation-tracker.js';

/** What the instrumented broker reports; each callback must only count and never throw. */
export interface BrokerObserver {
  /** A broker command (join, leave, rooms, room, health) took `seconds`; `ok` false when it failed. */
  command(operation: string, seconds: number, ok: boolean): void;
  /** One sampled relay publish took `seconds` to be accepted by the broker (remote brokers only). */
  publish(seconds: number): void;
  /** A peer joined through this instance; `roomSize` is the room's size across the fleet after it. */
  joined(roomSize: number): void;
}

/** One publish in this many is timed: enough for a latency histogram, nothing per message otherwise. */
const PUBLISH_SAMPLE_EVERY = 8;
/** Relays sent to this id reach nobody: peer ids are base64url, which has no `~`. */
const BARRIER_FROM = '~drain-barrier';

/**
 * A `Broker` that measures the one it wraps and feeds the negotiation tracker, without changing what
 * it does: same results, same delivery, same order. It also provides the drain barrier (`flush`).
 */
export class InstrumentedBroker implements Broker {
  readonly kind: 'memory' | 'redis';
  readonly sessions: SessionStore;
  readonly #inner: Broker;
  readonly #observer: BrokerObserver;
  readonly #negotiations: NegotiationTracker;
  readonly #subscribed = new Map<RoomId, number>();
  readonly #barriers = new Map<string, () => void>();
  #publishes = 0;

  constructor(inner: Broker, observer: BrokerObserver, negotiations: NegotiationTracker) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.sessions = inner.sessions;
    this.#observer = observer;
    this.#negotiations = negotiations;
  }

  async subscribe(roomId: RoomId, listener: RoomEventListener): Promise<() => Promise<void>> {
    const negotiations = this.#negotiations;
    const unsubscribe = await this.#inner.subscribe(roomId, (event) => {
      if (event.kind === 'relay') {
        if (event.from === BARRIER_FROM) {
          this.#barriers.get(event.to ?? '')?.();
          return;
        }
        if (negotiations.awaitsAnswer(roomId, event.from, event.to) && relayType(event.payload) === 'answer')
          negotiations.answered(roomId, event.from, event.to);
      }
      listener(event);
    });
    this.#subscribed.set(roomId, (this.#subscribed.get(roomId) ?? 0) + 1);
    let done = false;
    return async () => {
      if (!done) {
        done = true;
        const left = (this.#subscribed.get(roomId) ?? 1) - 1;
        if (left > 0) this.#subscribed.set(roomId, left);
        else this.#subscribed.delete(roomId);
      }
      await unsubscribe();
    };
  }

  publish(roomId: RoomId, event: RoomEvent): void | Promise<void> {
    const sent = this.#inner.publish(roomId, event);
    if (sent === undefined) return sent;
    this.#publishes += 1;
    if (this.#publishes % PUBLISH_SAMPLE_EVERY !== 0) return sent;
    const started = performance.now();
    return sent.then(() => this.#observer.publish((performance.now() - started) / 1000));
  }

  async join(
    roomId: RoomId,
    member: MemberInfo,
    maxPeers: number,
    options?: JoinOptions,
  ): Promise<JoinOutcome> {
    const outcome = await this.#timed('join', () => this.#inner.join(roomId, member, maxPeers, options));
    if (outcome.ok) {
      this.#negotiations.joined(roomId, member.peerId);
      this.#observer.joined(outcome.room.members.length);
    }
    return outcome;
  }

  async leave(roomId: RoomId, peerId: PeerId): Promise<boolean> {
    this.#negotiations.left(roomId, peerId);
    return this.#timed('leave', () => this.#inner.leave(roomId, peerId));
  }

  rooms(): Promise<readonly RoomSummary[]> {
    return this.#timed('rooms', () => this.#inner.rooms());
  }

  room(roomId: RoomId): Promise<RoomSnapshot | null> {
    return this.#timed('room', () => this.#inner.room(roomId));
  }

  roomCount(): Promise<number> {
    return this.#timed('room_count', () => this.#inner.roomCount());
  }

  isHealthy(): Promise<boolean> {
    return this.#timed('health', () => this.#inner.isHealthy());
  }

  bindLocalMembership(source: LocalMembership): void {
    this.#inner.bindLocalMembership(source);
  }

  observeRooms(lifecycle: RoomLifecycle): void {
    this.#inner.observeRooms(lifecycle);
  }

  setMetadata(roomId: RoomId, metadata: string): Promise<void> {
    return this.#timed('set_metadata', () => this.#inner.setMetadata(roomId, metadata));
  }

  denyToken(jti: string, expiresAt: number): Promise<void> {
    return this.#timed('deny_token', () => this.#inner.denyToken(jti, expiresAt));
  }

  isTokenDenied(jti: string): Promise<boolean> {
    return this.#timed('token_denied', () => this.#inner.isTokenDenied(jti));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  /**
   * Resolves once every event this instance published before the call has been delivered to this
   * instance's subscribers (a marker published to each subscribed room comes back after them, by the
   * broker's per-publisher order), or after `timeoutMs`. Resolves true when every marker came back.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const rooms = [...this.#subscribed.keys()];
    if (rooms.length === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const markers = rooms.map((roomId) => {
      const id = `~${randomBytes(9).toString('base64url')}`;
      const back = new Promise<true>((resolve) => this.#barriers.set(id, () => resolve(true)));
      const event: RoomEvent = { kind: 'relay', from: BARRIER_FROM, to: id, payload: '{}' };
      Promise.resolve(this.#inner.publish(roomId, event)).catch(() => {});
      return back.finally(() => this.#barriers.delete(id));
    });
    try {
      return await Promise.race([Promise.all(markers).then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
      this.#barriers.clear();
    }
  }

  async #timed<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await run();
      this.#observer.command(operation, (performance.now() - started) / 1000, true);
      return result;
    } catch (error) {
      this.#observer.command(operation, (performance.now() - started) / 1000, false);
      throw error;
    }
  }
}

const ANSWER = Buffer.from('answer');
const UNICODE_ESCAPE = Buffer.from('\\u');

/**
 * The `type` of an encoded relay; looked at only while an offer waits for its answer. An answer's
 * JSON holds the bytes `answer` (its type and its key), unless the client spelled them with `\u`
 * escapes, the only JSON escape that can produce a letter: a payload with neither cannot be an
 * answer and is not parsed. Parsing every relay between two peers with an offer pending cost ~9 %
 * of the relay's CPU (a second UTF-8 decode and JSON.parse per message).
 */
function relayType(payload: EncodedRelay): string | undefined {
  if (typeof payload === 'string') {
    if (!payload.includes('answer') && !payload.includes('\\u')) return undefined;
  } else {
    const bytes = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    if (bytes.indexOf(ANSWER) === -1 && bytes.indexOf(UNICODE_ESCAPE) === -1) return undefined;
  }
  try {
    const text =
      typeof payload === 'string'
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    const parsed = JSON.parse(text) as { type?: unknown };
    return typeof parsed.type === 'string' ? parsed.type : undefined;
  } catch {
    return undefined;
  }
}
