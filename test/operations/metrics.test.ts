import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { delta, type Scrape, scrape } from '../helpers/metrics.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { type RunningServer, startServer, withServer } from '../helpers/server.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const hasRedis = await redisReachable();

/** A real call over sockets: b answers a's offer, one ICE candidate each way, then both hang up. */
async function twoPeerCall(offerer: RunningServer, answerer: RunningServer, room: string): Promise<void> {
  const a = await joinRoom(offerer.wsUrl, room);
  const b = await joinRoom(answerer.wsUrl, room);
  await a.client.next('peer_joined');
  a.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'v=0 offer' }, to: b.peerId });
  await b.client.next('offer');
  b.client.send({ type: 'answer', answer: { type: 'answer', sdp: 'v=0 answer' }, to: a.peerId });
  await a.client.next('answer');
  a.client.send({ type: 'ice_candidate', candidate: { candidate: 'candidate:1' }, to: b.peerId });
  b.client.send({ type: 'ice_candidate', candidate: null });
  await b.client.next('ice_candidate');
  await a.client.next('ice_candidate');
  b.client.close();
  await a.client.next('peer_left');
  a.client.close();
  await a.client.closed;
  await waitUntil(
    () => offerer.app.diagnostics.localPeers === 0 && answerer.app.diagnostics.localPeers === 0,
  );
}

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function assertCallCounted(before: Scrape, after: Scrape, joins: number): void {
  const moved = (series: string) => delta(before, after, series);
  assert.equal(moved('signaling_messages_relayed_total{type="offer"}'), 1);
  assert.equal(moved('signaling_messages_relayed_total{type="answer"}'), 1);
  assert.equal(moved('signaling_messages_relayed_total{type="ice_candidate"}'), 2);
  assert.equal(moved('signaling_offer_answer_seconds_count'), 1);
  assert.equal(moved('signaling_joins_total'), joins);
  assert.equal(moved('signaling_joins_unnegotiated_total'), 0);
}

