/** Bucket state for one key: tokens left and when they were last counted. */
interface Bucket {
  tokens: number;
  updatedAt: number;
}

export interface RateLimiterOptions {
  /** Tokens added per minute. */
  readonly perMinute: number;
  /** Bucket size: how many may come at once. */
  readonly burst: number;
  /** Most keys tracked at once; past it, full (idle) buckets are dropped, then the oldest. */
  readonly maxKeys: number;
  readonly now: () => number;
}

/**
 * Token buckets keyed by client (IP or user). `take` is O(1) and never allocates for a known key.
 * A forgotten key is the same as a full bucket, so sweeping idle keys loses nothing; only when more
 * than `maxKeys` keys are busy at once does the oldest get a fresh bucket early.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #options: RateLimiterOptions;
  readonly #refillPerMs: number;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: RateLimiterOptions) {
    this.#options = options;
    this.#refillPerMs = options.perMinute / 60_000;
  }

  /** Takes one token for `key`; false when the bucket is empty (the message must be dropped). */
  take(key: string): boolean {
    const now = this.#options.now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#options.maxKeys) this.#makeRoom();
      bucket = { tokens: this.#options.burst, updatedAt: now };
      this.#buckets.set(key, bucket);
    } else {
      this.#refill(bucket, now);
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * Sets `key`'s bucket to `tokens` as of now: what the fleet says is left (below zero: a debt the
   * refill pays back before the next message passes). `onlyLower` keeps a bucket already lower.
   */
  setTokens(key: string, tokens: number, onlyLower = false): void {
    const now = this.#options.now();
    const capped = Math.min(this.#options.burst, tokens);
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      this.#refill(bucket, now);
      if (!onlyLower || capped < bucket.tokens) bucket.tokens = capped;
      return;
    }
    if (capped >= this.#options.burst) return;
    if (this.#buckets.size >= this.#options.maxKeys) this.#makeRoom();
    this.#buckets.set(key, { tokens: capped, updatedAt: now });
  }

  /** Drops every bucket that has refilled completely. */
  sweep(): void {
    const now = this.#options.now();
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= this.#options.burst) this.#buckets.delete(key);
    }
  }

  get size(): number {
    return this.#buckets.size;
  }

  #refill(bucket: Bucket, now: number): void {
    const elapsed = now - bucket.updatedAt;
    if (elapsed > 0) {
      bucket.tokens = Math.min(this.#options.burst, bucket.tokens + elapsed * this.#refillPerMs);
      bucket.updatedAt = now;
    }
  }

  #makeRoom(): void {
    // A sweep costs O(keys): at most once a second, or a flood of new keys would pay it on every take.
    const now = this.#options.now();
    if (now - this.#lastSweep >= 1000) {
      this.#lastSweep = now;
      this.sweep();
      if (this.#buckets.size < this.#options.maxKeys) return;
    }
    const oldest = this.#buckets.keys().next();
    if (!oldest.done) this.#buckets.delete(oldest.value);
  }
}
