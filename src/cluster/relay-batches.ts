import type { RoomId } from '../signaling/room-id.js';

/** Relays per script call at most, so one call keeps Redis busy only briefly. */
const MAX_RELAYS_PER_CALL = 64;

/** Relays of one room queued for one call, and the promise their publishers hold. */
class RelayBatch {
  readonly args: (string | Buffer)[] = [];
  resolve!: () => void;
  reject!: (error: unknown) => void;
  readonly done = new Promise<void>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}

/**
 * Relays queued per room until the end of the current turn of the event loop (a client's burst
 * arrives in one read), then handed to `send` as one call, in order: one Redis command instead of one
 * per relay. `flush` sends a room's queue at once, so whatever is published about the room after it
 * stays after it.
 */
export class RelayBatches {
  readonly #send: (roomId: RoomId, args: (string | Buffer)[]) => Promise<void>;
  readonly #pending = new Map<RoomId, RelayBatch>();
  #flushQueued = false;

  /** `send` gets the queued relays as consecutive `(event, from, to)` arguments. */
  constructor(send: (roomId: RoomId, args: (string | Buffer)[]) => Promise<void>) {
    this.#send = send;
  }

  /** Queues one relay; resolves once the call that carries it has succeeded. */
  add(roomId: RoomId, event: string | Buffer, from: string, to: string): Promise<void> {
    let batch = this.#pending.get(roomId);
    if (batch === undefined) {
      batch = new RelayBatch();
      this.#pending.set(roomId, batch);
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(this.#flushAll);
      }
    }
    batch.args.push(event, from, to);
    const done = batch.done;
    if (batch.args.length >= MAX_RELAYS_PER_CALL * 3) this.flush(roomId);
    return done;
  }

  flush(roomId: RoomId): void {
    const batch = this.#pending.get(roomId);
    if (batch === undefined) return;
    this.#pending.delete(roomId);
    this.#send(roomId, batch.args).then(batch.resolve, batch.reject);
  }

  readonly #flushAll = (): void => {
    this.#flushQueued = false;
    for (const roomId of [...this.#pending.keys()]) this.flush(roomId);
  };
}
