/** An access token and, when known, how many seconds it stays valid. */
export interface TokenGrant {
  readonly token: string;
  readonly expiresIn?: number;
}

/**
 * Supplies a token for the next connection or refresh; `null` means "none available" (which makes a
 * 4401 close final). Called before connecting when no token is held, before the held one expires,
 * and after a 4401 close. Return a new token each time: returning the refused one again stops the
 * client from reconnecting.
 */
export type GetToken = () => Promise<TokenGrant | string | null> | TokenGrant | string | null;

/** Thrown by `login` when the server refuses the credentials or the request. */
export class LoginError extends Error {
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = 'LoginError';
    this.status = status;
  }
}

/**
 * `POST {baseUrl}/auth/login` with the credentials. Resolves with the token and its lifetime;
 * rejects with a `LoginError` carrying the server's `detail` (for example on 401 or 429).
 */
export async function login(
  baseUrl: string,
  username: string,
  password: string,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<TokenGrant> {
  let response: Response;
  try {
    response = await fetchImpl(new URL('/auth/login', baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch (error) {
    throw new LoginError(`cannot reach the server: ${String(error)}`, 0);
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok)
    throw new LoginError(detailOf(body) ?? `login failed (HTTP ${response.status})`, response.status);
  const grant = body as { access_token?: unknown; expires_in?: unknown } | null;
  if (typeof grant?.access_token !== 'string')
    throw new LoginError('login answer has no access_token', response.status);
  return typeof grant.expires_in === 'number'
    ? { token: grant.access_token, expiresIn: grant.expires_in }
    : { token: grant.access_token };
}

function detailOf(body: unknown): string | null {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  // Validation errors may come as a list of issues.
  if (Array.isArray(detail))
    return detail.map((item) => (item as { msg?: string })?.msg ?? String(item)).join('; ');
  return null;
}

/**
 * Seconds until a JWT's `exp` claim, read without verifying the signature (only the server can do
 * that; the client just wants to know when to refresh). `null` when the token is not a readable JWT.
 */
export function jwtExpiresIn(token: string, nowMs: number): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '=')));
    return typeof claims?.exp === 'number' ? claims.exp - nowMs / 1000 : null;
  } catch {
    return null;
  }
}

/** Normalises what a `GetToken` callback returned. */
export function toGrant(value: TokenGrant | string | null): TokenGrant | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? { token: value } : value;
}
