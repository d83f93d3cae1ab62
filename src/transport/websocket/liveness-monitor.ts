import type { Logger } from 'pino';
import { CloseCode } from '../../signaling/errors.js';
import type { ClientConnection } from './client-connection.js';

/**
 * Connections checked in one go before yielding to the event loop. A pass pings every connection
 * idle for half the timeout, one write each: 19,000 at once stalled the loop for ~50 ms (bench,
 * memory scenario); slices of 500 keep each stall near 1 ms.
 */
const CONNECTIONS_PER_SLICE = 500;

export interface LivenessMonitorDeps {
  /** Seconds without any sign of life before a connection is dropped (`WEBSOCKET_TIMEOUT`). */
  readonly timeoutSeconds: number;
  readonly log: Logger;
  readonly now: () => number;
}

/**
 * Liveness and token expiry of every tracked connection, on one timer instead of one per socket.
 * A connection silent for half the timeout gets a WebSocket ping; silent for the whole timeout it is
 * terminated; one whose token has expired unrefreshed is closed with 4401. The tick is a quarter of
 * the timeout (between 100 ms and 5 s), so no connection outlives its timeout by more than one tick.
 */
export class LivenessMonitor {
  readonly #deps: LivenessMonitorDeps;
  readonly #connections = new Set<ClientConnection>();
  readonly #timeoutMs: number;
  #ticker: NodeJS.Timeout | null = null;
  /** The rest of a pass over many connections, continued after other I/O. */
  #continuation: NodeJS.Immediate | null = null;

  constructor(deps: LivenessMonitorDeps) {
    this.#deps = deps;
    this.#timeoutMs = deps.timeoutSeconds * 1000;
  }

  /** Starts the ticker; it does not keep the process alive. */
  start(): void {
    const tickMs = Math.min(5000, Math.max(100, Math.floor(this.#timeoutMs / 4)));
    this.#ticker = setInterval(() => this.tick(), tickMs);
    this.#ticker.unref();
  }

  stop(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
    if (this.#continuation) clearImmediate(this.#continuation);
    this.#continuation = null;
  }

  track(connection: ClientConnection): void {
    this.#connections.add(connection);
  }

  untrack(connection: ClientConnection): void {
    this.#connections.delete(connection);
  }

  /** The tracked connections (joined sessions), for shutdown. */
  get connections(): ReadonlySet<ClientConnection> {
    return this.#connections;
  }

  /**
   * One pass over every connection; the ticker calls it. Up to `CONNECTIONS_PER_SLICE` are checked
   * at once, the rest in further slices after pending I/O (a pass still running skips the tick).
   */
  tick(): void {
    if (this.#continuation !== null) return;
    this.#slice([...this.#connections], 0, this.#deps.now());
  }

  #slice(connections: readonly ClientConnection[], from: number, now: number): void {
    this.#continuation = null;
    const end = Math.min(connections.length, from + CONNECTIONS_PER_SLICE);
    for (let i = from; i < end; i++) {
      const c = connections[i] as ClientConnection;
      if (!this.#connections.has(c)) continue; // closed since the pass began
      if (c.tokenExpiresAt !== null && now >= c.tokenExpiresAt) {
        c.close(CloseCode.Unauthorized, 'token expired');
        continue;
      }
      const idle = now - c.lastSeen;
      if (idle >= this.#timeoutMs) {
        this.#deps.log.info({ ip: c.client.ip, room: c.room, peer: c.peerId }, 'connection timed out');
        c.timedOut = true;
        c.terminate();
      } else if (idle >= this.#timeoutMs / 2 && !c.pingOutstanding) {
        c.pingOutstanding = true;
        c.ws.ping();
      }
    }
    if (end < connections.length) this.#continuation = setImmediate(() => this.#slice(connections, end, now));
  }
}
