import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessVerifier } from '../auth/access.js';
import type { AccessClaims } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import type { Role } from '../auth/user-store.js';
import type { AuthGuard } from '../security/auth-guard.js';
import type { ClientAddressResolver } from '../security/client-address.js';

/** What HTTP routes need to authenticate a request. */
export interface RequestAuthDeps {
  readonly access: AccessVerifier;
  readonly guard: AuthGuard;
  readonly addresses: ClientAddressResolver;
}

/**
 * Checks the `Authorization: Bearer` token of an HTTP request. Answers 401 (no or bad token; bad ones
 * count as auth failures of the IP), 403 (role too low) or 429 (IP blocked) itself and returns null;
 * otherwise returns the claims, with the user's current role.
 */
export async function authenticateRequest(
  deps: RequestAuthDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  requiredRole: Role | null,
): Promise<AccessClaims | null> {
  const client = deps.addresses.fromRequest(request.raw);
  const retryAfter = await deps.guard.blockedFor(client, `${request.method} ${request.routeOptions.url}`);
  if (retryAfter !== null) {
    await reply.code(429).header('Retry-After', String(retryAfter)).send({
      detail:
        'too many failed authentication attempts; try again later (an operator can lift the block: npm run users -- unblock <address>)',
    });
    return null;
  }
  const access = await deps.access.verifyAccess(bearerToken(request.headers.authorization));
  if (!access.ok) {
    if (access.reason !== 'missing')
      await deps.guard.recordFailure(client, { reason: `http: ${access.detail}` });
    await reply
      .code(401)
      .header('WWW-Authenticate', 'Bearer')
      .send({ detail: access.reason === 'missing' ? 'missing bearer token' : access.detail });
    return null;
  }
  if (requiredRole === 'admin' && access.user.role !== 'admin') {
    await reply.code(403).send({ detail: 'admin role required' });
    return null;
  }
  return access.claims;
}
