import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config.js';
import { ClientAddressResolver, limitKey, normalizeIp } from '../../src/security/client-address.js';

function resolver(trustProxy: string): ClientAddressResolver {
  return new ClientAddressResolver(loadConfig({ TRUST_PROXY: trustProxy }).trustProxy);
}

describe('ClientAddressResolver', () => {
  test('without TRUST_PROXY a client cannot change its IP with X-Forwarded-For', () => {
    const none = resolver('false');
    assert.equal(none.resolve('203.0.113.7', '198.51.100.1'), '203.0.113.7');
    assert.equal(none.resolve('203.0.113.7', ['198.51.100.1', '198.51.100.2']), '203.0.113.7');
    assert.equal(
      none.resolve('::ffff:203.0.113.7', undefined),
      '203.0.113.7',
      'IPv4-mapped addresses count as IPv4',
    );
  });

  test('TRUST_PROXY=true trusted the left-most entry, which any client can write: it now means one hop', () => {
    const one = resolver('true');
    assert.equal(one.resolve('10.0.0.1', '198.51.100.1, 192.0.2.9'), '192.0.2.9');
    assert.equal(one.resolve('10.0.0.1', 'forged-by-client, 192.0.2.9'), '192.0.2.9');
    assert.equal(one.resolve('10.0.0.1', undefined), '10.0.0.1');
  });

  test('a proxy appending the port (203.0.113.7:51234, [2001:db8::1]:443) made the forged left-hand entry the client', () => {
    const one = resolver('1');
    assert.equal(one.resolve('10.0.0.1', '6.6.6.6, 203.0.113.7:51234'), '203.0.113.7');
    assert.equal(one.resolve('10.0.0.1', '6.6.6.6, [2001:db8::1]:443'), '2001:db8::1');
    assert.equal(one.resolve('10.0.0.1', '6.6.6.6, [2001:db8::1]'), '2001:db8::1');
    const list = resolver('10.0.0.0/8');
    assert.equal(list.resolve('10.0.0.1', '6.6.6.6, 203.0.113.7:51234'), '203.0.113.7');
    assert.equal(list.resolve('10.0.0.1', '6.6.6.6, 10.0.0.2:80, 203.0.113.7:1'), '203.0.113.7');
  });

  test('an entry that does not parse was skipped, so the entry left of it counted as the client: the chain now stops there', () => {
    const two = resolver('2');
    assert.equal(
      two.resolve('10.0.0.1', '6.6.6.6, proxy.internal, 192.0.2.9'),
      '192.0.2.9',
      'the nearest well-formed hop, never the client-written entry beyond the garbage',
    );
    const list = resolver('10.0.0.0/8');
    assert.equal(list.resolve('10.0.0.1', '6.6.6.6, unknown, 10.0.0.2'), '10.0.0.2');
  });

  test('a hop count believes exactly that many proxies, counted from the socket', () => {
    const one = resolver('1');
    assert.equal(one.resolve('10.0.0.1', 'spoofed-by-client, 198.51.100.1, 192.0.2.9'), '192.0.2.9');
    const two = resolver('2');
    assert.equal(two.resolve('10.0.0.1', '198.51.100.1, 192.0.2.9'), '198.51.100.1');
    assert.equal(
      two.resolve('10.0.0.1', '192.0.2.9'),
      '192.0.2.9',
      'a shorter chain gives its left-most address',
    );
  });

  test('a proxy list believes X-Forwarded-For only from those proxies and stops at the first untrusted hop', () => {
    const list = resolver('127.0.0.1, 10.0.0.0/8, fd00::/8');
    assert.equal(list.resolve('127.0.0.1', '198.51.100.1'), '198.51.100.1');
    assert.equal(list.resolve('127.0.0.2', '198.51.100.1'), '127.0.0.2', 'an untrusted peer cannot forward');
    assert.equal(list.resolve('::ffff:127.0.0.1', '198.51.100.1'), '198.51.100.1');
    assert.equal(
      list.resolve('127.0.0.1', '6.6.6.6, 198.51.100.1, 10.1.2.3'),
      '198.51.100.1',
      'trusted proxies are skipped, the client-written left part is ignored',
    );
    assert.equal(list.resolve('fd00::1', '2001:db8::5'), '2001:db8::5');
    assert.equal(list.resolve('127.0.0.1', '10.0.0.9, 10.0.0.8'), '10.0.0.9', 'all trusted: the left-most');
    assert.equal(
      list.resolve('127.0.0.1', 'not-an-ip, , 300.1.1.1'),
      '127.0.0.1',
      'garbage entries are ignored',
    );
  });
});

describe('limitKey', () => {
  test('IPv4 addresses are their own key', () => {
    assert.equal(limitKey('203.0.113.7'), '203.0.113.7');
    assert.equal(limitKey(normalizeIp('::ffff:203.0.113.7')), '203.0.113.7');
  });

  test('IPv6 addresses are counted per /64 whatever their spelling', () => {
    const key = limitKey('2001:db8:1:2::1');
    assert.equal(key, '2001:db8:1:2::/64');
    for (const same of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0DB8:0001:0002:0:0:0:9',
      '2001:db8:1:2::1%eth0',
    ]) {
      assert.equal(limitKey(same), key, same);
    }
    assert.notEqual(limitKey('2001:db8:1:3::1'), key);
    assert.equal(limitKey('::1'), '0:0:0:0::/64');
    assert.equal(limitKey('fe80::1'), 'fe80:0:0:0::/64');
  });

  test('property: two IPv6 addresses share a key exactly when their first 64 bits match', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const address = fc.array(group, { minLength: 8, maxLength: 8 });
    const spell = (groups: number[], compress: boolean) => {
      const full = groups.map((g) => g.toString(16)).join(':');
      // The WHATWG URL parser prints the canonical compressed form (RFC 5952).
      return compress ? new URL(`http://[${full}]/`).hostname.slice(1, -1) : full;
    };
    fc.assert(
      fc.property(address, address, fc.boolean(), fc.boolean(), fc.boolean(), (a, b, sharePrefix, ca, cb) => {
        const second = sharePrefix ? [...a.slice(0, 4), ...b.slice(4)] : b;
        const same = a.slice(0, 4).every((g, i) => g === second[i]);
        assert.equal(limitKey(spell(a, ca)) === limitKey(spell(second, cb)), same);
        assert.equal(limitKey(spell(a, ca)), limitKey(spell(a, !ca)));
      }),
      { numRuns: 2000 },
    );
  });
});
