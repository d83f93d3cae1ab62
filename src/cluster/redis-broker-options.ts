import type { SessionLimits } from '../signaling/session-store.js';

/** How a `RedisBroker` connects and behaves. */
export interface RedisBrokerOptions {
  readonly url: string;
  /** `url` lists Redis Cluster seed nodes: sharded pub/sub, one hash slot per room. */
  readonly cluster?: boolean;
  /** Key and channel prefix, so several deployments (or test runs) can share one Redis. */
  readonly prefix?: string;
  /** How often this instance renews its liveness; it is dead after three missed beats. */
  readonly heartbeatMs?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown, context: string) => void;
  /** Bounds of a detached peer's buffer (`RESUME_BUFFER_*`). */
  readonly sessionLimits?: SessionLimits;
}
