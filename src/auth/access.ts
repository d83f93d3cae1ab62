import type { AccessClaims, TokenService } from './tokens.js';
import type { UserRecord, UserStore } from './user-store.js';

/**
 * Why access was refused: a token problem, a token for a user who is gone or disabled, one issued
 * before the user's password last changed (`revoked`), or one on the fleet's deny list (`denied`).
 */
export type AccessRefusal = 'missing' | 'expired' | 'invalid' | 'unknown_user' | 'revoked' | 'denied';

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
  revoked: 'token revoked by a password change',
  denied: 'revoked token',
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
    if (this.#denied && (await this.#denied(result.claims.jti).catch(() => false))) return refused('denied');
    const expiresAt = result.claims.exp * 1000;
    const problem = this.stillValid(result.claims);
    if (problem !== null) return refused(problem);
    if (result.claims.limits?.scope)
      return { ok: true, user: backendUser(result.claims), claims: result.claims, expiresAt };
    const user = this.#users.find(result.claims.sub)!;
    return {
      ok: true,
      user,
      claims: { ...result.claims, role: user.role },
      expiresAt,
    };
  }

  /**
   * Whether a verified token still grants access under the current users: null when it does, else
   * why not. Open connections are checked again with it whenever the users file changes. A
   * backend-minted token (a `scope` claim) stands for a user of the application, not of the file:
   * users-file changes never revoke it (its revocation is the deny list).
   */
  stillValid(claims: Pick<AccessClaims, 'sub' | 'iat' | 'limits'>): AccessRefusal | null {
    if (claims.limits?.scope) return null;
    const issuedAt = claims.iat;
    const user = this.#users.find(claims.sub);
    if (!user || user.disabled) return 'unknown_user';
    // `iat` has whole seconds and the change time is written rounded down to the second, so a token
    // issued in the same second as the change is kept (it may be the first one after it).
    if (user.passwordChangedAt !== undefined && issuedAt * 1000 < Date.parse(user.passwordChangedAt))
      return 'revoked';
    return null;
  }

  /** The text `stillValid`'s answer is reported with (safe to log and to send). */
  static detail(reason: AccessRefusal): string {
    return DETAILS[reason];
  }
}

function backendUser(claims: AccessClaims): UserRecord {
  return { username: claims.sub, passwordHash: '', role: claims.role, createdAt: '', disabled: false };
}

function refused(reason: AccessRefusal): AccessResult {
  return { ok: false, reason, detail: DETAILS[reason] };
}
