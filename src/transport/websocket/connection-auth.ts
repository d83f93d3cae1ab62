import { AccessVerifier } from '../../auth/access.js';
import type { AuthGuard } from '../../security/auth-guard.js';
import { CloseCode } from '../../signaling/errors.js';
import type { ClientConnection } from './client-connection.js';

export interface ConnectionAuthDeps {
  readonly requireAuth: boolean;
  readonly access: AccessVerifier;
  readonly guard: AuthGuard;
  readonly now: () => number;
}

/** Outcome of a token refresh on an open connection. */
export type RefreshResult =
  | { readonly ok: true; readonly expiresIn: number }
  | {
      readonly ok: false;
      readonly reason: string;
      /** True when the connection was closed with 4401 (REQUIRE_AUTH); else the dialect answers. */
      readonly closed: boolean;
    };

/**
 * Tokens on WebSocket connections, for every dialect: checked once at the handshake and again on
 * each refresh. With `REQUIRE_AUTH` a bad token closes the connection with 4401 and counts as an
 * auth failure of the address (a missing one does not: a page that connects before its user logged
 * in must not get its address blocked); without it a token is optional and a bad one is ignored.
 */
export class ConnectionAuth {
  readonly #deps: ConnectionAuthDeps;

  constructor(deps: ConnectionAuthDeps) {
    this.#deps = deps;
  }

  /** Whether connections must present a valid token (`REQUIRE_AUTH`). */
  get required(): boolean {
    return this.#deps.requireAuth;
  }

  /** Sets the connection's user from `token`; false when the connection was closed instead. */
  async authenticate(connection: ClientConnection, token: string | null): Promise<boolean> {
    if (!this.#deps.requireAuth && token === null) return true;
    const access = await this.#deps.access.verifyAccess(token);
    if (access.ok) {
      connection.username = access.claims.sub;
      connection.tokenExpiresAt = access.expiresAt;
      connection.claims = access.claims;
      return true;
    }
    if (!this.#deps.requireAuth) return true;
    if (token !== null) await this.#recordFailure(connection, access.detail);
    connection.close(CloseCode.Unauthorized, access.detail);
    return false;
  }

  /** Replaces the connection's token with a fresh one for the same user. */
  async refresh(connection: ClientConnection, token: string): Promise<RefreshResult> {
    const access = await this.#deps.access.verifyAccess(token);
    if (!connection.isOpen) return { ok: false, reason: 'connection closed', closed: true };
    const sameUser =
      access.ok &&
      (connection.username === null ? !this.#deps.requireAuth : access.claims.sub === connection.username);
    if (!access.ok || !sameUser) {
      const reason = access.ok ? 'token is for another user' : access.detail;
      if (!this.#deps.requireAuth) return { ok: false, reason, closed: false };
      await this.#recordFailure(connection, reason);
      connection.close(CloseCode.Unauthorized, reason);
      return { ok: false, reason, closed: true };
    }
    connection.tokenExpiresAt = access.expiresAt;
    connection.claims = access.claims;
    return { ok: true, expiresIn: Math.max(0, Math.floor((access.expiresAt - this.#deps.now()) / 1000)) };
  }

  /**
   * Why an open connection has lost access under the current users (its user removed or disabled,
   * or its token issued before a password change), or null when it keeps it. Only with
   * `REQUIRE_AUTH`; connections without a token are never revoked.
   */
  revokedReason(connection: ClientConnection): string | null {
    if (!this.#deps.requireAuth || connection.claims === null) return null;
    const refusal = this.#deps.access.stillValid(connection.claims);
    return refusal === null ? null : AccessVerifier.detail(refusal);
  }

  async #recordFailure(connection: ClientConnection, reason: string): Promise<void> {
    await this.#deps.guard.recordFailure(connection.client, {
      room: connection.room,
      reason: `websocket: ${reason}`,
    });
  }
}
