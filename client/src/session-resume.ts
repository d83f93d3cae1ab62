import type { ServerMessageOf } from './protocol.js';

/** What a reconnect presents to resume: `?resume=<token>&last_seq=<n>`. */
export interface ResumeParams {
  readonly token: string;
  readonly lastSeq: number;
}

/**
 * The client's side of a resumable session: the current single-use `resume_token` (replaced by each
 * `joined`), the stream's `epoch`, and the `seq` of the last relayed message processed, so a
 * reconnect gets exactly what was missed. Forgotten on a deliberate disconnect.
 */
export class SessionResume {
  #token: string | null = null;
  #epoch: string | null = null;
  #lastSeq = 0;

  /** The parameters of the next reconnect, or null when there is nothing to resume. */
  get params(): ResumeParams | null {
    return this.#token === null ? null : { token: this.#token, lastSeq: this.#lastSeq };
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** A `joined` arrived: take its new token; a new epoch (or a fresh join) restarts the count. */
  joined(message: ServerMessageOf<'joined'>): void {
    this.#token = message.resume_token ?? null;
    if (!message.resumed || message.epoch !== this.#epoch) this.#lastSeq = 0;
    this.#epoch = message.epoch ?? null;
  }

  /** A relayed message numbered `seq` has been handled by every listener. */
  processed(seq: number): void {
    if (seq > this.#lastSeq) this.#lastSeq = seq;
  }

  clear(): void {
    this.#token = null;
    this.#epoch = null;
    this.#lastSeq = 0;
  }
}
