import type { RequestSigner } from './request-signer.js';

/** One webhook event as receivers get it (README, "Connecting your backend"). */
export interface WebhookEvent {
  /** Unique per event; a retried delivery keeps it, so receivers drop duplicates by it. */
  readonly id: string;
  readonly event: 'room_started' | 'room_finished' | 'peer_joined' | 'peer_left';
  /** ISO 8601 time the event happened. */
  readonly created_at: string;
  /** The instance that saw it happen. */
  readonly instance: string;
  readonly room: { readonly room_id: string; readonly created_at?: string };
  readonly peer?: { readonly peer_id: string; readonly username: string | null };
  readonly reason?: 'left' | 'dropped' | 'kicked' | 'timeout';
}

/** Delivery totals of one endpoint since start, read by the metrics at scrape. */
export interface DeliveryCounts {
  delivered: number;
  /** Given up after `maxAttempts` failed attempts. */
  failed: number;
  /** Refused because the queue was full. */
  dropped: number;
}

export interface WebhookEndpointOptions {
  readonly url: string;
  readonly signer: RequestSigner;
  /** Events waiting at most; one more is dropped and counted (`WEBHOOK_QUEUE_SIZE`). */
  readonly capacity: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  /** First retry delay; doubled per attempt up to `maxBackoffMs`, then jittered to 50–100 %. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly random?: () => number;
  readonly onError?: (error: unknown, url: string) => void;
}

const USER_AGENT = 'webrtc-signaling-server-webhooks';

/**
 * One webhook receiver: a bounded FIFO queue and its own worker, which POSTs one event at a time in
 * order. `enqueue` is synchronous and O(1), so a room's relay never waits on a receiver. A failed
 * POST (network error, timeout, non-2xx) is retried with exponential backoff and jitter; after
 * `maxAttempts` the event is given up. Every event dropped (queue full) or given up is counted, and
 * the next event sent carries how many in `num_dropped` since the previous delivered one.
 */
export class WebhookEndpoint {
  readonly counts: DeliveryCounts = { delivered: 0, failed: 0, dropped: 0 };
  readonly #options: WebhookEndpointOptions;
  readonly #queue: WebhookEvent[] = [];
  #unreported = 0;
  #running: Promise<void> | null = null;
  #closing = false;
  #wake: (() => void) | null = null;

  constructor(options: WebhookEndpointOptions) {
    this.#options = options;
  }

  /** Events waiting, the one in flight included. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Queues `event`; false (and counted) when the queue is full or the endpoint is closing. */
  enqueue(event: WebhookEvent): boolean {
    if (this.#closing || this.#queue.length >= this.#options.capacity) {
      this.counts.dropped += 1;
      this.#unreported += 1;
      return false;
    }
    this.#queue.push(event);
    this.#running ??= this.#work().finally(() => {
      this.#running = null;
    });
    return true;
  }

  /** Takes no more events, stops retrying, and gives the queue `graceMs` to drain. */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    if (!this.#running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#running, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    this.#queue.length = 0;
  }

  async #work(): Promise<void> {
    for (let event = this.#queue[0]; event !== undefined; event = this.#queue[0]) {
      let delivered = false;
      for (let attempt = 1; attempt <= this.#options.maxAttempts && !delivered; attempt += 1) {
        if (attempt > 1) {
          if (this.#closing) break;
          await this.#sleep(this.#backoff(attempt - 1));
        }
        delivered = await this.#post(event);
      }
      if (this.#queue[0] === event) this.#queue.shift();
      if (!delivered) {
        this.counts.failed += 1;
        this.#unreported += 1;
      }
    }
  }

  async #post(event: WebhookEvent): Promise<boolean> {
    const reported = this.#unreported;
    const body = JSON.stringify({ ...event, num_dropped: reported });
    try {
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/webhook+json',
          authorization: await this.#options.signer.authorization(body),
          'user-agent': USER_AGENT,
        },
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await response.body?.cancel().catch(() => {});
      if (response.status < 200 || response.status >= 300) return false;
      this.counts.delivered += 1;
      this.#unreported -= reported;
      return true;
    } catch (error) {
      this.#options.onError?.(error, this.#options.url);
      return false;
    }
  }

  #backoff(retry: number): number {
    const base = this.#options.baseBackoffMs ?? 500;
    const ceiling = Math.min(this.#options.maxBackoffMs ?? 30_000, base * 2 ** (retry - 1));
    return ceiling * (0.5 + (this.#options.random ?? Math.random)() / 2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}
