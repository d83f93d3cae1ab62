/**
 * Running totals of one instance's WebSocket traffic. Written on the hot path with plain integer
 * increments (no labels, no allocation once a close code has been seen) and read by the metrics at
 * scrape time. Message bytes are payload bytes, without WebSocket framing.
 */
export class TrafficCounters {
  /** Client messages read (every text or binary message, admitted or not). */
  messagesIn = 0;
  bytesIn = 0;
  /** Messages the server wrote (relays, presence, pongs, errors). */
  messagesOut = 0;
  bytesOut = 0;
  /** Close frames the server sent, by close code. */
  readonly closeCodes = new Map<number, number>();

  /** Counts one close frame sent with `code`. */
  countClose(code: number): void {
    this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
  }
}
