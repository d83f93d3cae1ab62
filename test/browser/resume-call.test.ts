import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CallPage, withCallPages } from '../helpers/call-page.js';
import { chromiumMissing, useBrowserAndServer } from '../helpers/chromium.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { startServer } from '../helpers/server.js';

// The restart needs REDIS_URL: sessions live in the broker, and an in-process broker is restarted
// with the server (its clients would join fresh: test/browser/reconnect.test.ts covers that).
const redis = await redisReachable();
const ENV = {
  ICE_SERVERS: '[]',
  RATE_LIMIT_PER_MINUTE: '600',
  RESUME_GRACE_SECONDS: '30',
  REDIS_URL: TEST_REDIS_URL,
  REDIS_KEY_PREFIX: `test:resume-call:${process.pid}:${Date.now()}:`,
};
const fixture = useBrowserAndServer(redis ? ENV : {});

/** The peer list items' ids, states and channel states, and whether anyone was announced as left. */
function snapshot(page: CallPage) {
  return page.page.evaluate(() => ({
    peers: [...document.querySelectorAll<HTMLElement>('#peer-list li')].map(
      (li) => `${li.dataset.peerId} ${li.dataset.state} ${li.dataset.channel}`,
    ),
    left: [...document.querySelectorAll('#chat-log p.system')].some((p) =>
      / left\.$/.test(p.textContent ?? ''),
    ),
  }));
}

test('a two-page call whose server restarts keeps its data channel open, keeps chatting, and resumes its peer ids', {
  timeout: 90_000,
}, async (t) => {
  if (!redis) return t.skip(`Redis not reachable at ${TEST_REDIS_URL}`);
  const { browser, server } = fixture;
  if (chromiumMissing || !browser || !server) return t.skip(chromiumMissing ?? 'setup failed');
  await withCallPages(t, browser, `${server.url}/examples/simple_client.html`, 2, async (pages) => {
    const [alice, bob] = pages as [CallPage, CallPage];
    await alice.join('resume-call');
    await bob.join('resume-call');
    await Promise.all([alice.waitForConnectedPeers(1), bob.waitForConnectedPeers(1)]);
    const ids = [await alice.peerId(), await bob.peerId()];
    const before = [await snapshot(alice), await snapshot(bob)];

    const { port, dir } = server;
    await server.stop(); // a drain: every WebSocket closed with 1001, sessions handed to Redis
    await Promise.all([
      alice.waitForConnectionState('reconnecting'),
      bob.waitForConnectionState('reconnecting'),
    ]);
    // Signaling is down; the media path is not: the data channel still carries the chat.
    await alice.sendChat('while the server is down');
    await bob.waitForChat('while the server is down');
    assert.ok(
      ((await alice.page.textContent('#notice')) ?? '').includes('Reconnecting'),
      'the page says it is reconnecting',
    );

    fixture.server = await startServer(ENV, { port, dir });
    await Promise.all([alice.waitForConnectionState('joined'), bob.waitForConnectionState('joined')]);
    assert.deepEqual([await alice.peerId(), await bob.peerId()], ids, 'the same peer ids: resumed');
    assert.deepEqual(
      [await snapshot(alice), await snapshot(bob)],
      before,
      'no peer left, channels still open',
    );
    await bob.sendChat('after the restart');
    await alice.waitForChat('after the restart');
    await alice.sendChat('still the same call');
    await bob.waitForChat('still the same call');
    const log = (await alice.page.textContent('#chat-log')) ?? '';
    assert.ok(log.includes('Reconnected; the call went on.'), log);
  });
});
