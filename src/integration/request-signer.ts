import { createHash } from 'node:crypto';
import { loadJose } from '../auth/jose-loader.js';

/** How long a signature is valid: receivers refuse older requests (replays). */
export const SIGNATURE_TTL_SECONDS = 300;

/**
 * Signs outgoing webhook and join hook requests as LiveKit signs its webhooks, so their verifiers
 * work unchanged: the `Authorization` header is an HS256 JWT over `WEBHOOK_SECRET` with `iss`
 * (`JWT_ISSUER`), `iat`, `nbf`, `exp` (5 minutes later) and `sha256`, the base64 SHA-256 of the exact
 * body bytes. No `Bearer` prefix, as LiveKit sends it.
 */
export class RequestSigner {
  readonly #secret: Uint8Array;
  readonly #issuer: string;
  readonly #now: () => number;

  constructor(secret: string, issuer: string, now: () => number) {
    this.#secret = new TextEncoder().encode(secret);
    this.#issuer = issuer;
    this.#now = now;
  }

  /** The `Authorization` value for `body`. */
  async authorization(body: string): Promise<string> {
    const { SignJWT } = await loadJose();
    const now = Math.floor(this.#now() / 1000);
    return new SignJWT({ sha256: createHash('sha256').update(body).digest('base64') })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + SIGNATURE_TTL_SECONDS)
      .sign(this.#secret);
  }
}