describe('GET /metrics in one process', () => {
  test('counts a two-peer call: relays by type, bytes, joins, room sizes and one offer→answer time', async () => {
    await withServer({}, async (server) => {
      const url = `${server.url}/metrics`;
      const before = await scrape(url);
      await twoPeerCall(server, server, 'metered');
      const after = await scrape(url);
      assertCallCounted(before, after, 2);
      const moved = (series: string) => delta(before, after, series);
      // Received: the offer, the answer and two candidates.
      assert.equal(moved('signaling_received_messages_total'), 4);
      assert.ok(moved('signaling_received_bytes_total') > 100);
      // joined ×2, peer_joined, offer, answer, 2 candidates, peer_left.
      assert.equal(moved('signaling_sent_messages_total'), 8);
      assert.ok(moved('signaling_sent_bytes_total') > moved('signaling_received_bytes_total'));
      assert.equal(moved('signaling_room_peers_count'), 2);
      assert.equal(moved('signaling_room_peers_sum'), 3);
      assert.equal(moved('signaling_room_peers_bucket{le="1"}'), 1);
      assert.equal(moved('signaling_broker_command_seconds_count{operation="join",result="ok"}'), 2);
      assert.equal(after.get('signaling_connections'), 0);
      assert.equal(after.get('signaling_peers'), 0);
      assert.equal(after.get('signaling_rooms'), 0);
      assert.equal(after.get('signaling_broker_up{kind="memory"}'), 1);
      assert.equal(after.get('signaling_draining'), 0);
      assert.ok((after.get('nodejs_eventloop_lag_p99_seconds') ?? -1) >= 0, 'event-loop delay exported');
    });
  });

  test('counts a join that leaves without negotiating, refusals by reason and close codes sent', async () => {
    await withServer({}, async (server) => {
      const url = `${server.url}/metrics`;
      const before = await scrape(url);
      const lonely = await joinRoom(server.wsUrl, 'lonely');
      lonely.client.send('not json');
      await lonely.client.next('error');
      lonely.client.close();
      await lonely.client.closed;
      const bad = new TestClient(`${server.wsUrl}/ws/${'x'.repeat(65)}`);
      assert.equal((await bad.closed).code, 4400);
      await waitUntil(() => server.app.diagnostics.localPeers === 0);
      const after = await scrape(url);
      const moved = (series: string) => delta(before, after, series);
      assert.equal(moved('signaling_joins_total'), 1);
      assert.equal(moved('signaling_joins_unnegotiated_total'), 1);
      assert.equal(moved('signaling_refusals_total{reason="invalid_message"}'), 1);
      assert.equal(moved('signaling_refusals_total{reason="invalid_room"}'), 1);
      assert.equal(moved('signaling_close_codes_total{code="4400"}'), 1);
    });
  });

  test('counts login outcomes, argon2 time, auth failures and the active IP block', async () => {
    await withServer({ AUTH_MAX_FAILURES: '2' }, async (server) => {
      const url = `${server.url}/metrics`;
      const login = (password: string) =>
        fetch(`${server.url}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'user1', password }),
        });
      const before = await scrape(url);
      assert.equal((await login('password123')).status, 200);
      assert.equal((await login('wrong')).status, 401);
      assert.equal((await login('wrong')).status, 401);
      assert.equal((await login('password123')).status, 429);
      const after = await scrape(url);
      const moved = (series: string) => delta(before, after, series);
      assert.equal(moved('signaling_logins_total{outcome="success"}'), 1);
      assert.equal(moved('signaling_logins_total{outcome="invalid_credentials"}'), 2);
      assert.equal(moved('signaling_logins_total{outcome="blocked"}'), 1);
      assert.equal(moved('signaling_password_check_seconds_count'), 3);
      assert.ok(moved('signaling_password_check_seconds_sum') > 0);
      assert.equal(moved('signaling_auth_failures_total'), 2);
      assert.equal(after.get('signaling_ip_blocks_active'), 1);
    });
  });

  test('METRICS_TOKEN: 401 without the bearer token, 200 with it', async () => {
    await withServer({ METRICS_TOKEN: 'scrape-secret' }, async (server) => {
      const url = `${server.url}/metrics`;
      assert.equal((await fetch(url)).status, 401);
      assert.equal((await fetch(url, { headers: { authorization: 'Bearer wrong' } })).status, 401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-secret' } });
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    });
  });

  test('METRICS_PORT: served on its own port only, still behind METRICS_TOKEN', async () => {
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await withServer({ METRICS_PORT: String(port), METRICS_TOKEN: 'scrape-secret' }, async (server) => {
      assert.equal(server.app.operations.metricsPort, port);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401);
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 404);
      const samples = await scrape(`http://127.0.0.1:${port}/metrics`, 'scrape-secret');
      assert.equal(samples.get('signaling_connections'), 0);
    });
  });
});

describe('GET /metrics in a two-instance fleet', {
  skip: hasRedis ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, () => {
  test('each instance exports its own figures; the call is counted once across the fleet', async () => {
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `metrics-${process.pid}-${Date.now()}:`,
    };
    const one = await startServer(env);
    const two = await startServer(env);
    try {
      const urls = [`${one.url}/metrics`, `${two.url}/metrics`];
      const before = await Promise.all(urls.map((u) => scrape(u)));
      await twoPeerCall(one, two, 'fleet-metered');
      const after = await Promise.all(urls.map((u) => scrape(u)));
      const sum = (series: string) =>
        delta(before[0]!, after[0]!, series) + delta(before[1]!, after[1]!, series);
      // The offerer's instance measured the offer→answer time; relays counted where they were sent.
      assert.equal(delta(before[0]!, after[0]!, 'signaling_offer_answer_seconds_count'), 1);
      assert.equal(delta(before[1]!, after[1]!, 'signaling_offer_answer_seconds_count'), 0);
      assert.equal(delta(before[0]!, after[0]!, 'signaling_messages_relayed_total{type="offer"}'), 1);
      assert.equal(delta(before[1]!, after[1]!, 'signaling_messages_relayed_total{type="answer"}'), 1);
      assert.equal(sum('signaling_messages_relayed_total{type="ice_candidate"}'), 2);
      assert.equal(sum('signaling_joins_total'), 2);
      assert.equal(sum('signaling_joins_unnegotiated_total'), 0);
      assert.equal(delta(before[1]!, after[1]!, 'signaling_room_peers_sum'), 2, 'b joined a room of 2');
      assert.equal(after[0]!.get('signaling_broker_up{kind="redis"}'), 1);
      assert.ok(sum('signaling_broker_command_seconds_count{operation="join",result="ok"}') >= 2);
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});
