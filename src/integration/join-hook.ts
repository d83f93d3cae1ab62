import type { RequestSigner } from './request-signer.js';

/** What the join hook receives (README, "Connecting your backend"). */
export interface JoinHookRequest {
  readonly room_id: string;
  readonly username: string | null;
  readonly peer_id: string;
  readonly client_ip: string;
  /** The verified token's claims, or null for an anonymous peer (`REQUIRE_AUTH=false`). */
  readonly claims: Record<string, unknown> | null;
}

/**
 * The hook's verdict: `allowed` (2xx), `refused` (403, with the hook's reason), or, when it timed
 * out, failed, answered anything else or too many checks were in flight, `failed_open` /
 * `failed_closed` as `JOIN_HOOK_FAIL` says.
 */
export type JoinHookOutcome =
  | { readonly outcome: 'allowed' | 'failed_open' }
  | { readonly outcome: 'refused' | 'failed_closed'; readonly reason: string };

export type JoinHookOutcomeName = JoinHookOutcome['outcome'];

export interface JoinHookOptions {
  readonly url: string;
  readonly signer: RequestSigner;
  readonly timeoutMs: number;
  readonly failOpen: boolean;
  readonly onError?: (error: unknown) => void;
}

/** Checks in flight at most; a join past it is treated as a hook failure instead of piling up. */
const MAX_IN_FLIGHT = 256;
const MAX_REASON_CHARS = 100;

/**
 * Asks the application's backend whether a join may proceed: a signed POST (see `RequestSigner`)
 * per join, awaited by that join only, at most `timeoutMs`. Never throws.
 */
export class JoinHook {
  /** Checks by outcome since start, for the metrics. */
  readonly counts: Record<JoinHookOutcomeName, number> = {
    allowed: 0,
    refused: 0,
    failed_open: 0,
    failed_closed: 0,
  };
  readonly #options: JoinHookOptions;
  #inFlight = 0;

  constructor(options: JoinHookOptions) {
    this.#options = options;
  }

  async check(request: JoinHookRequest): Promise<JoinHookOutcome> {
    const result = await this.#ask(request);
    this.counts[result.outcome] += 1;
    return result;
  }

  async #ask(request: JoinHookRequest): Promise<JoinHookOutcome> {
    if (this.#inFlight >= MAX_IN_FLIGHT) return this.#failed('join hook busy');
    this.#inFlight += 1;
    try {
      const body = JSON.stringify(request);
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: await this.#options.signer.authorization(body),
        },
        body,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      if (response.status >= 200 && response.status < 300) {
        await response.body?.cancel().catch(() => {});
        return { outcome: 'allowed' };
      }
      if (response.status === 403) return { outcome: 'refused', reason: await refusalReason(response) };
      await response.body?.cancel().catch(() => {});
      return this.#failed(`join hook answered ${response.status}`);
    } catch (error) {
      this.#options.onError?.(error);
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return this.#failed(timedOut ? 'join hook timed out' : 'join hook unreachable');
    } finally {
      this.#inFlight -= 1;
    }
  }

  #failed(reason: string): JoinHookOutcome {
    return this.#options.failOpen ? { outcome: 'failed_open' } : { outcome: 'failed_closed', reason };
  }
}

/** `{"reason": "..."}` or plain text from a 403, made a safe close reason. */
async function refusalReason(response: Response): Promise<string> {
  const text = (await response.text().catch(() => '')).slice(0, 4096);
  let reason = text;
  try {
    const parsed = JSON.parse(text) as { reason?: unknown };
    if (typeof parsed.reason === 'string') reason = parsed.reason;
  } catch {
    // plain text
  }
  const clean = reason.replace(/[^\x20-\x7e]/g, '').trim();
  return clean === '' ? 'refused by the application' : clean.slice(0, MAX_REASON_CHARS);
}
