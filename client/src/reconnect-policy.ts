/** Exponential backoff settings for reconnecting. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  readonly initialDelayMs: number;
  /** Upper bound of any delay, in ms. */
  readonly maxDelayMs: number;
  /** Growth per attempt. */
  readonly factor: number;
  /** Fraction of each delay that is random (0: none, 1: "full jitter"). */
  readonly jitter: number;
  /** Smallest delay after the server said "room full" (4409) or "rate limited" (4429), in ms. */
  readonly busyDelayMs: number;
  /** Give up after this many consecutive failed attempts. */
  readonly maxAttempts: number;
}

/** Defaults: 1 s, doubling, capped at 30 s, half of each delay random, 5 s when the server is busy. */
export const defaultBackoff: BackoffOptions = Object.freeze({
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: 0.5,
  busyDelayMs: 5000,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/**
 * The delay before retry number `attempt` (0-based): `initialDelayMs * factor^attempt`, capped at
 * `maxDelayMs`, of which the `jitter` fraction is scaled by `random()` so that many clients cut off
 * at once (a server restart) do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(
    options.maxDelayMs,
    options.initialDelayMs * options.factor ** Math.max(0, attempt),
  );
  const fixed = ceiling * (1 - options.jitter);
  return Math.round(fixed + ceiling * options.jitter * random());
}

/** How the client reacts to a close code. */
export type CloseVerdict =
  /** Do not reconnect: retrying cannot succeed. */
  | 'final'
  /** Reconnect after a backoff delay. */
  | 'retry'
  /** Reconnect after at least `busyDelayMs`: the server asked us to slow down. */
  | 'retry-busy'
  /** Reconnect only if `getToken()` yields a token different from the one that was refused. */
  | 'retry-with-new-token';

/**
 * Classifies a close code (CONTRACT.md, "Close codes"). Final: 1000 (closed on purpose), 1008
 * (policy), 4400 (invalid room id), 4403 (origin not allowed). Token: 4401. Busy: 4409, 4429.
 * Everything else, including 1001 (server shutting down), 1006 (connection lost or refused at the
 * upgrade, as a 429 is) and 1011-1014, is worth retrying.
 */
export function classifyClose(code: number): CloseVerdict {
  switch (code) {
    case 1000:
    case 1008:
    case 4400:
    case 4403:
      return 'final';
    case 4401:
      return 'retry-with-new-token';
    case 4409:
    case 4429:
      return 'retry-busy';
    default:
      return 'retry';
  }
}
