import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type ClientAddressResolver, limitKey } from '../security/client-address.js';
import type { AuthFailureStore } from '../security/limit-stores.js';
import type { SecurityEvents } from '../security/security-events.js';
import { describeIssues } from '../transport/http-errors.js';
import { authenticateRequest, type RequestAuthDeps } from '../transport/request-auth.js';
import { verifyDummyPassword, verifyPassword } from './password-hasher.js';
import type { TokenService } from './tokens.js';
import { MAX_PASSWORD_BYTES, USERNAME_PATTERN, type UserStore } from './user-store.js';

export interface LoginRouteDeps {
  readonly tokens: TokenService;
  readonly users: UserStore;
  readonly authFailures: AuthFailureStore;
  readonly addresses: ClientAddressResolver;
  readonly events: SecurityEvents;
}

const loginBody = z.object({
  username: z.string().regex(USERNAME_PATTERN, { message: 'expected 1 to 64 of A-Z a-z 0-9 _ - .' }),
  password: z
    .string()
    .min(1, { message: 'must not be empty' })
    .refine((p) => Buffer.byteLength(p, 'utf8') <= MAX_PASSWORD_BYTES, {
      message: `must be at most ${MAX_PASSWORD_BYTES} bytes`,
    }),
});

const INVALID_CREDENTIALS = 'invalid username or password';

/**
 * `POST /auth/login` and `GET /auth/me`. Unknown users, disabled users and wrong passwords get the
 * same 401 text after the same hashing work; blocked IPs and throttled usernames get 429 with
 * `Retry-After` before any password is checked.
 */
export function registerLoginRoutes(app: FastifyInstance, deps: LoginRouteDeps & RequestAuthDeps): void {
  app.post('/auth/login', async (request, reply) => {
    const ip = deps.addresses.resolve(request.raw.socket.remoteAddress, request.headers['x-forwarded-for']);
    const ipKey = limitKey(ip);
    const ipGate = await deps.authFailures.checkIp(ipKey);
    if (!ipGate.allowed) {
      deps.events.emit('ip_blocked', { ip, reason: 'login refused while blocked' });
      return reply
        .code(429)
        .header('Retry-After', String(ipGate.retryAfterSeconds))
        .send({ detail: 'too many failed login attempts; try again later' });
    }
    const parsed = loginBody.safeParse(request.body);
    if (!parsed.success) return reply.code(422).send({ detail: describeIssues(parsed.error) });
    const { username, password } = parsed.data;
    const userGate = await deps.authFailures.checkUsername(username);
    if (!userGate.allowed) {
      deps.events.emit('auth_failed', { ip, user: username, reason: 'username throttled' });
      return reply
        .code(429)
        .header('Retry-After', String(userGate.retryAfterSeconds))
        .send({ detail: 'too many failed login attempts for this account; try again later' });
    }
    const user = deps.users.find(username);
    const valid =
      user && !user.disabled
        ? await verifyPassword(user.passwordHash, password)
        : await verifyDummyPassword(password);
    if (!valid || !user) {
      const blocked = await deps.authFailures.recordFailure(ipKey, username);
      deps.events.emit('auth_failed', { ip, user: username, reason: 'login: invalid credentials' });
      if (blocked) deps.events.emit('ip_blocked', { ip, reason: 'too many authentication failures' });
      return reply.code(401).send({ detail: INVALID_CREDENTIALS });
    }
    await deps.authFailures.recordSuccess(username);
    const issued = await deps.tokens.issue(user.username, user.role);
    request.log.info({ ip, user: user.username }, 'login succeeded');
    return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn };
  });

  app.get('/auth/me', async (request, reply) => {
    const claims = await authenticateRequest(deps, request, reply, null);
    if (!claims) return reply;
    return { username: claims.sub, role: claims.role };
  });
}
