/** How many logins may be in flight, per address, per username and in all. */
export interface LoginLimiterOptions {
  /** Logins of one client address (its limit key) in flight at once; more are refused. */
  readonly maxPerAddress: number;
  /** Password checks of one username at once; more wait their turn. */
  readonly maxPerUsername: number;
  /** Password checks at once in this process (`LOGIN_MAX_CONCURRENT`); more wait their turn. */
  readonly maxConcurrent: number;
  /** Logins waiting for a turn at most (`LOGIN_QUEUE_LENGTH`); past it they are refused. */
  readonly maxQueued: number;
}

/** One admitted login: its place in its address's count until `leave`. */
export interface LoginTicket {
  /**
   * Waits (FIFO) for a turn to check a password of `username`: one of the username's places and one
   * of the process's. Resolves false at once, holding nothing, when the wait queue is full.
   */
  hashing(username: string): Promise<boolean>;
  /** Gives back everything the ticket holds; call exactly once, whatever happened. */
  leave(): void;
}

/**
 * Bounds the password hashing logins cause, in this process: argon2 takes tens of milliseconds of
 * a libuv thread each, so logins sent at once would otherwise occupy every thread for seconds. An
 * address gets `maxPerAddress` logins in flight (its own concurrency, refused past it); password
 * checks run `maxConcurrent` at a time and `maxPerUsername` per username, the rest waiting in a
 * queue of at most `maxQueued` (refused past it, for the caller to answer 503 + Retry-After).
 */
export class LoginLimiter {
  readonly #options: LoginLimiterOptions;
  readonly #inFlight = new Map<string, number>();
  readonly #lanes = new Map<string, Slots>();
  readonly #global: Slots;
  #queued = 0;

  constructor(options: LoginLimiterOptions) {
    this.#options = options;
    this.#global = new Slots(options.maxConcurrent);
  }

  /** Admits one login of `addressKey`, or null when that address already has its maximum in flight. */
  enter(addressKey: string): LoginTicket | null {
    const current = this.#inFlight.get(addressKey) ?? 0;
    if (current >= this.#options.maxPerAddress) return null;
    this.#inFlight.set(addressKey, current + 1);
    let lane: { slots: Slots; key: string } | null = null;
    let global = false;
    let left = false;
    return {
      hashing: async (username) => {
        const key = username.toLowerCase();
        const slots = this.#lane(key);
        if (!(await this.#take(slots))) {
          this.#dropIdleLane(key, slots);
          return false;
        }
        lane = { slots, key };
        if (!(await this.#take(this.#global))) return false;
        global = true;
        return true;
      },
      leave: () => {
        if (left) return;
        left = true;
        const n = (this.#inFlight.get(addressKey) ?? 1) - 1;
        if (n > 0) this.#inFlight.set(addressKey, n);
        else this.#inFlight.delete(addressKey);
        if (global) this.#global.give();
        if (lane) {
          lane.slots.give();
          this.#dropIdleLane(lane.key, lane.slots);
        }
      },
    };
  }

  /** Logins currently waiting for a turn, for diagnostics. */
  get queued(): number {
    return this.#queued;
  }

  async #take(slots: Slots): Promise<boolean> {
    if (slots.tryTake()) return true;
    if (this.#queued >= this.#options.maxQueued) return false;
    this.#queued += 1;
    await slots.wait();
    this.#queued -= 1;
    return true;
  }

  #lane(key: string): Slots {
    let slots = this.#lanes.get(key);
    if (!slots) {
      slots = new Slots(this.#options.maxPerUsername);
      this.#lanes.set(key, slots);
    }
    return slots;
  }

  #dropIdleLane(key: string, slots: Slots): void {
    if (slots.idle && this.#lanes.get(key) === slots) this.#lanes.delete(key);
  }
}

/** A counting semaphore whose waiters are served in arrival order. */
class Slots {
  readonly #size: number;
  #free: number;
  readonly #waiters: Array<() => void> = [];

  constructor(size: number) {
    this.#size = size;
    this.#free = size;
  }

  get idle(): boolean {
    return this.#free === this.#size && this.#waiters.length === 0;
  }

  tryTake(): boolean {
    if (this.#free === 0) return false;
    this.#free -= 1;
    return true;
  }

  /** Resolves once a slot has been handed to this waiter. */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  give(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#free += 1;
  }
}
