/**
 * Concurrent connections per key (client IP or /64). An entry exists only while its count is above
 * zero, so the table is bounded by the number of open connections.
 */
export class ConnectionCounter {
  readonly #counts = new Map<string, number>();
  readonly #max: number;

  constructor(maxPerKey: number) {
    this.#max = maxPerKey;
  }

  /** Counts one more connection for `key`; false (nothing counted) when it already has the maximum. */
  tryAcquire(key: string): boolean {
    const count = this.#counts.get(key) ?? 0;
    if (count >= this.#max) return false;
    this.#counts.set(key, count + 1);
    return true;
  }

  /** Releases one connection counted by `tryAcquire`. Call exactly once per successful acquire. */
  release(key: string): void {
    const count = this.#counts.get(key) ?? 0;
    if (count <= 1) this.#counts.delete(key);
    else this.#counts.set(key, count - 1);
  }

  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  get size(): number {
    return this.#counts.size;
  }
}
