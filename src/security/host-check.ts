import type { Config } from '../config/config.js';

/**
 * The `Host` rule against DNS rebinding: with `PUBLIC_ORIGIN` set, a request must name that
 * origin's host (case-insensitive, port included unless it is the scheme's default); without it
 * every Host is accepted. Also the server's own origin for the WebSocket `Origin` check:
 * `PUBLIC_ORIGIN` when set, else what the Host header says.
 */
export class HostCheck {
  readonly #publicOrigin: string | null;
  readonly #host: string | null;

  constructor(config: Pick<Config, 'publicOrigin'>) {
    this.#publicOrigin = config.publicOrigin;
    this.#host = config.publicOrigin === null ? null : new URL(config.publicOrigin).host.toLowerCase();
  }

  /** True when a request with this `Host` header may be served. */
  allows(host: string | undefined): boolean {
    if (this.#host === null) return true;
    return host !== undefined && host.toLowerCase() === this.#host;
  }

  /** scheme://host of the server as its own pages see it; `secure` is whether it speaks TLS itself. */
  ownOrigin(host: string | undefined, secure: boolean): string | null {
    if (this.#publicOrigin !== null) return this.#publicOrigin;
    return host ? `${secure ? 'https' : 'http'}://${host}` : null;
  }
}
