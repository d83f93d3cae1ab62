import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  hashPassword,
  passwordTooLong,
  verifyDummyPassword,
  verifyPassword,
} from '../../src/auth/password-hasher.js';
import { MAX_PASSWORD_BYTES } from '../../src/auth/user-store.js';

describe('password hasher', () => {
  it('hashes with argon2id at the OWASP parameters and verifies the same password', async () => {
    const hash = await hashPassword('correct horse battery staple');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword(hash, 'correct horse battery staple'), true);
  });

  it('rejects a wrong password and salts every hash differently', async () => {
    const [first, second] = await Promise.all([hashPassword('secret-one'), hashPassword('secret-one')]);
    assert.notEqual(first, second);
    assert.equal(await verifyPassword(first, 'secret-two'), false);
    assert.equal(await verifyPassword(first, 'secret-one '), false);
  });

  it('accepts a 1024-byte password whole and rejects one differing only in the last byte', async () => {
    const password = 'a'.repeat(MAX_PASSWORD_BYTES - 1) + 'b';
    assert.equal(passwordTooLong(password), false);
    const hash = await hashPassword(password);
    assert.equal(await verifyPassword(hash, password), true);
    assert.equal(await verifyPassword(hash, 'a'.repeat(MAX_PASSWORD_BYTES - 1) + 'c'), false);
    assert.equal(await verifyPassword(hash, 'a'.repeat(MAX_PASSWORD_BYTES - 1)), false);
  });

  it('counts UTF-8 bytes, not characters, against the limit', () => {
    assert.equal(passwordTooLong('é'.repeat(512)), false);
    assert.equal(passwordTooLong('é'.repeat(512) + 'x'), true);
  });

  it('refuses a 1025-byte password instead of truncating it', async () => {
    const password = 'a'.repeat(MAX_PASSWORD_BYTES + 1);
    assert.equal(passwordTooLong(password), true);
    await assert.rejects(hashPassword(password), RangeError);
    const hash = await hashPassword(password.slice(0, MAX_PASSWORD_BYTES));
    assert.equal(await verifyPassword(hash, password), false);
  });

  it('answers false instead of throwing for a malformed hash', async () => {
    for (const hash of [
      '',
      'plaintext',
      '$argon2id$',
      '$argon2id$v=19$m=19456,t=2,p=1$bad',
      '$scrypt$ln=99,r=8,p=1$a$b',
    ]) {
      assert.equal(await verifyPassword(hash, 'anything'), false, hash);
    }
  });

  it('verifies a $scrypt$ PHC hash carried over from an older deployment', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('legacy-pass', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const hash = `$scrypt$ln=14,r=8,p=1$${salt.toString('base64').replace(/=+$/, '')}$${key.toString('base64').replace(/=+$/, '')}`;
    assert.equal(await verifyPassword(hash, 'legacy-pass'), true);
    assert.equal(await verifyPassword(hash, 'legacy-pasS'), false);
  });

  it('spends about as long on an unknown user as on a wrong password, and always answers false', async () => {
    const hash = await hashPassword('real-password');
    const time = async (action: () => Promise<boolean>) => {
      const start = process.hrtime.bigint();
      await action();
      return Number(process.hrtime.bigint() - start);
    };
    // Interleaved, medians of 5: a busy machine slows both sides alike instead of one of them.
    const wrongTimes: number[] = [];
    const dummyTimes: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      wrongTimes.push(await time(() => verifyPassword(hash, 'wrong-password')));
      dummyTimes.push(await time(() => verifyDummyPassword('wrong-password')));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[2]!;
    const wrong = median(wrongTimes);
    const dummy = median(dummyTimes);
    assert.equal(await verifyDummyPassword('real-password'), false);
    assert.equal(await verifyDummyPassword('x'.repeat(MAX_PASSWORD_BYTES + 1)), false);
    // Same argon2 parameters, so the same order of cost; generous bounds keep this stable on busy CI.
    assert.ok(dummy > wrong / 4 && dummy < wrong * 4, `dummy ${dummy}ns vs wrong ${wrong}ns`);
  });
});
