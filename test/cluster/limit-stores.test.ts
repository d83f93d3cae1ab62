import { after, test } from 'node:test';
import type { Broker } from '../../src/cluster/broker.js';
import { createLimitStores } from '../../src/cluster/create-limit-stores.js';
import { MemoryBroker } from '../../src/cluster/memory-broker.js';
import { RedisBroker } from '../../src/cluster/redis-broker.js';
import { AuthFailureTracker } from '../../src/security/auth-failure-tracker.js';
import { ConnectionCounter } from '../../src/security/connection-counter.js';
import { RateLimiter } from '../../src/security/token-bucket.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { CONTRACT_LIMITS, describeLimitStores } from './limit-stores-contract.js';

const REDIS_URL = TEST_REDIS_URL;
const config = {
  rateLimitPerMinute: CONTRACT_LIMITS.perMinute,
  rateLimitBurst: CONTRACT_LIMITS.burst,
  maxConnectionsPerIp: CONTRACT_LIMITS.maxConnectionsPerIp,
  authMaxFailures: CONTRACT_LIMITS.maxFailures,
  authFailureWindow: CONTRACT_LIMITS.windowSeconds,
  authBlockSeconds: CONTRACT_LIMITS.blockSeconds,
};

function localStores() {
  const rate = {
    perMinute: config.rateLimitPerMinute,
    burst: config.rateLimitBurst,
    maxKeys: 1000,
    now: Date.now,
  };
  return {
    ipRate: new RateLimiter(rate),
    userRate: new RateLimiter(rate),
    connections: new ConnectionCounter(config.maxConnectionsPerIp),
    authFailures: new AuthFailureTracker({
      maxFailures: config.authMaxFailures,
      windowSeconds: config.authFailureWindow,
      blockSeconds: config.authBlockSeconds,
      maxEntries: 1000,
      now: Date.now,
    }),
  };
}

const fail = (error: unknown) => {
  throw error;
};

describeLimitStores('in-process', async () =>
  createLimitStores(config, new MemoryBroker(), localStores(), Date.now, fail),
);

if (await redisReachable()) {
  const brokers: Broker[] = [];
  after(async () => {
    for (const b of brokers) await b.close();
  });
  describeLimitStores('Redis', async () => {
    const broker = await RedisBroker.connect({
      url: REDIS_URL,
      prefix: `limits-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}:`,
    });
    brokers.push(broker);
    // Errors must not be hidden by the local fallback here: the contract is about Redis itself.
    return createLimitStores(config, broker, localStores(), Date.now, fail);
  });
} else {
  test('limit stores contract: Redis', (t) => t.skip(`Redis not reachable at ${REDIS_URL}`));
}
