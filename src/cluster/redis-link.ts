import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A Redis that accepts connections but does not answer (stopped, overloaded) fails commands after this. */
const COMMAND_TIMEOUT_MS = 5000;

/** A command connection: one Redis or a Redis Cluster; both speak the same commands. */
export type RedisCommands = Redis | Cluster;

export interface RedisLinkOptions {
  /** One URL, or with `cluster` a comma-separated list of seed nodes (`redis://a:7000,b:7001`). */
  readonly url: string;
  readonly cluster: boolean;
  readonly onError: (error: unknown, context: string) => void;
}

/**
 * The connections one instance keeps to Redis: commands, and room events over pub/sub (SUBSCRIBE on
 * one Redis, sharded SSUBSCRIBE/SPUBLISH on a Cluster, so a room's channel lives on the shard of its
 * keys). Commands fail fast while Redis is unreachable (no offline queue). Subscriptions come back by
 * themselves after a reconnect; `onRecovered` listeners are told each time the link is whole again
 * after a loss, so shared state can be repaired.
 */
export class RedisLink {
  readonly commands: RedisCommands;
  readonly #subscriber: RedisCommands;
  readonly #cluster: boolean;
  readonly #recovered = new Set<() => void>();
  #lost = false;
  #closing = false;

  private constructor(options: RedisLinkOptions) {
    this.#cluster = options.cluster;
    if (options.cluster) {
      const { seeds, redisOptions } = parseSeeds(options.url);
      const clusterOptions: ClusterOptions = {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: false, // see the single-node options below
        clusterRetryStrategy: (attempt: number) => Math.min(2000, 100 * 2 ** Math.min(attempt, 5)),
        redisOptions: { ...redisOptions, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS },
      };
      this.commands = new Cluster(seeds, clusterOptions);
      this.#subscriber = new Cluster(seeds, { ...clusterOptions, shardedSubscribers: true });
    } else {
      const redisOptions: RedisOptions = {
        lazyConnect: true,
        enableOfflineQueue: false,
        // ioredis's auto-pipelining sends the next pipeline only once the previous one was answered:
        // under load every relay waited a round trip behind the batch before it. Without it each
        // command is written at once and many are in flight; relays are batched per room by
        // `RedisSessions` instead.
        enableAutoPipelining: false,
        maxRetriesPerRequest: 1,
        commandTimeout: COMMAND_TIMEOUT_MS,
        retryStrategy: (attempt: number) => Math.min(2000, 100 * 2 ** Math.min(attempt, 5)),
      };
      this.commands = new Redis(options.url, redisOptions);
      this.#subscriber = new Redis(options.url, redisOptions);
    }
    for (const [client, name] of [
      [this.commands, 'commands'],
      [this.#subscriber, 'subscriber'],
    ] as const) {
      client.on('error', (error: unknown) => options.onError(error, `redis ${name} connection`));
      client.on('close', () => {
        if (!this.#closing) this.#lost = true;
      });
      client.on('ready', () => this.#checkRecovered());
    }
  }

  /** Connects every connection; rejects (and disconnects) when Redis is unreachable. */
  static async connect(options: RedisLinkOptions): Promise<RedisLink> {
    const link = new RedisLink(options);
    try {
      await Promise.all([link.commands.connect(), link.#subscriber.connect()]);
    } catch (error) {
      link.commands.disconnect();
      link.#subscriber.disconnect();
      throw error;
    }
    link.#lost = false;
    return link;
  }

  /** True for a Redis Cluster: room channels are sharded (SPUBLISH). */
  get cluster(): boolean {
    return this.#cluster;
  }

  /** True while both connections are up. */
  get ready(): boolean {
    return this.commands.status === 'ready' && this.#subscriber.status === 'ready';
  }

  /** Calls `listener` each time both connections are ready again after one was lost. */
  onRecovered(listener: () => void): void {
    this.#recovered.add(listener);
  }

  /** Calls `listener` with every message of a subscribed channel, as the bytes Redis sent. */
  onMessage(listener: (channel: Buffer, message: Buffer) => void): void {
    this.#subscriber.on(this.#cluster ? 'smessageBuffer' : 'messageBuffer', listener);
  }

  async subscribe(channel: string): Promise<void> {
    if (this.#cluster) await this.#subscriber.ssubscribe(channel);
    else await this.#subscriber.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    if (this.#cluster) await this.#subscriber.sunsubscribe(channel);
    else await this.#subscriber.unsubscribe(channel);
  }

  async publish(channel: string, message: string | Buffer): Promise<void> {
    if (this.#cluster) await this.commands.spublish(channel, message);
    else await this.commands.publish(channel, message);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#recovered.clear();
    // QUIT waits for an answer: only worth asking a connection that is up.
    await Promise.all(
      [this.commands, this.#subscriber].map(async (c) => {
        if (c.status !== 'ready') return c.disconnect();
        await c.quit().catch(() => c.disconnect());
      }),
    );
  }

  #checkRecovered(): void {
    if (!this.#lost || !this.ready) return;
    this.#lost = false;
    for (const listener of this.#recovered) listener();
  }
}

/** `redis://u:p@a:7000,b:7001` → the seed nodes and the credentials/TLS of the first URL. */
export function parseSeeds(list: string): {
  seeds: { host: string; port: number }[];
  redisOptions: RedisOptions;
} {
  const parts = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const first = new URL(parts[0] ?? 'redis://127.0.0.1:6379');
  const seeds = parts.map((part) => {
    const url = new URL(part.includes('://') ? part : `${first.protocol}//${part}`);
    return { host: url.hostname, port: Number(url.port || 6379) };
  });
  const redisOptions: RedisOptions = {};
  if (first.username) redisOptions.username = decodeURIComponent(first.username);
  if (first.password) redisOptions.password = decodeURIComponent(first.password);
  if (first.protocol === 'rediss:') redisOptions.tls = {};
  return { seeds, redisOptions };
}
