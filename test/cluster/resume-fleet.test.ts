import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { candidate, candidateNumbers, openSession, take, waitUntil } from '../helpers/resume.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import type { TestClient } from '../helpers/ws-client.js';

const available = await redisReachable();

if (!available) {
  test('resume across instances through Redis', (t) =>
    t.skip(`Redis not reachable at ${TEST_REDIS_URL}: start redis-server (bash .ci/run does)`));
} else {
  describe('resume across instances through Redis', () => {
    const prefix = `test:resume:${process.pid}:${Date.now()}:`;
    const env = (grace: string) => ({
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      REDIS_HEARTBEAT_MS: '200',
      RESUME_GRACE_SECONDS: grace,
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_CONNECTIONS_PER_IP: '100',
    });
    let one: RunningServer;
    let two: RunningServer;
    let proxy: TcpProxy;
    const clients: TestClient[] = [];
    const track = <T extends { client: TestClient }>(joined: T): T => {
      clients.push(joined.client);
      return joined;
    };

    before(async () => {
      [one, two] = await Promise.all([startServer(env('30')), startServer(env('30'))]);
      proxy = await TcpProxy.start(one.port);
    });
    after(async () => {
      for (const c of clients) c.ws.terminate();
      await proxy.close();
      await Promise.all([one.stop(), two.stop()]);
    });

    test('a peer cut on one instance resumes on the other and gets what it missed, in order; the other saw no peer_left', async () => {
      const alice = track(await openSession(two.wsUrl, 'fleet-cut'));
      const bob = track(await openSession(`ws://127.0.0.1:${proxy.port}`, 'fleet-cut'));
      await alice.client.next('peer_joined');
      alice.client.send(candidate(1, bob.peerId));
      assert.equal((await bob.client.next('ice_candidate')).seq, 1);
      proxy.cut();
      await waitUntil(() => one.app.diagnostics.localPeers === 0, 'instance one to detach bob');
      for (let i = 2; i <= 6; i += 1) alice.client.send(candidate(i, bob.peerId));
      alice.client.send({ type: 'offer', offer: { type: 'offer', sdp: 'restart' } });
      await alice.client.expectAlive();
      // Give Redis a moment to have every relay buffered before the claim.
      await new Promise((resolve) => setTimeout(resolve, 100));

      const back = track(await openSession(two.wsUrl, 'fleet-cut', { token: bob.token, lastSeq: 1 }));
      assert.equal(back.joined.resumed, true);
      assert.equal(back.joined.recovered, true);
      assert.equal(back.peerId, bob.peerId);
      assert.equal(back.joined.epoch, bob.joined.epoch);
      const missed = await take(back.client, 'ice_candidate', 5);
      assert.deepEqual(candidateNumbers(missed), [2, 3, 4, 5, 6]);
      assert.deepEqual(
        missed.map((m) => m.seq),
        [2, 3, 4, 5, 6],
      );
      assert.equal((await back.client.next('offer')).seq, 7);
      back.client.send(candidate(100, alice.peerId));
      assert.deepEqual(candidateNumbers(await take(alice.client, 'ice_candidate', 1)), [100]);
      alice.client.send(candidate(7, bob.peerId));
      assert.equal((await back.client.next('ice_candidate')).seq, 8);
      await alice.client.expectAlive();
      assert.deepEqual(
        alice.client.inbox.filter((m) => m.type === 'peer_left' || m.type === 'peer_joined'),
        [],
      );
    });

    test('a resume on the other instance takes over a connection its instance still thinks open', async () => {
      const alice = track(await openSession(two.wsUrl, 'fleet-takeover'));
      const bob = track(await openSession(`ws://127.0.0.1:${proxy.port}`, 'fleet-takeover'));
      await alice.client.next('peer_joined');
      proxy.blackhole();
      alice.client.send(candidate(1, bob.peerId));
      await alice.client.expectAlive();
      const back = track(await openSession(two.wsUrl, 'fleet-takeover', { token: bob.token, lastSeq: 0 }));
      assert.equal(back.joined.resumed, true);
      assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 1)), [1]);
      alice.client.send(candidate(2, bob.peerId));
      assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 1)), [2]);
      assert.equal(alice.client.inbox.filter((m) => m.type === 'peer_left').length, 0);
      proxy.cut();
    });

    test('a drained instance (1001) hands its peers over: they resume on the other one', async () => {
      const three = await startServer(env('30'));
      try {
        const alice = track(await openSession(two.wsUrl, 'fleet-drain'));
        const bob = track(await openSession(three.wsUrl, 'fleet-drain'));
        await alice.client.next('peer_joined');
        await three.stop();
        assert.equal((await bob.client.closed).code, 1001);
        for (let i = 1; i <= 3; i += 1) alice.client.send(candidate(i, bob.peerId));
        const back = track(await openSession(two.wsUrl, 'fleet-drain', { token: bob.token, lastSeq: 0 }));
        assert.equal(back.joined.resumed, true);
        assert.equal(back.joined.recovered, true);
        assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 3)), [1, 2, 3]);
        await alice.client.expectAlive();
        assert.equal(alice.client.inbox.filter((m) => m.type === 'peer_left').length, 0);
      } finally {
        await three.stop();
      }
    });

    test('the grace ends on any instance: peer_left once, then resume_expired', async () => {
      const short = await startServer(env('1'));
      try {
        const alice = track(await openSession(two.wsUrl, 'fleet-expire'));
        const bob = track(await openSession(short.wsUrl, 'fleet-expire'));
        await alice.client.next('peer_joined');
        await short.stop(); // its own sweeper is gone: instances one and two end the session
        const left = await alice.client.next('peer_left', 5000);
        assert.equal(left.peer_id, bob.peerId);
        const late = track(await openSession(one.wsUrl, 'fleet-expire', { token: bob.token, lastSeq: 0 }));
        assert.equal(late.joined.resume_refused, 'resume_expired');
        await alice.client.expectAlive();
        assert.equal(alice.client.inbox.filter((m) => m.type === 'peer_left').length, 0, 'told once');
      } finally {
        await short.stop();
      }
    });
  });
}
