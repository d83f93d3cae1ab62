import type { AccessClaims, TokenService } from './tokens.js';
import type { UserRecord, UserStore } from './user-store.js';

/** Why access was refused: a token problem, or a token for a user who is gone or disabled. */
export type AccessRefusal = 'missing' | 'expired' | 'invalid' | 'unknown_user';

/** A token checked against the signature, the claims and the current users. */
export type AccessResult =
  | {
      readonly ok: true;
      readonly user: UserRecord;
      readonly claims: AccessClaims;
      /** Token expiry in milliseconds since the epoch. */
      readonly expiresAt: number;
    }
  | {
      readonly ok: false;
      readonly reason: AccessRefusal;
      /** Safe to log and to send to the client (never contains the token). */
      readonly detail: string;
    };

const DETAILS: Readonly<Record<AccessRefusal, string>> = {
  missing: 'missing token',
  expired: 'expired token',
  invalid: 'invalid token',
  unknown_user: 'unknown or disabled user',
};

/**
 * The one answer to "may the bearer of this token in?", used by HTTP and WebSocket alike: a valid
 * token whose user still exists and is enabled. The user's current role wins over the token's.
 * Never throws for a bad token; recording failures is the caller's (see `AuthGuard`).
 */
export class AccessVerifier {
  readonly #tokens: TokenService;
  readonly #users: UserStore;

  constructor(tokens: TokenService, users: UserStore) {
    this.#tokens = tokens;
    this.#users = users;
  }

  async verifyAccess(token: string | null | undefined): Promise<AccessResult> {
    const result = await this.#tokens.verify(token);
    if (!result.ok) return refused(result.reason);
    const user = this.#users.find(result.claims.sub);
    if (!user || user.disabled) return refused('unknown_user');
    return {
      ok: true,
      user,
      claims: { ...result.claims, role: user.role },
      expiresAt: result.claims.exp * 1000,
    };
  }
}

function refused(reason: AccessRefusal): AccessResult {
  return { ok: false, reason, detail: DETAILS[reason] };
}
