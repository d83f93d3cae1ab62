import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Cluster, createCluster } from '../../src/cluster/create-cluster.js';
import { RedisBroker } from '../../src/cluster/redis-broker.js';
import { canStartRedis, startRedisCluster } from '../helpers/redis-process.js';
import { candidate, candidateNumbers, openSession, take, waitUntil } from '../helpers/resume.js';
import { startServer } from '../helpers/server.js';
import { joinRoom } from '../helpers/ws-client.js';
import { describeBroker } from './broker-contract.js';
import { CONTRACT_LIMIT_CONFIG, describeLimitStores } from './limit-stores-contract.js';

// A three-master Redis Cluster started for this file: the same contracts as one Redis, and a room
// spanning two instances. Sharded pub/sub needs Redis 7.
const available = await canStartRedis();
const cluster = available ? await startRedisCluster() : null;
const prefix = () => `rc-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}:`;
const fail = (error: unknown) => {
  throw error;
};

if (cluster === null) {
  test('Redis Cluster', (t) => t.skip('redis-server is not installed: the Redis Cluster tests need it'));
} else {
  const url = cluster.url;

  describeBroker('RedisBroker on a Redis Cluster', () =>
    RedisBroker.connect({ url, cluster: true, prefix: prefix() }),
  );

  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.close();
    await cluster.stop();
  });
  describeLimitStores('Redis Cluster', async () => {
    const created = await createCluster(
      {
        ...CONTRACT_LIMIT_CONFIG,
        redisUrl: url,
        redisCluster: true,
        redisKeyPrefix: prefix(),
      },
      { onLimitFallback: fail },
    );
    clusters.push(created);
    return created.limits;
  });

  describe('two instances on a Redis Cluster', () => {
    const env = {
      REDIS_URL: url,
      REDIS_CLUSTER: 'true',
      REDIS_KEY_PREFIX: prefix(),
      RATE_LIMIT_PER_MINUTE: '100000',
      RESUME_GRACE_SECONDS: '30',
    };
    let one: Awaited<ReturnType<typeof startServer>>;
    let two: Awaited<ReturnType<typeof startServer>>;
    before(async () => {
      one = await startServer(env);
      two = await startServer(env);
    });
    after(async () => {
      await one.stop();
      await two.stop();
    });

    test('serve one room across instances: presence, relay in order, room info, leave', async () => {
      const a = await joinRoom(one.wsUrl, 'sharded');
      const b = await joinRoom(two.wsUrl, 'sharded');
      assert.deepEqual(b.peers, [a.peerId]);
      assert.equal((await a.client.next('peer_joined')).peer_id, b.peerId);
      for (let i = 0; i < 100; i += 1)
        a.client.send({ type: 'ice_candidate', candidate: { candidate: `c${i}` }, to: b.peerId });
      for (let i = 0; i < 100; i += 1)
        assert.equal(
          ((await b.client.next('ice_candidate')).candidate as { candidate: string }).candidate,
          `c${i}`,
        );
      const info = (await (await fetch(`${one.url}/api/rooms/sharded/info`)).json()) as {
        peer_count: number;
      };
      assert.equal(info.peer_count, 2);
      const health = (await (await fetch(`${two.url}/health`)).json()) as { broker: { ok: boolean } };
      assert.equal(health.broker.ok, true);
      b.client.close();
      assert.equal((await a.client.next('peer_left')).peer_id, b.peerId);
      a.client.close();
    });

    test('a peer cut on one instance resumes on the other: the session scripts run on the room’s shard', async () => {
      const a = await openSession(one.wsUrl, 'sharded-resume');
      const b = await openSession(two.wsUrl, 'sharded-resume');
      await a.client.next('peer_joined');
      b.client.ws.terminate();
      await waitUntil(() => two.app.diagnostics.localPeers === 0, 'instance two to detach b');
      for (let i = 1; i <= 3; i += 1) a.client.send(candidate(i, b.peerId));
      await a.client.expectAlive();
      const back = await openSession(one.wsUrl, 'sharded-resume', { token: b.token, lastSeq: 0 });
      assert.deepEqual([back.peerId, back.joined.resumed, back.joined.recovered], [b.peerId, true, true]);
      assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 3)), [1, 2, 3]);
      assert.equal(a.client.inbox.filter((m) => m.type === 'peer_left').length, 0);
      a.client.close();
      back.client.close();
    });
  });
}
