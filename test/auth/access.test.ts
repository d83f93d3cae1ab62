import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { AccessVerifier } from '../../src/auth/access.js';
import { TokenService } from '../../src/auth/tokens.js';
import type { UserRecord, UserStore } from '../../src/auth/user-store.js';

const SECRET = new TextEncoder().encode('an-access-test-key-of-more-than-32-bytes');
const NOW = 1_800_000_000_000;

/** A users table the test changes between checks, as the CSV store would after a reload. */
class TableUserStore implements UserStore {
  readonly users = new Map<string, UserRecord>();
  find(username: string): UserRecord | undefined {
    return this.users.get(username);
  }
  list(): readonly UserRecord[] {
    return [...this.users.values()];
  }
  put(username: string, role: UserRecord['role'], disabled = false): void {
    this.users.set(username, {
      username,
      role,
      disabled,
      passwordHash: '$argon2id$x',
      createdAt: '2026-01-01',
    });
  }
}

function setup() {
  const tokens = new TokenService({
    secret: SECRET,
    issuer: 'iss',
    audience: 'aud',
    expireMinutes: 60,
    now: () => NOW,
  });
  const users = new TableUserStore();
  return { tokens, users, access: new AccessVerifier(tokens, users) };
}

describe('AccessVerifier', () => {
  test('a valid token of an enabled user gives the user, the claims and the expiry in ms', async () => {
    const { tokens, users, access } = setup();
    users.put('alice', 'user');
    const { token } = await tokens.issue('alice', 'user');
    const result = await access.verifyAccess(token);
    assert.ok(result.ok);
    assert.equal(result.user.username, 'alice');
    assert.equal(result.claims.sub, 'alice');
    assert.equal(result.expiresAt, NOW + 60 * 60_000);
  });

  test('the role in force is the user’s current one, not the token’s', async () => {
    const { tokens, users, access } = setup();
    users.put('bob', 'admin');
    const { token } = await tokens.issue('bob', 'admin');
    users.put('bob', 'user');
    const result = await access.verifyAccess(token);
    assert.ok(result.ok);
    assert.equal(result.claims.role, 'user');
  });

  test('refuses a missing, a forged and an expired token, each with its own reason and detail', async () => {
    const { users, access } = setup();
    users.put('alice', 'user');
    assert.deepEqual(await access.verifyAccess(null), {
      ok: false,
      reason: 'missing',
      detail: 'missing token',
    });
    assert.deepEqual(await access.verifyAccess('not.a.jwt'), {
      ok: false,
      reason: 'invalid',
      detail: 'invalid token',
    });
    const expired = await new SignJWT({ role: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setIssuer('iss')
      .setAudience('aud')
      .setIssuedAt(Math.floor(NOW / 1000) - 7200)
      .setExpirationTime(Math.floor(NOW / 1000) - 3600)
      .setJti('j')
      .sign(SECRET);
    assert.deepEqual(await access.verifyAccess(expired), {
      ok: false,
      reason: 'expired',
      detail: 'expired token',
    });
  });

  test('a token of a removed or disabled user is refused as unknown_user', async () => {
    const { tokens, users, access } = setup();
    users.put('carol', 'user');
    const { token } = await tokens.issue('carol', 'user');
    users.put('carol', 'user', true);
    const disabled = await access.verifyAccess(token);
    assert.deepEqual(disabled, { ok: false, reason: 'unknown_user', detail: 'unknown or disabled user' });
    users.users.delete('carol');
    assert.equal((await access.verifyAccess(token)).ok, false);
  });
});
