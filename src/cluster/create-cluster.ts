import type { Config } from '../config/config.js';
import type { LimitStores } from '../security/limit-stores.js';
import {
  createLocalLimitStores,
  type LimitConfig,
  type LocalLimitStores,
} from '../security/local-limit-stores.js';
import type { Broker } from '../signaling/broker.js';
import { DEFAULT_SESSION_LIMITS } from '../signaling/session-store.js';
import { MemoryBroker } from './memory-broker.js';

/** Where rooms live and where limits are counted, chosen together from the configuration. */
export interface Cluster {
  readonly broker: Broker;
  /** The limit stores in force: shared through Redis in a fleet, else the local ones. */
  readonly limits: LimitStores;
  /** This instance's own tables (the limits alone, or the fallback when Redis fails). */
  readonly local: LocalLimitStores;
  /** Stops the background work (rate sync, heartbeat) and disconnects; the broker is closed too. */
  close(): Promise<void>;
}

export type ClusterConfig = LimitConfig &
  Pick<Config, 'redisUrl' | 'redisKeyPrefix'> &
  Partial<Pick<Config, 'redisCluster' | 'redisHeartbeatMs' | 'resumeBufferMessages' | 'resumeBufferBytes'>>;

export interface ClusterOptions {
  readonly now?: () => number;
  /** A broker (Redis) error outside any request: connection loss, heartbeat, reaping. */
  readonly onBrokerError?: (error: unknown, context: string) => void;
  /** A shared limit store failed and the local one answered instead. */
  readonly onLimitFallback?: (error: unknown, context: string) => void;
}

/** Thrown when the configured broker cannot be reached at start-up; the message is one line. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/**
 * The one place that knows Redis exists. Without `REDIS_URL`: the in-process MemoryBroker and local
 * limits. With it (one Redis, or a Redis Cluster with `REDIS_CLUSTER`): the RedisBroker shared by
 * every instance and limits shared through Redis (one set of connections for both), repaired
 * together after an outage. An unreachable Redis stops start-up instead of silently running a
 * single isolated instance. Redis code is loaded only when it is configured.
 */
export async function createCluster(config: ClusterConfig, options: ClusterOptions = {}): Promise<Cluster> {
  const now = options.now ?? Date.now;
  const local = createLocalLimitStores(config, now);
  const sessionLimits = {
    maxMessages: config.resumeBufferMessages ?? DEFAULT_SESSION_LIMITS.maxMessages,
    maxBytes: config.resumeBufferBytes ?? DEFAULT_SESSION_LIMITS.maxBytes,
  };
  if (config.redisUrl === null) {
    const broker = new MemoryBroker(now, sessionLimits);
    return { broker, limits: local, local, close: () => broker.close() };
  }

  const [{ RedisBroker }, { createRedisLimitStores }] = await Promise.all([
    import('./redis-broker.js'),
    import('./redis-limit-stores.js'),
  ]);
  const url = config.redisUrl;
  // Until connected, connection errors are the start-up's one-line refusal, not log lines of their own.
  let connected = false;
  let firstError: Error | undefined;
  const broker = await RedisBroker.connect({
    url,
    cluster: config.redisCluster ?? false,
    prefix: config.redisKeyPrefix,
    now,
    sessionLimits,
    ...(config.redisHeartbeatMs ? { heartbeatMs: config.redisHeartbeatMs } : {}),
    onError: (error, context) => {
      if (connected) options.onBrokerError?.(error, context);
      else firstError ??= error as Error;
    },
  }).catch((error: Error) => {
    const cause = firstError?.message ?? error.message;
    throw new BrokerUnavailableError(`cannot reach Redis at ${redactCredentials(url)}: ${cause}`);
  });
  connected = true;
  const shared = createRedisLimitStores({
    redis: broker.link.commands,
    prefix: config.redisKeyPrefix,
    instanceId: broker.instanceId,
    rate: { perMinute: config.rateLimitPerMinute, burst: config.rateLimitBurst },
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    auth: {
      maxFailures: config.authMaxFailures,
      windowSeconds: config.authFailureWindow,
      blockSeconds: config.authBlockSeconds,
    },
    local,
    onError: options.onLimitFallback ?? (() => {}),
  });
  broker.registry.register(shared.fleetState);
  shared.rates.start();
  const close = async () => {
    await shared.rates.stop();
    await broker.close();
  };
  return { broker, limits: shared.stores, local, close };
}

/** `redis://user:secret@host` → `redis://user:***@host`, for error messages and logs. */
export function redactCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
