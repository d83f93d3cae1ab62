import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { needsRehash, verifyDummyPassword, verifyPassword } from '../auth/password-hasher.js';
import type { TokenService } from '../auth/tokens.js';
import {
  MAX_PASSWORD_BYTES,
  MIN_PASSWORD_CHARS,
  USERNAME_PATTERN,
  type UserRecord,
  type UserStore,
} from '../auth/user-store.js';
import type { LoginOutcome } from '../security/auth-failure-tracker.js';
import type { LoginLimiter } from '../security/login-limiter.js';
import { describeIssues } from './http-errors.js';
import { authenticateRequest, type RequestAuthDeps } from './request-auth.js';

export interface LoginRouteDeps extends RequestAuthDeps {
  readonly tokens: TokenService;
  readonly users: UserStore;
  /** Told how long each login's password verification (argon2) took. */
  readonly onPasswordChecked?: (seconds: number) => void;
  readonly limiter: LoginLimiter;
  /** Called after a successful login whose stored hash is not current (see `needsRehash`). */
  readonly upgradeHash?: (user: UserRecord, password: string) => void;
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
 * same 401 text after the same hashing work. Before any password is checked: an address with two
 * logins in flight gets 429 + `Retry-After: 1`; a blocked address, or one whose failures plus
 * logins in flight reach `AUTH_MAX_FAILURES`, gets 429 + `Retry-After` (each login counts as a
 * failure until it succeeds); a throttled username waits up to `MAX_LOGIN_DELAY_SECONDS`; and when
 * `LOGIN_QUEUE_LENGTH` logins already wait for a hashing turn, 503 + `Retry-After: 1`.
 */
export function registerLoginRoutes(app: FastifyInstance, deps: LoginRouteDeps): void {
  app.post('/auth/login', async (request, reply) => {
    const parsed = loginBody.safeParse(request.body);
    if (!parsed.success) return reply.code(422).send({ detail: describeIssues(parsed.error) });
    const { username, password } = parsed.data;
    const client = deps.addresses.fromRequest(request.raw);
    const ticket = deps.limiter.enter(client.key);
    if (!ticket)
      return refuse(reply, 429, 1, 'too many logins in progress from this address; try again shortly');
    try {
      const blocked = await deps.guard.beginLogin(client);
      if (blocked !== null)
        return refuse(
          reply,
          429,
          blocked,
          'too many failed login attempts; try again later (an operator can lift the block: npm run users -- unblock <address>)',
        );
      let outcome: LoginOutcome = 'abandoned';
      let user: UserRecord | undefined;
      try {
        const delay = await deps.guard.loginDelaySeconds(client, username);
        if (delay > 0) await sleep(delay * 1000);
        if (!(await ticket.hashing(username)))
          return refuse(reply, 503, 1, 'too many logins in progress; try again shortly');
        user = deps.users.find(username);
        const checkStarted = performance.now();
        // A password under the minimum length never logs in, even one stored before the rule: an
        // ordinary failure (401, counted) after the same hashing work, so the login limits and the
        // timing are those of any wrong password.
        const valid =
          [...password].length < MIN_PASSWORD_CHARS
            ? await verifyDummyPassword(password)
            : user && !user.disabled
              ? await verifyPassword(user.passwordHash, password)
              : await verifyDummyPassword(password);
        deps.onPasswordChecked?.((performance.now() - checkStarted) / 1000);
        outcome = valid && user ? 'succeeded' : 'failed';
      } finally {
        await deps.guard.endLogin(client, username, outcome);
      }
      if (outcome !== 'succeeded' || !user) return reply.code(401).send({ detail: INVALID_CREDENTIALS });
      if (deps.upgradeHash && needsRehash(user.passwordHash)) deps.upgradeHash(user, password);
      const issued = await deps.tokens.issue(user.username, user.role);
      request.log.info({ ip: client.ip, user: user.username }, 'login succeeded');
      return { access_token: issued.token, token_type: 'bearer', expires_in: issued.expiresIn };
    } finally {
      ticket.leave();
    }
  });

  app.get('/auth/me', async (request, reply) => {
    const claims = await authenticateRequest(deps, request, reply, null);
    if (!claims) return reply;
    return { username: claims.sub, role: claims.role };
  });
}

function refuse(reply: FastifyReply, status: 429 | 503, retryAfter: number, detail: string): FastifyReply {
  return reply.code(status).header('Retry-After', String(retryAfter)).send({ detail });
}
