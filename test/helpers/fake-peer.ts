import type { CloseCode } from '../../src/signaling/errors.js';
import type { Peer } from '../../src/signaling/peer.js';
import type { EncodedRelay, ServerMessage } from '../../src/signaling/protocol.js';

/** A Peer that records what it was sent; no sockets. */
export class FakePeer implements Peer {
  readonly sent: Array<Record<string, unknown>> = [];
  closedWith: { code: CloseCode; reason: string } | null = null;

  constructor(
    readonly id: string,
    readonly username: string | null = null,
  ) {}

  send(message: ServerMessage): void {
    this.sent.push(JSON.parse(JSON.stringify(message)) as Record<string, unknown>);
  }

  sendEncoded(json: EncodedRelay): void {
    const text = typeof json === 'string' ? json : new TextDecoder().decode(json);
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }

  close(code: CloseCode, reason: string): void {
    this.closedWith = { code, reason };
  }

  /** Messages of one type, in order. */
  ofType(type: string): Array<Record<string, unknown>> {
    return this.sent.filter((m) => m.type === type);
  }
}
