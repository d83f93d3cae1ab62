import { randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { parseTokenLimits, type TokenLimits } from './token-limits.js';
import type { Role } from './user-store.js';

/** The claims of a verified access token. */
export interface AccessClaims {
  readonly sub: string;
  readonly role: Role;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  /** The token's `scope`, `rooms`, `max_peers` claims, when it has any (see `TokenLimits`). */
  readonly limits?: TokenLimits;
}

/** A freshly issued token with its lifetime in seconds. */
export interface IssuedToken {
  readonly token: string;
  readonly expiresIn: number;
}

/** Why a token was refused; the text is safe to log and to send as a close reason. */
export type TokenRejection = 'missing' | 'expired' | 'invalid';

export type TokenVerification =
  | { readonly ok: true; readonly claims: AccessClaims }
  | { readonly ok: false; readonly reason: TokenRejection };

export interface TokenServiceOptions {
  readonly secret: Uint8Array;
  readonly issuer: string;
  readonly audience: string;
  readonly expireMinutes: number;
  readonly now?: () => number;
}

/**
 * Issues and verifies HS256 access tokens. Verification pins the algorithm to HS256 (so `alg:none`
 * and key-confusion tokens fail), requires `exp`, `iat`, `sub`, `jti` and a known role, and checks
 * issuer and audience. It never throws for a bad token.
 */
export class TokenService {
  readonly #options: TokenServiceOptions;

  constructor(options: TokenServiceOptions) {
    this.#options = options;
  }

  async issue(username: string, role: Role): Promise<IssuedToken> {
    const now = Math.floor(this.#now() / 1000);
    const expiresIn = this.#options.expireMinutes * 60;
    const token = await new SignJWT({ role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(username)
      .setIssuer(this.#options.issuer)
      .setAudience(this.#options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .setJti(randomUUID())
      .sign(this.#options.secret);
    return { token, expiresIn };
  }

  async verify(token: string | null | undefined): Promise<TokenVerification> {
    if (!token) return { ok: false, reason: 'missing' };
    try {
      const { payload } = await jwtVerify(token, this.#options.secret, {
        algorithms: ['HS256'],
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        currentDate: new Date(this.#now()),
      });
      const limits = parseTokenLimits(payload);
      if (limits === 'invalid') return { ok: false, reason: 'invalid' };
      // A backend-minted token's role follows from its scope; any `role` claim in it is ignored.
      const role = limits?.scope ? (limits.scope.includes('admin') ? 'admin' : 'user') : payload['role'];
      if (
        (role !== 'admin' && role !== 'user') ||
        typeof payload.sub !== 'string' ||
        typeof payload.jti !== 'string'
      ) {
        return { ok: false, reason: 'invalid' };
      }
      return {
        ok: true,
        claims: {
          sub: payload.sub,
          role,
          exp: payload.exp as number,
          iat: payload.iat as number,
          jti: payload.jti,
          ...(limits ? { limits } : {}),
        },
      };
    } catch (error) {
      return { ok: false, reason: error instanceof errors.JWTExpired ? 'expired' : 'invalid' };
    }
  }

  #now(): number {
    return this.#options.now ? this.#options.now() : Date.now();
  }
}

/** The token from `Authorization: Bearer <jwt>`, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}
