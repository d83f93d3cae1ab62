import type { AuthFailureStore } from '../security/limit-stores.js';

/**
 * Counts the address blocks this instance imposed that are still in force, by watching the auth
 * failure store it wraps: a `recordFailure` that answers true started a block of `blockSeconds`.
 * Summed over a fleet this is every active block, since each block is started by one instance.
 */
export class ActiveBlocks {
  readonly #blockMs: number;
  readonly #now: () => number;
  readonly #until = new Map<string, number>();

  constructor(blockSeconds: number, now: () => number) {
    this.#blockMs = blockSeconds * 1000;
    this.#now = now;
  }

  /** The same store, answering exactly as before, with the blocks it starts counted here. */
  watch(store: AuthFailureStore): AuthFailureStore {
    const record = (ipKey: string, blocked: boolean) => {
      if (blocked) this.#until.set(ipKey, this.#now() + this.#blockMs);
      return blocked;
    };
    return {
      checkIp: (ipKey) => store.checkIp(ipKey),
      checkUsername: (username) => store.checkUsername(username),
      recordSuccess: (username) => store.recordSuccess(username),
      beginLogin: (ipKey) => store.beginLogin(ipKey),
      unblock: (ipKey) => {
        this.#until.delete(ipKey);
        return store.unblock(ipKey);
      },
      endLogin: (ipKey, username, outcome) => {
        const blocked = store.endLogin(ipKey, username, outcome);
        return typeof blocked === 'boolean' ? record(ipKey, blocked) : blocked.then((b) => record(ipKey, b));
      },
      recordFailure: (ipKey, username) => {
        const blocked = store.recordFailure(ipKey, username);
        return typeof blocked === 'boolean' ? record(ipKey, blocked) : blocked.then((b) => record(ipKey, b));
      },
    };
  }

  /** Blocks still in force; expired ones are forgotten. */
  count(): number {
    const now = this.#now();
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
    return this.#until.size;
  }
}
