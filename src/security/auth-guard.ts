import type { LoginOutcome } from './auth-failure-tracker.js';
import type { ClientAddress } from './client-address.js';
import type { AuthFailureStore } from './limit-stores.js';
import type { SecurityEvents } from './security-events.js';

/** Where a failure happened and what the security log should say about it (never a secret). */
export interface AuthFailure {
  readonly reason: string;
  readonly user?: string;
  readonly room?: string;
  /** Counts against this username's throttle too (logins); token checks count per address only. */
  readonly throttleUsername?: string;
}

/**
 * Longest a login waits because its username is throttled. The throttle delays, never refuses: a
 * refusal (with its Retry-After) would let anyone keep any account locked by failing on purpose.
 */
export const MAX_LOGIN_DELAY_SECONDS = 3;

/**
 * The one place that answers "is this address blocked?" and records "this address failed to
 * authenticate", for login, HTTP tokens and WebSocket tokens alike. Every refusal and every block is
 * a security event. The counting itself is the store's (in-process, or shared through Redis).
 */
export class AuthGuard {
  readonly #store: AuthFailureStore;
  readonly #events: SecurityEvents;

  constructor(store: AuthFailureStore, events: SecurityEvents) {
    this.#store = store;
    this.#events = events;
  }

  /** Seconds the client must wait when its address is blocked (an `ip_blocked` event), else null. */
  async blockedFor(client: ClientAddress, where: string): Promise<number | null> {
    const gate = await this.#store.checkIp(client.key);
    if (gate.allowed) return null;
    this.#events.emit('ip_blocked', { ip: client.ip, reason: where });
    return gate.retryAfterSeconds;
  }

  /**
   * Admits a login before its password is checked, counting it in advance (see
   * `AuthFailureStore.beginLogin`): null when admitted (end it with `endLogin`), else the seconds to
   * wait (an `ip_blocked` event).
   */
  async beginLogin(client: ClientAddress): Promise<number | null> {
    const gate = await this.#store.beginLogin(client.key);
    if (gate.allowed) return null;
    this.#events.emit('ip_blocked', { ip: client.ip, reason: 'login refused: failure limit reached' });
    return gate.retryAfterSeconds;
  }

  /**
   * Seconds (at most `MAX_LOGIN_DELAY_SECONDS`) a login of `username` waits before its password is
   * checked, because that username failed too often lately from anywhere (an `auth_failed` event);
   * 0 when it is not throttled.
   */
  async loginDelaySeconds(client: ClientAddress, username: string): Promise<number> {
    const gate = await this.#store.checkUsername(username);
    if (gate.allowed) return 0;
    this.#events.emit('auth_failed', {
      ip: client.ip,
      user: username,
      reason: 'username throttled: delayed',
    });
    return Math.min(gate.retryAfterSeconds, MAX_LOGIN_DELAY_SECONDS);
  }

  /** Ends an admitted login; a failure is an `auth_failed` event (and `ip_blocked` if it blocked). */
  async endLogin(client: ClientAddress, username: string, outcome: LoginOutcome): Promise<void> {
    const blocked = await this.#store.endLogin(client.key, username, outcome);
    if (outcome !== 'failed') return;
    this.#events.emit('auth_failed', { ip: client.ip, user: username, reason: 'login: invalid credentials' });
    if (blocked)
      this.#events.emit('ip_blocked', { ip: client.ip, reason: 'too many authentication failures' });
  }

  /** Counts one failure of `client`; blocks the address once it has failed too often. */
  async recordFailure(client: ClientAddress, failure: AuthFailure): Promise<void> {
    const blocked = await this.#store.recordFailure(client.key, failure.throttleUsername);
    this.#events.emit('auth_failed', {
      ip: client.ip,
      user: failure.user,
      room: failure.room,
      reason: failure.reason,
    });
    if (blocked)
      this.#events.emit('ip_blocked', { ip: client.ip, reason: 'too many authentication failures' });
  }

  /** Lifts the block of `client` (an operator's request); logged as a security event. */
  async unblock(client: ClientAddress): Promise<void> {
    await this.#store.unblock(client.key);
    this.#events.emit('ip_unblocked', { ip: client.ip, reason: 'lifted by an operator' });
  }
}
