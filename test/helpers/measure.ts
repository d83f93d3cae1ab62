import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it is true; throws after `timeoutMs` naming `what`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// The test runner starts node without --expose-gc; the flag can still be turned on at run time and
// `gc` fetched from a fresh context, so memory is compared after full collections, not by luck.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap and off-heap (Buffers) bytes in use after full garbage collections, and the RSS. */
export interface MemorySample {
  readonly heapUsed: number;
  /** `external` + `arrayBuffers`: where socket write queues and Buffers live. */
  readonly offHeap: number;
  readonly rss: number;
}

export async function measureMemory(): Promise<MemorySample> {
  for (let i = 0; i < 3; i += 1) {
    collect();
    await sleep(10);
  }
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, offHeap: usage.external + usage.arrayBuffers, rss: usage.rss };
}

export const MiB = 1024 * 1024;

export function describeGrowth(before: MemorySample, after: MemorySample): string {
  const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
  return `heapUsed ${mib(before.heapUsed)} → ${mib(after.heapUsed)}, off-heap ${mib(before.offHeap)} → ${mib(after.offHeap)}, rss ${mib(before.rss)} → ${mib(after.rss)}`;
}

/** `promise`, or a rejection naming `what` after `timeoutMs`: no test waits forever for the server. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The close (or HTTP refusal) of a test client, within `timeoutMs`. */
export function closedWithin(
  client: { readonly closed: Promise<{ code: number; reason: string }> },
  timeoutMs = 5000,
) {
  return within(client.closed, timeoutMs, 'the connection to close');
}
