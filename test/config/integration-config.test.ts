import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const SECRET = 'x'.repeat(32);

describe('loadConfig: connecting your backend', () => {
  test('defaults: no webhooks, no join hook, closed on failure', () => {
    const config = loadConfig({});
    assert.deepEqual(config.webhookUrls, []);
    assert.equal(config.joinHookUrl, null);
    assert.equal(config.joinHookTimeoutMs, 1000);
    assert.equal(config.joinHookFail, 'closed');
  });

  test('parses URL lists and the failure policy', () => {
    const config = loadConfig({
      WEBHOOK_URLS: 'https://a.example/h, http://b.example:8080/x',
      WEBHOOK_SECRET: SECRET,
      JOIN_HOOK_URL: 'https://a.example/join',
      JOIN_HOOK_FAIL: 'OPEN',
    });
    assert.deepEqual(config.webhookUrls, ['https://a.example/h', 'http://b.example:8080/x']);
    assert.equal(config.joinHookFail, 'open');
  });

  test('hooks without WEBHOOK_SECRET, a short secret or a bad URL stop start-up, the secret redacted', () => {
    assert.throws(() => loadConfig({ WEBHOOK_URLS: 'https://a.example/h' }), /WEBHOOK_SECRET/);
    assert.throws(() => loadConfig({ JOIN_HOOK_URL: 'https://a.example/j' }), /WEBHOOK_SECRET/);
    try {
      loadConfig({ WEBHOOK_SECRET: 'short-secret', WEBHOOK_URLS: 'ftp://x', JOIN_HOOK_FAIL: 'maybe' });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.issues.map((i) => i.variable).sort(), [
        'JOIN_HOOK_FAIL',
        'WEBHOOK_SECRET',
        'WEBHOOK_URLS',
      ]);
      assert.ok(!error.message.includes('short-secret'));
    }
  });
});
