import type { AccessClaims, TokenService } from './tokens.js';
import type { UserRecord, UserStore } from './user-store.js';

/** Why access was refused: a token problem, or a token for a user who is gone or disabled. */
export type AccessRefusal = 'missing' | 'expired' | 'invalid' | 'unknown_user' | 'revoked';

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
  revoked: 'revoked token',
};

/** Is this token id on the fleet's deny list (`Broker.isTokenDenied`)? */
export type DenyListCheck = (jti: string) => Promise<boolean>;

/**
 * The one answer to "may the bearer of this token in?", used by HTTP and WebSocket alike: a valid
 * token, not on the deny list, whose user still exists and is enabled (the user's current role wins
 * over the token's), or a backend-minted token (`scope` claim), whose user is the application's.
 * Never throws for a bad token; recording failures is the caller's (see `AuthGuard`).
 */
export class AccessVerifier {
  readonly #tokens: TokenService;
  readonly #users: UserStore;
  readonly #denied: DenyListCheck | null;

  constructor(tokens: TokenService, users: UserStore, denied: DenyListCheck | null = null) {
    this.#tokens = tokens;
    this.#users = users;
    this.#denied = denied;
  }

  async verifyAccess(token: string | null | undefined): Promise<AccessResult> {
    const result = await this.#tokens.verify(token);
    if (!result.ok) return refused(result.reason);
    // Fails open when the broker cannot answer: joins and room routes fail on their own then.
    if (this.#denied && (await this.#denied(result.claims.jti).catch(() => false))) return refused('revoked');
    const expiresAt = result.claims.exp * 1000;
    // A backend-minted token (a `scope` claim) stands for a user of the application, not of the file.
    if (result.claims.limits?.scope)
      return { ok: true, user: backendUser(result.claims), claims: result.claims, expiresAt };
    const user = this.#users.find(result.claims.sub);
    if (!user || user.disabled) return refused('unknown_user');
    return {
      ok: true,
      user,
      claims: { ...result.claims, role: user.role },
      expiresAt,
    };
  }
}

function backendUser(claims: AccessClaims): UserRecord {
  return { username: claims.sub, passwordHash: '', role: claims.role, createdAt: '', disabled: false };
}

function refused(reason: AccessRefusal): AccessResult {
  return { ok: false, reason, detail: DETAILS[reason] };
}
