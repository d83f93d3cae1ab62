import type { DestinationStream } from 'pino';

/** What this batcher needs of pino's destination (a sonic-boom). */
export interface LogSink {
  write(text: string): unknown;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
}

/**
 * Log lines handed to pino's destination in batches of about `batchChars`, joined once.
 *
 * Why not sonic-boom's own buffering (`minLength`): sonic-boom 4.2 and 5.0 append each line to the
 * string they buffer and then measure that string's UTF-8 length (`Buffer.byteLength`) on every
 * write. A string built by appends is a rope, which each measurement flattens again, so a line cost
 * time in proportion to the buffer: 10-11 µs a line with a 4 KiB buffer on the bench machine, most of
 * the two lines each connection logs. Here a line is only pushed onto an array; the batch is joined
 * into one flat string and handed over as a single write.
 */
export class BatchedLogDestination implements DestinationStream {
  readonly #sink: LogSink;
  readonly #batchChars: number;
  #lines: string[] = [];
  #chars = 0;

  constructor(sink: LogSink, batchChars: number) {
    this.#sink = sink;
    this.#batchChars = batchChars;
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#batchChars) this.#handOver();
  }

  /** Hands over what is batched; `cb` as sonic-boom's `flush` calls it. */
  flush(cb?: (err?: Error) => void): void {
    this.#handOver();
    this.#sink.flush(cb);
  }

  /** Hands over what is batched and writes everything out before returning (at exit). */
  flushSync(): void {
    this.#handOver();
    this.#sink.flushSync();
  }

  #handOver(): void {
    if (this.#lines.length === 0) return;
    const text = this.#lines.length === 1 ? (this.#lines[0] as string) : this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    this.#sink.write(text);
  }
}
