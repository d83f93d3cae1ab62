import type { SessionEvent } from './broker.js';
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
  /**
   * Sends a relayed frame with this recipient's `seq` added, without re-encoding the shared payload
   * (e.g. the payload's bytes, then `,"seq":n}`). Optional: without it the two are joined and sent
   * with `sendEncoded`.
   */
  sendRelay?(json: EncodedRelay, seq: number): void;
  /** A session marker about this peer (see `SessionEvent`); only session-aware peers implement it. */
  sessionEvent?(event: SessionEvent): void;
  close(code: CloseCode, reason: string): void;
}
