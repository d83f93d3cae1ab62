import type { IncomingMessage } from 'node:http';
import type { RawData } from 'ws';
import type { SecurityEventKind } from '../../security/security-events.js';
import type { ClientConnection, Farewell } from './client-connection.js';

/**
 * A connection's session in one dialect, once it has been admitted and authenticated. The gateway
 * calls `receive` only for frames the rate limits admitted, in arrival order, and `closed` exactly
 * once when the socket has closed, whoever closed it.
 */
export interface DialectSession {
  receive(data: RawData, isBinary: boolean): void;
  /** A frame was dropped by the rate limit: tell the client in this dialect's words. */
  rateLimited(): void;
  closed(code: number): void;
}

/** What a dialect found in the upgrade request: the session to open, or why the request is refused. */
export type DialectRequest =
  | {
      readonly ok: true;
      /**
       * Opens the session on an open, authenticated connection (joins rooms, greets the client).
       * Null when it could not: the dialect has then closed the connection itself.
       */
      open(connection: ClientConnection): Promise<DialectSession | null>;
    }
  | {
      readonly ok: false;
      readonly code: number;
      readonly reason: string;
      readonly event: SecurityEventKind;
      readonly detail: string;
    };

/**
 * A wire format spoken on WebSocket paths of its own: today the contract's JSON messages; PeerJS or
 * y-webrtc would be others. Admission, origin and token checks, rate limits, liveness and slow
 * consumers are the gateway's and are shared by every dialect; a dialect only maps its frames to
 * the signaling core and back.
 */
export interface Dialect {
  /** True when upgrades on `path` (without the query) are this dialect's. */
  serves(path: string): boolean;
  /** Checks what the request addresses (room, peer id) before any token check. */
  request(req: IncomingMessage, path: string): DialectRequest;
  /** The access token as this dialect's clients send it, or null. */
  token(req: IncomingMessage): string | null;
  /**
   * Optional: when the request asks to send its token as its first message (keeping it out of the
   * URL), how to read it from that frame; null for any other request. Used only when `token` found
   * none and a token is required. The reader answers null when the frame is not this dialect's auth
   * message (the connection is then closed with 4401).
   */
  tokenMessage?(req: IncomingMessage): ((data: RawData, isBinary: boolean) => string | null) | null;
  /** How this dialect announces a close (default: the close frame alone). */
  readonly farewell?: Farewell;
}
