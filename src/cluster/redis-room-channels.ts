import type { RoomEvent, RoomEventListener } from '../signaling/broker.js';
import type { RoomId } from '../signaling/room-id.js';
import type { RedisLink } from './redis-link.js';
import { decodeRoomEvent, encodeRoomEvent } from './room-event-codec.js';

/**
 * Room events over Redis pub/sub: one channel per room, `${prefix}events:{roomId}`, whose hash tag
 * puts it on the shard of the room's keys when the link is a Cluster (sharded pub/sub). One Redis
 * subscription per room however many local listeners; each listener gets every event once, in the
 * order one publisher sent them.
 */
export class RoomChannels {
  readonly #link: RedisLink;
  readonly #prefix: string;
  readonly #onError: (error: unknown, context: string) => void;
  readonly #listeners = new Map<string, Set<RoomEventListener>>();

  constructor(link: RedisLink, prefix: string, onError: (error: unknown, context: string) => void) {
    this.#link = link;
    this.#prefix = prefix;
    this.#onError = onError;
    link.onMessage((channel, message) => this.#dispatch(channel, message));
  }

  /** Resolves once the room's events reach `listener`, with the function that stops them. */
  async subscribe(roomId: RoomId, listener: RoomEventListener): Promise<() => Promise<void>> {
    const channel = this.#channel(roomId);
    let set = this.#listeners.get(channel);
    if (!set) {
      set = new Set();
      this.#listeners.set(channel, set);
      try {
        await this.#link.subscribe(channel);
      } catch (error) {
        this.#listeners.delete(channel);
        throw error;
      }
    }
    set.add(listener);
    return async () => {
      const current = this.#listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.#listeners.delete(channel);
      await this.#link.unsubscribe(channel).catch((error: unknown) => this.#onError(error, 'unsubscribe'));
    };
  }

  /** Sends `event` to every instance subscribed to the room; resolves once Redis has it. */
  async publish(roomId: RoomId, event: RoomEvent): Promise<void> {
    await this.#link.publish(this.#channel(roomId), this.encode(event));
  }

  /** The event as it travels on the channel (`room-event-codec.ts`). */
  encode(event: RoomEvent): string | Buffer {
    return encodeRoomEvent(event);
  }

  /** The room's channel name (for scripts that publish on it themselves). */
  channel(roomId: RoomId): string {
    return this.#channel(roomId);
  }

  /** Forgets every listener (the link is closing). */
  clear(): void {
    this.#listeners.clear();
  }

  #dispatch(channelBytes: Buffer, message: Buffer): void {
    const set = this.#listeners.get(channelBytes.toString());
    if (!set) return;
    let event: RoomEvent;
    try {
      event = decodeRoomEvent(message);
    } catch (error) {
      this.#onError(error, 'malformed event on the room channel');
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        this.#onError(error, 'room event listener');
      }
    }
  }

  #channel(roomId: RoomId): string {
    return `${this.#prefix}events:{${roomId}}`;
  }
}
