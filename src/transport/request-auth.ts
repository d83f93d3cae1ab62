import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccessClaims, TokenService } from '../auth/tokens.js';
import { bearerToken } from '../auth/tokens.js';
import type { Role, UserStore } from '../auth/user-store.js';
import { type ClientAddressResolver, limitKey } from '../security/client-address.js';
import type { AuthFailureStore } from '../security/limit-stores.js';
import type { SecurityEvents } from '../security/security-events.js';

export interface RequestAuthDeps {
  readonly tokens: TokenService;
  readonly users: UserStore;
  readonly authFailures: AuthFailureStore;
  readonly addresses: ClientAddressResolver;
  readonly events: SecurityEvents;
}

/**
 * Checks the `Authorization: Bearer` token of an HTTP request. Answers 401 (no or bad token; bad ones
 * count as auth failures of the IP), 403 (role too low) or 429 (IP blocked) itself and returns null;
 * otherwise returns the claims.
 */
export async function authenticateRequest(
  deps: RequestAuthDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  requiredRole: Role | null,
): Promise<AccessClaims | null> {
  const ip = deps.addresses.resolve(request.raw.socket.remoteAddress, request.headers['x-forwarded-for']);
  const ipKey = limitKey(ip);
  const gate = await deps.authFailures.checkIp(ipKey);
  if (!gate.allowed) {
    deps.events.emit('ip_blocked', { ip, reason: `${request.method} ${request.routeOptions.url}` });
    await reply
      .code(429)
      .header('Retry-After', String(gate.retryAfterSeconds))
      .send({ detail: 'too many failed authentication attempts; try again later' });
    return null;
  }
  const token = bearerToken(request.headers.authorization);
  const result = await deps.tokens.verify(token);
  const user = result.ok ? deps.users.find(result.claims.sub) : undefined;
  if (!result.ok || !user || user.disabled) {
    const reason = !result.ok ? result.reason : 'unknown or disabled user';
    if (reason !== 'missing') {
      const blocked = await deps.authFailures.recordFailure(ipKey);
      deps.events.emit('auth_failed', { ip, reason: `http: ${reason} token` });
      if (blocked) deps.events.emit('ip_blocked', { ip, reason: 'too many authentication failures' });
    }
    await reply
      .code(401)
      .header('WWW-Authenticate', 'Bearer')
      .send({ detail: reason === 'missing' ? 'missing bearer token' : `${reason} token` });
    return null;
  }
  if (requiredRole === 'admin' && user.role !== 'admin') {
    await reply.code(403).send({ detail: 'admin role required' });
    return null;
  }
  return { ...result.claims, role: user.role };
}
