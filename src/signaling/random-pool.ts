import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Bytes from the operating system's CSPRNG, fetched 4 KiB at a time and each handed out once. Every
 * join draws three values (peer id, resume token, epoch); a `randomBytes` call per value cost ~6 µs
 * (a call into OpenSSL and the kernel) on the connect path, a slice of a pooled buffer well under
 * one. Node's own `randomUUID` keeps such a cache for the same reason. The pool lives in this process
 * only (cluster workers are separate processes, each fills its own).
 */
export class RandomPool {
  readonly #pool: Buffer;
  #offset: number;

  constructor(size = 4096) {
    // Not from Buffer's shared pool: these bytes are secrets until handed out.
    this.#pool = Buffer.allocUnsafeSlow(size);
    this.#offset = size;
  }

  /** `length` fresh random bytes, as base64url text. */
  base64url(length: number): string {
    if (length > this.#pool.length) return randomBytes(length).toString('base64url');
    if (this.#offset + length > this.#pool.length) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const start = this.#offset;
    this.#offset += length;
    const text = this.#pool.toString('base64url', start, this.#offset);
    // Handed out: nothing later reads these bytes again, and none stays behind in memory.
    this.#pool.fill(0, start, this.#offset);
    return text;
  }
}

const shared = new RandomPool();

/** `length` random bytes from the process's pool, as base64url (ids, tokens). */
export function randomBase64url(length: number): string {
  return shared.base64url(length);
}
