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

  /** Seconds before `username` may try to log in again (an `auth_failed` event), else null. */
  async throttledFor(client: ClientAddress, username: string): Promise<number | null> {
    const gate = await this.#store.checkUsername(username);
    if (gate.allowed) return null;
    this.#events.emit('auth_failed', { ip: client.ip, user: username, reason: 'username throttled' });
    return gate.retryAfterSeconds;
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

  /** A successful login: the username's failure count starts over. */
  async recordSuccess(username: string): Promise<void> {
    await this.#store.recordSuccess(username);
  }
}
