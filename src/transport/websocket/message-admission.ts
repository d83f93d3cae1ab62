import type { RawData } from 'ws';
import type { MessageRateStore } from '../../security/limit-stores.js';
import type { SecurityEvents } from '../../security/security-events.js';
import { CloseCode } from '../../signaling/errors.js';
import type { ClientConnection } from './client-connection.js';
import type { DialectSession } from './dialect.js';

/** Refused messages within `STRIKE_WINDOW_MS` after which a client is closed with 4429. */
const STRIKE_LIMIT = 20;
const STRIKE_WINDOW_MS = 60_000;
export interface MessageAdmissionDeps {
  readonly ipRate: MessageRateStore;
  readonly userRate: MessageRateStore;
  readonly events: SecurityEvents;
  readonly now: () => number;
}

/**
 * The rate limits of every client message, in any dialect: one token from the client address's
 * bucket and, when authenticated, the user's. An over-limit message is dropped and answered in the
 * dialect's words; `STRIKE_LIMIT` refusals within a minute close the connection with 4429.
 * Every verdict is given at once (the stores decide in-process), so admitted messages reach the
 * session synchronously, in the order they arrived.
 */
export class MessageAdmission {
  readonly #deps: MessageAdmissionDeps;

  constructor(deps: MessageAdmissionDeps) {
    this.#deps = deps;
  }

  /** The gate all frames of `connection` pass through on their way to `session`. */
  gate(connection: ClientConnection, session: DialectSession): MessageGate {
    return new MessageGate(this.#deps, connection, session);
  }
}

/** One connection's admission state: its strikes. */
export class MessageGate {
  readonly #deps: MessageAdmissionDeps;
  readonly #connection: ClientConnection;
  readonly #session: DialectSession;
  #strikes = 0;
  #strikeWindowStart: number;

  constructor(deps: MessageAdmissionDeps, connection: ClientConnection, session: DialectSession) {
    this.#deps = deps;
    this.#connection = connection;
    this.#session = session;
    this.#strikeWindowStart = deps.now();
  }

  /** One frame from the client: delivered to the session when admitted, refused otherwise. */
  receive(data: RawData, isBinary: boolean): void {
    if (this.#take() || this.#refuse()) this.#session.receive(data, isBinary);
  }

  #take(): boolean {
    if (!this.#deps.ipRate.take(this.#connection.client.key)) return false;
    const user = this.#connection.username;
    return user === null || this.#deps.userRate.take(user);
  }

  /** Always false (the message is dropped); the boolean lets callers write `ok || refuse()`. */
  #refuse(): false {
    const now = this.#deps.now();
    if (now - this.#strikeWindowStart > STRIKE_WINDOW_MS) {
      this.#strikes = 0;
      this.#strikeWindowStart = now;
    }
    this.#strikes += 1;
    const fields = this.#connection.eventFields();
    if (this.#strikes === 1) this.#deps.events.emit('rate_limited', fields);
    if (this.#strikes >= STRIKE_LIMIT) {
      this.#deps.events.emit('rate_limited', { ...fields, reason: 'closed after repeated refusals' });
      this.#connection.close(CloseCode.RateLimited, 'rate limit exceeded');
      return false;
    }
    this.#session.rateLimited();
    return false;
  }
}
