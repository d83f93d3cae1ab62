import type { CloseCode } from './errors.js';
import type { EncodedRelay, PeerId, ServerMessage } from './protocol.js';

/**
 * One connected client as the signaling core sees it. A WebSocket dialect
 * (`transport/websocket/signaling-dialect.ts`) is the only place that turns a connection into a
 * Peer. `send` and `sendEncoded` never throw and never block: a peer that cannot keep up is the
 * transport's to drop. `close` ends the connection; the transport then calls
 * `SignalingHub.leave`, so the core never removes a peer it asked to close by itself.
 */
export interface Peer {
  readonly id: PeerId;
  readonly username: string | null;
  send(message: ServerMessage): void;
  /** Sends an already-encoded server message (relays are encoded once for every recipient). */
  sendEncoded(json: EncodedRelay): void;
  close(code: CloseCode, reason: string): void;
}
