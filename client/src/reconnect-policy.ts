import { CloseCode } from '../../src/signaling/errors.js';

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
  /** Smallest delay after the server said `CloseCode.RoomFull` or `CloseCode.RateLimited`, in ms. */
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
 * The verdict for every code in the server's catalog, by name. Keyed by name so that a code added
 * to the catalog does not compile here until someone decides how clients react to it.
 */
const catalogVerdicts: { readonly [Name in keyof typeof CloseCode]: CloseVerdict } = {
  Normal: 'final',
  GoingAway: 'retry',
  MessageTooBig: 'retry',
  InternalError: 'retry',
  TryAgainLater: 'retry',
  InvalidRoom: 'final',
  Unauthorized: 'retry-with-new-token',
  OriginRejected: 'final',
  RoomFull: 'retry-busy',
  Kicked: 'final',
  RateLimited: 'retry-busy',
  // Only ever sent to a connection the client already gave up for a newer one.
  SessionResumed: 'final',
};

/**
 * Policy violation: not a code this server sends, but the standard one for "refused by policy"
 * (RFC 6455), which proxies and gateways in front of it use; retrying cannot change a policy.
 */
const POLICY_VIOLATION = 1008;

const verdicts: ReadonlyMap<number, CloseVerdict> = new Map<number, CloseVerdict>(
  Object.entries(catalogVerdicts).map(([name, verdict]) => [
    CloseCode[name as keyof typeof CloseCode],
    verdict,
  ]),
).set(POLICY_VIOLATION, 'final');

/**
 * Classifies a close code (CONTRACT.md, "Close codes"). Final: `CloseCode.Normal` (closed on
 * purpose), `InvalidRoom`, `OriginRejected` and 1008 (policy). Token: `Unauthorized`. Busy:
 * `RoomFull`, `RateLimited`. Everything else, including `GoingAway` (server shutting down), 1006
 * (connection lost or refused at the upgrade, as a 429 is) and the 1011-1014 range, is worth retrying.
 */
export function classifyClose(code: number): CloseVerdict {
  return verdicts.get(code) ?? 'retry';
}
