import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { verifyDummyPassword, verifyPassword } from '../auth/password-hasher.js';
import type { TokenService } from '../auth/tokens.js';
import { MAX_PASSWORD_BYTES, USERNAME_PATTERN, type UserStore } from '../auth/user-store.js';
import { describeIssues } from './http-errors.js';
import { authenticateRequest, type RequestAuthDeps } from './request-auth.js';

export interface LoginRouteDeps extends RequestAuthDeps {
  readonly tokens: TokenService;
  readonly users: UserStore;
  /** Told how long each login's password verification (argon2) took. */
  readonly onPasswordChecked?: (seconds: number) => void;
}

/** The body `POST /auth/login` accepts; also the OpenAPI document's request schema. */
export const loginBody = z.object({
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
export function registerLoginRoutes(app: FastifyInstance, deps: LoginRouteDeps): void {
  app.post('/auth/login', async (request, reply) => {
    const client = deps.addresses.fromRequest(request.raw);
    const blocked = await deps.guard.blockedFor(client, 'login refused while blocked');
    if (blocked !== null) {
      return reply
        .code(429)
        .header('Retry-After', String(blocked))
        .send({ detail: 'too many failed login attempts; try again later' });
    }
    const parsed = loginBody.safeParse(request.body);
    if (!parsed.success) return reply.code(422).send({ detail: describeIssues(parsed.error) });
    const { username, password } = parsed.data;
    const throttled = await deps.guard.throttledFor(client, username);
    if (throttled !== null) {
      return reply
        .code(429)
        .header('Retry-After', String(throttled))
        .send({ detail: 'too many failed login attempts for this account; try again later' });
    }
    const user = deps.users.find(username);
    const checkStarted = performance.now();
    const valid =
      user && !user.disabled
        ? await verifyPassword(user.passwordHash, password)
        : await verifyDummyPassword(password);
    deps.onPasswordChecked?.((performance.now() - checkStarted) / 1000);
    if (!valid || !user) {
      await deps.guard.recordFailure(client, {
        user: username,
        throttleUsername: username,
        reason: 'login: invalid credentials',
      });
      return reply.code(401).send({ detail: INVALID_CREDENTIALS });
    }
    await deps.guard.recordSuccess(username);
    const issued = await deps.tokens.issue(user.username, user.role);
    request.log.info({ ip: client.ip, user: user.username }, 'login succeeded');
    return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn };
  });

  app.get('/auth/me', async (request, reply) => {
    const claims = await authenticateRequest(deps, request, reply, null);
    if (!claims) return reply;
    return { username: claims.sub, role: claims.role };
  });
}
