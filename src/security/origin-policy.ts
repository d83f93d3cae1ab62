import type { Config } from '../config/config.js';

const LOCALHOST_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/**
 * The WebSocket `Origin` rule (cross-site WebSocket hijacking): no Origin (non-browser clients) is
 * allowed; otherwise it must equal the server's own origin or one of `CORS_ORIGINS` exactly, or in
 * DEBUG mode be any localhost origin. `null` and look-alike origins are refused.
 */
export class OriginPolicy {
  readonly #allowed: ReadonlySet<string>;
  readonly #debug: boolean;

  constructor(config: Pick<Config, 'corsOrigins' | 'debug'>) {
    this.#allowed = new Set(config.corsOrigins);
    this.#debug = config.debug;
  }

  /** `ownOrigin` is scheme://host of the request itself (pages the server serves). */
  allows(origin: string | undefined, ownOrigin: string | null): boolean {
    if (origin === undefined) return true;
    const normalized = origin.toLowerCase();
    if (ownOrigin !== null && normalized === ownOrigin.toLowerCase()) return true;
    if (this.#allowed.has(normalized)) return true;
    return this.#debug && LOCALHOST_ORIGIN.test(normalized);
  }

  /** CORS for HTTP: the listed origins only (never `*`). */
  allowsCors(origin: string): boolean {
    return (
      this.#allowed.has(origin.toLowerCase()) || (this.#debug && LOCALHOST_ORIGIN.test(origin.toLowerCase()))
    );
  }
}
