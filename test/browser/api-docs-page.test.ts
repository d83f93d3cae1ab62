import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromiumMissing, newContext, useBrowserAndServer } from '../helpers/chromium.js';

const fixture = useBrowserAndServer({ REQUIRE_HTTPS: 'true' });

test('/docs renders every route in Chromium under the strict CSP without a violation', {
  timeout: 60_000,
}, async (t) => {
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  const context = await newContext(browser);
  try {
    const page = await context.newPage();
    const logged: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') logged.push(message.text());
    });
    page.on('pageerror', (error) => logged.push(`page error: ${error.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    const response = await page.goto(`${server.url}/docs`);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

    await page.waitForSelector('.opblock', { timeout: 20_000 });
    const documented = await page.$$eval('.opblock-summary-path', (nodes) =>
      nodes.map((n) => n.textContent?.trim()),
    );
    for (const path of ['/health/ready', '/metrics', '/auth/login', '/api/rooms/{room_id}/info'])
      assert.ok(
        documented.some((p) => p?.replace(/\u200b/g, '') === path),
        `${path} shown; got ${documented.join(' ')}`,
      );
    assert.equal(await page.getAttribute('#asyncapi', 'href'), '/asyncapi.json');
    await page.waitForTimeout(500);
    assert.deepEqual(
      logged.filter((line) => /Content Security Policy|CSP violation|page error/i.test(line)),
      [],
      logged.join('\n'),
    );
  } finally {
    await context.close();
  }
});
