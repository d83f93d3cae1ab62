import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { OriginPolicy } from '../../src/security/origin-policy.js';

function policy(corsOrigins: string, debug: boolean): OriginPolicy {
  return new OriginPolicy(loadConfig({ CORS_ORIGINS: corsOrigins, DEBUG: String(debug) }));
}

const OWN = 'https://signal.example.net';

describe('OriginPolicy', () => {
  const production = policy('https://app.example.com, http://localhost:3000', false);

  test('accepts no Origin, the exact allowed origins and the server’s own origin', () => {
    assert.equal(production.allows(undefined, OWN), true);
    assert.equal(production.allows('https://app.example.com', OWN), true);
    assert.equal(
      production.allows('HTTPS://APP.EXAMPLE.COM', OWN),
      true,
      'scheme and host are case-insensitive',
    );
    assert.equal(production.allows('http://localhost:3000', OWN), true);
    assert.equal(production.allows(OWN, OWN), true);
  });

  for (const origin of [
    'https://evil.test',
    'https://app.example.com.evil.test',
    'https://evilapp.example.com',
    'https://sub.app.example.com',
    'https://app.example.co',
    'null',
    '',
    'https://app.example.com:8443',
    'http://app.example.com',
    'https://app.example.com/',
    'https://app.example.com/path',
    'https://app.example.com@evil.test',
    'http://localhost:3001',
    'http://localhost',
    'https://signal.example.net.evil.test',
  ]) {
    test(`refuses the origin ${JSON.stringify(origin)}`, () => {
      assert.equal(production.allows(origin, OWN), false);
      assert.equal(production.allowsCors(origin), false);
    });
  }

  test('CORS allows the listed origins only, never the server’s own origin by reflection', () => {
    assert.equal(production.allowsCors('https://app.example.com'), true);
    assert.equal(production.allowsCors(OWN), false);
  });

  test('CORS_ORIGINS written with a default port or a trailing slash still matches exactly', () => {
    const p = policy('https://App.Example.com:443/', false);
    assert.equal(p.allows('https://app.example.com', null), true);
    assert.equal(
      p.allows('https://app.example.com:443', null),
      false,
      'browsers never send the default port',
    );
  });

  test('DEBUG allows any localhost origin but still no look-alikes', () => {
    const debug = policy('https://app.example.com', true);
    for (const origin of [
      'http://localhost:5173',
      'https://127.0.0.1:8443',
      'http://[::1]:3000',
      'http://localhost',
    ]) {
      assert.equal(debug.allows(origin, null), true, origin);
      assert.equal(debug.allowsCors(origin), true, origin);
    }
    for (const origin of [
      'http://localhost.evil.test',
      'http://localhost:3000.evil.test',
      'http://127.0.0.1.evil.test',
      'null',
    ]) {
      assert.equal(debug.allows(origin, null), false, origin);
    }
  });
});
