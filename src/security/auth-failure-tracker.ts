export interface AuthFailureTrackerOptions {
  /** Failures from one IP within `windowSeconds` before it is blocked. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
  readonly blockSeconds: number;
  /** Most IPs and usernames tracked each; past it the oldest entry is forgotten. */
  readonly maxEntries: number;
  readonly now: () => number;
}

/** Whether a request may try to authenticate now, and if not for how long it must wait. */
export type AuthGate =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

interface FailureWindow {
  /** Start of the current counting window (ms). */
  windowStart: number;
  count: number;
  /** Blocked (IP) or throttled (username) until this time (ms); 0 when not. */
  until: number;
}

const ALLOWED: AuthGate = { allowed: true };
/** What a login refused because earlier attempts of its address are still being checked waits. */
const PENDING_RETRY: AuthGate = { allowed: false, retryAfterSeconds: 1 };

/** How a login that `beginLogin` admitted ended: `abandoned` ones never had their password checked. */
export type LoginOutcome = 'failed' | 'succeeded' | 'abandoned';
/** Throttle for one username: one attempt per this many seconds, doubling, at most the cap. */
export const USERNAME_BASE_DELAY_SECONDS = 2;
export const USERNAME_MAX_DELAY_SECONDS = 60;
const FULL_SWEEP_INTERVAL_MS = 1000;
/** How many of the oldest entries eviction looks at for one that is not an active block. */
const EVICTION_SCAN_LIMIT = 64;

/**
 * Tracks failed logins and failed token checks. Per IP: `maxFailures` within the window blocks the
 * IP for `blockSeconds` (even the right password is refused then). Per username: past `maxFailures`
 * (counted from every IP) each further attempt must wait 2, 4, 8 … up to 60 seconds, so guessing one
 * account from many addresses is slowed while the real user is never locked out for longer than a
 * minute; a successful login clears the username's count. Blocks expire by themselves; both tables
 * are bounded by `maxEntries` and swept of expired entries.
 */
