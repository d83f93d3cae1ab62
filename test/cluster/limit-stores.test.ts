import { after, test } from 'node:test';
import { type Cluster, createCluster } from '../../src/cluster/create-cluster.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { CONTRACT_LIMIT_CONFIG, describeLimitStores } from './limit-stores-contract.js';

const REDIS_URL = TEST_REDIS_URL;
const config = CONTRACT_LIMIT_CONFIG;

const fail = (error: unknown) => {
  throw error;
};

describeLimitStores('in-process', async () => {
  const cluster = await createCluster({ ...config, redisUrl: null, redisKeyPrefix: 'unused:' });
  return cluster.limits;
});

if (await redisReachable()) {
  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.close();
  });
  describeLimitStores('Redis', async () => {
    const cluster = await createCluster(
      {
        ...config,
        redisUrl: REDIS_URL,
        redisKeyPrefix: `limits-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}:`,
      },
      // Errors must not be hidden by the local fallback here: the contract is about Redis itself.
      { onLimitFallback: fail },
    );
    clusters.push(cluster);
    return cluster.limits;
  });
} else {
  test('limit stores contract: Redis', (t) => t.skip(`Redis not reachable at ${REDIS_URL}`));
}
