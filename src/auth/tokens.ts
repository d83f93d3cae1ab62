import { createHash, randomUUID } from 'node:crypto';
import type { JWTHeaderParameters } from 'jose';
import { loadJose } from './jose-loader.js';
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
  /** Signs and verifies. */
  readonly secret: Uint8Array;
  /** Verify only (`JWT_SECRET_KEY_PREVIOUS`), so a key can be rotated without logging everyone out. */
  readonly previousSecrets?: readonly Uint8Array[];
  readonly issuer: string;
  readonly audience: string;
  readonly expireMinutes: number;
  readonly now?: () => number;
}

/**
 * Issues and verifies HS256 access tokens. Verification pins the algorithm to HS256 (so `alg:none`
 * and key-confusion tokens fail), requires `exp`, `iat`, `sub`, `jti` and a known role, and checks
 * issuer and audience. It never throws for a bad token. Tokens carry a `kid` (a fingerprint of the
 * signing key, which reveals nothing of it); verification picks the key the `kid` names among the
 * current and previous keys, and tries each for a token without one (issued before kids existed).
 */
export class TokenService {
  readonly #options: TokenServiceOptions;
  readonly #kid: string;
  readonly #keys: ReadonlyMap<string, Uint8Array>;

  constructor(options: TokenServiceOptions) {
    this.#options = options;
    this.#kid = keyId(options.secret);
    const keys = new Map<string, Uint8Array>();
    for (const key of options.previousSecrets ?? []) keys.set(keyId(key), key);
    keys.set(this.#kid, options.secret);
    this.#keys = keys;
  }

  async issue(username: string, role: Role): Promise<IssuedToken> {
    const now = Math.floor(this.#now() / 1000);
    const expiresIn = this.#options.expireMinutes * 60;
    const { SignJWT } = await loadJose();
    const token = await new SignJWT({ role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: this.#kid })
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
    let result: TokenVerification = { ok: false, reason: 'invalid' };
    for (const key of this.#candidateKeys(token)) {
      result = await this.#verifyWith(token, key);
      if (result.ok || result.reason === 'expired') return result;
    }
    return result;
  }

  // The key a `kid` names; every key for a token without one. An unknown kid gets none: refused.
  #candidateKeys(token: string): Uint8Array[] {
    let header: Partial<JWTHeaderParameters>;
    try {
      header = JSON.parse(Buffer.from(token.split('.', 1)[0]!, 'base64url').toString('utf8'));
    } catch {
      return [this.#options.secret];
    }
    if (typeof header?.kid !== 'string') return [...this.#keys.values()].reverse();
    const key = this.#keys.get(header.kid);
    return key ? [key] : [];
  }

  async #verifyWith(token: string, secret: Uint8Array): Promise<TokenVerification> {
    const { errors, jwtVerify } = await loadJose();
    try {
      const { payload } = await jwtVerify(token, secret, {
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

/** The `kid` of tokens signed with `secret`: 16 hex digits of its SHA-256, not reversible to the key. */
export function keyId(secret: Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}

/** The token from `Authorization: Bearer <jwt>`, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}