export class AuthFailureTracker {
  readonly #options: AuthFailureTrackerOptions;
  readonly #byIp = new Map<string, FailureWindow>();
  readonly #byUsername = new Map<string, FailureWindow>();
  /** Logins admitted by `beginLogin` and not yet ended, per IP. */
  readonly #pendingByIp = new Map<string, number>();
  #lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(options: AuthFailureTrackerOptions) {
    this.#options = options;
  }

  /** May this IP try at all? (Checked at login and at the WebSocket upgrade.) */
  checkIp(ipKey: string): AuthGate {
    return this.#gate(this.#byIp, ipKey);
  }

  /** Lifts the block of this IP and forgets its failures. */
  unblock(ipKey: string): void {
    this.#byIp.delete(ipKey);
  }

  /** May someone try this username now? */
  checkUsername(username: string): AuthGate {
    return this.#gate(this.#byUsername, username.toLowerCase());
  }

  /**
   * Admits one login from this IP before its password is checked, counting it as a failure in
   * advance: refused while the IP is blocked, or while its failures in the window plus the logins
   * still being checked reach `maxFailures` (then for a second: those will have ended). So logins
   * sent at once can never check more passwords than the limit allows. `endLogin` settles it.
   */
  beginLogin(ipKey: string): AuthGate {
    const gate = this.checkIp(ipKey);
    if (!gate.allowed) return gate;
    const pending = this.#pendingByIp.get(ipKey) ?? 0;
    const entry = this.#byIp.get(ipKey);
    const failures = entry && !this.#expired(entry, this.#options.now()) ? entry.count : 0;
    if (failures + pending >= this.#options.maxFailures) return PENDING_RETRY;
    this.#pendingByIp.set(ipKey, pending + 1);
    return ALLOWED;
  }

  /**
   * Ends a login `beginLogin` admitted: a failure is recorded as `recordFailure` does (returns true
   * when it just blocked the IP), a success clears the username's failures, an abandoned one (never
   * checked) only gives its place back.
   */
  endLogin(ipKey: string, username: string, outcome: LoginOutcome): boolean {
    const pending = (this.#pendingByIp.get(ipKey) ?? 0) - 1;
    if (pending > 0) this.#pendingByIp.set(ipKey, pending);
    else this.#pendingByIp.delete(ipKey);
    if (outcome === 'failed') return this.recordFailure(ipKey, username);
    if (outcome === 'succeeded') this.recordSuccess(username);
    return false;
  }

  /** Records a failure; returns true when it just caused the IP to be blocked. */
  recordFailure(ipKey: string, username?: string): boolean {
    const now = this.#options.now();
    const ip = this.#entry(this.#byIp, ipKey, now);
    ip.count += 1;
    let blocked = false;
    if (ip.count >= this.#options.maxFailures && ip.until <= now) {
      ip.until = now + this.#options.blockSeconds * 1000;
      // The block answers these failures; counting starts afresh once it is over.
      ip.count = 0;
      ip.windowStart = ip.until - this.#options.windowSeconds * 1000;
      blocked = true;
    }
    if (username !== undefined) {
      const user = this.#entry(this.#byUsername, username.toLowerCase(), now);
      user.count += 1;
      const excess = user.count - this.#options.maxFailures;
      if (excess >= 0) {
        const delay = Math.min(
          USERNAME_MAX_DELAY_SECONDS,
          USERNAME_BASE_DELAY_SECONDS * 2 ** Math.min(excess, 10),
        );
        user.until = now + delay * 1000;
      }
    }
    return blocked;
  }

  /** A successful login clears the username's failures (not the IP's: a block stands until it expires). */
  recordSuccess(username: string): void {
    this.#byUsername.delete(username.toLowerCase());
  }

  /** Forgets windows and blocks that have run out. */
  sweep(): void {
    const now = this.#options.now();
    for (const table of [this.#byIp, this.#byUsername]) {
      for (const [key, entry] of table) if (this.#expired(entry, now)) table.delete(key);
    }
  }

  get trackedIps(): number {
    return this.#byIp.size;
  }

  get trackedUsernames(): number {
    return this.#byUsername.size;
  }

  #gate(table: Map<string, FailureWindow>, key: string): AuthGate {
    const entry = table.get(key);
    if (!entry) return ALLOWED;
    const now = this.#options.now();
    if (entry.until > now)
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((entry.until - now) / 1000)) };
    return ALLOWED;
  }

  #entry(table: Map<string, FailureWindow>, key: string, now: number): FailureWindow {
    let entry = table.get(key);
    if (entry && this.#expired(entry, now)) {
      table.delete(key);
      entry = undefined;
    }
    if (!entry) {
      if (table.size >= this.#options.maxEntries) this.#evict(table, now);
      entry = { windowStart: now, count: 0, until: 0 };
      table.set(key, entry);
    }
    return entry;
  }

  #expired(entry: FailureWindow, now: number): boolean {
    return entry.until <= now && now - entry.windowStart >= this.#options.windowSeconds * 1000;
  }

  #evict(table: Map<string, FailureWindow>, now: number): void {
    // A full sweep costs O(table); do it at most once a second, or a flood of new keys would pay it
    // on every insert.
    if (now - this.#lastFullSweep >= FULL_SWEEP_INTERVAL_MS) {
      this.#lastFullSweep = now;
      for (const [key, entry] of table) if (this.#expired(entry, now)) table.delete(key);
      if (table.size < this.#options.maxEntries) return;
    }
    // Still full: forget the oldest entry that is not an active block (looking at a bounded number),
    // so an attacker who floods the table with new addresses cannot push its own block out.
    let looked = 0;
    let oldest: string | undefined;
    for (const [key, entry] of table) {
      oldest ??= key;
      if (entry.until <= now) {
        table.delete(key);
        return;
      }
      looked += 1;
      if (looked >= EVICTION_SCAN_LIMIT) break;
    }
    if (oldest !== undefined) table.delete(oldest);
  }
}
