import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closedWithin } from '../../helpers/measure.js';
import { login } from '../../helpers/secure.js';
import { withServer } from '../../helpers/server.js';
import { joinRoom } from '../../helpers/ws-client.js';

const offer = (n: number) => ({ type: 'offer', offer: { type: 'offer', sdp: `v=0 n=${n}` } });

/** Starts a server with `env`, runs `body`, and always stops the server and every client. */

const LIMITS = { RATE_LIMIT_PER_MINUTE: '60', MAX_CONNECTIONS_PER_IP: '10' };

describe('message rate limit (RATE_LIMIT_PER_MINUTE=60)', () => {
  test('answers the first 60 pings of a burst of 100, refuses the 61st with rate_limited and ends the flood with 4429', async () => {
    await withServer(LIMITS, async (server, track) => {
      const flooder = track((await joinRoom(server.wsUrl, 'flood')).client);
      for (let i = 1; i <= 100; i += 1) flooder.send({ type: 'ping', ts: i });
      const closed = await closedWithin(flooder);
      assert.equal(closed.code, 4429);
      assert.equal(closed.reason, 'rate limit exceeded');

      const replies = flooder.inbox.map((m) => (m.type === 'pong' ? m.ts : m.code));
      const pongs = replies.filter((r) => typeof r === 'number');
      assert.deepEqual(
        pongs,
        Array.from({ length: 60 }, (_, i) => i + 1),
        'pings 1..60 answered in order',
      );
      assert.equal(replies[60], 'rate_limited', 'the reply after the 60th pong refuses the 61st ping');
      assert.ok(
        replies.slice(60).every((r) => r === 'rate_limited'),
        `only refusals after the limit: ${replies.slice(60)}`,
      );
      assert.ok(replies.length < 100, 'not every refused message is answered: the flood is cut off');

      assert.ok(server.app.diagnostics.securityEvents('rate_limited') >= 1);
      const logged = server.logs.find((l) => l.security_event === 'rate_limited');
      assert.equal(logged?.ip, '127.0.0.1');
    });
  });

  test('another IP is unaffected by a flood while the flooding IP stays limited on a new connection', async () => {
    await withServer(LIMITS, async (server, track) => {
      const flooder = track((await joinRoom(server.wsUrl, 'flood')).client);
      const other = track((await joinRoom(server.wsUrl, 'elsewhere', { localAddress: '127.0.0.2' })).client);
      for (let i = 1; i <= 100; i += 1) flooder.send({ type: 'ping', ts: i });
      for (let i = 1; i <= 30; i += 1) other.send({ type: 'ping', ts: i });
      assert.equal((await closedWithin(flooder)).code, 4429);
      for (let i = 1; i <= 30; i += 1) assert.equal((await other.next('pong')).ts, i);
      assert.equal(other.inbox.filter((m) => m.type === 'error').length, 0);
      await other.expectAlive();

      // The bucket belongs to the IP, not the socket: reconnecting does not refill it.
      const again = track((await joinRoom(server.wsUrl, 'flood')).client);
      again.send({ type: 'ping', ts: 'after' });
      assert.equal((await again.next('error')).code, 'rate_limited');
    });
  });

  test('nothing is amplified: the peers of a rate-limited sender receive only its admitted messages', async () => {
    await withServer(LIMITS, async (server, track) => {
      const sender = await joinRoom(server.wsUrl, 'amp');
      track(sender.client);
      const peers = [
        track((await joinRoom(server.wsUrl, 'amp', { localAddress: '127.0.0.2' })).client),
        track((await joinRoom(server.wsUrl, 'amp', { localAddress: '127.0.0.3' })).client),
      ];
      for (let i = 1; i <= 100; i += 1) sender.client.send(offer(i));
      assert.equal((await closedWithin(sender.client)).code, 4429);
      for (const peer of peers) {
        const left = await peer.next('peer_left');
        assert.equal(left.peer_id, sender.peerId);
        const offers = peer.inbox.filter((m) => m.type === 'offer');
        assert.equal(offers.length, 60, 'exactly the 60 admitted offers');
        assert.deepEqual(
          offers.map((m) => (m.offer as { sdp: string }).sdp),
          Array.from({ length: 60 }, (_, i) => `v=0 n=${i + 1}`),
        );
        await peer.expectAlive();
      }
      const senderGot = sender.client.inbox.map((m) => m.type);
      assert.ok(
        senderGot.every((t) => t === 'error' || t === 'peer_joined'),
        `sender got ${senderGot}`,
      );
      assert.ok(
        sender.client.inbox.filter((m) => m.type === 'error').length <= 40,
        'at most one refusal per refused message',
      );
    });
  });

  test('an authenticated user is limited per user as well, across IPs', async () => {
    await withServer({ ...LIMITS, REQUIRE_AUTH: 'true' }, async (server, track) => {
      const token = async (user: string, password: string) =>
        ((await login(server, user, password)).json as { access_token: string }).access_token;
      const user1 = await token('user1', 'password123');
      const admin = await token('admin', 'admin123');
      const first = track(
        (await joinRoom(server.wsUrl, 'users', { token: user1, localAddress: '127.0.0.2' })).client,
      );
      const second = track(
        (await joinRoom(server.wsUrl, 'users', { token: user1, localAddress: '127.0.0.3' })).client,
      );
      const someoneElse = track(
        (await joinRoom(server.wsUrl, 'users', { token: admin, localAddress: '127.0.0.4' })).client,
      );
      for (let i = 1; i <= 40; i += 1) first.send({ type: 'ping', ts: i });
      for (let i = 1; i <= 40; i += 1) assert.equal((await first.next('pong')).ts, i);
      for (let i = 1; i <= 40; i += 1) second.send({ type: 'ping', ts: i });
      // 20 tokens left for user1, then 20 refusals: the 20th closes the connection.
      assert.equal((await closedWithin(second)).code, 4429);
      const answers = second.inbox.filter((m) => m.type === 'pong' || m.type === 'error');
      assert.deepEqual(
        answers.filter((m) => m.type === 'pong').map((m) => m.ts),
        Array.from({ length: 20 }, (_, i) => i + 1),
        'user1 had 20 of its 60 tokens left',
      );
      assert.equal(answers[20]?.code, 'rate_limited');
      for (let i = 1; i <= 40; i += 1) someoneElse.send({ type: 'ping', ts: i });
      for (let i = 1; i <= 40; i += 1) assert.equal((await someoneElse.next('pong')).ts, i);
    });
  });
});
