/** A listener for one event type; it receives the event's payload. */
export type Listener<T> = (payload: T) => void;

/**
 * A minimal typed event emitter (browsers have EventTarget, but its events are untyped and its
 * payloads must be Event subclasses). Listeners run synchronously in subscription order; a listener
 * that throws is reported and does not stop the others or the emitter's own state machine.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();

  /** Subscribes to `type`; returns a function that unsubscribes. */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  /** Subscribes to the next `type` event only. */
  once<K extends keyof Events>(type: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(type, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** Removes a listener added with `on`; unknown listeners are ignored. */
  off<K extends keyof Events>(type: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(type)?.delete(listener as Listener<never>);
  }

  /** Delivers `payload` to every current listener of `type`. */
  protected emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    const set = this.#listeners.get(type);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(payload);
      } catch (error) {
        // An application bug must not leave the client half-way through a state change.
        console.error(`listener for "${String(type)}" threw`, error);
      }
    }
  }
}
