import type { ClientMessage, ServerMessage } from '../../client/src/protocol.js';
import type { Transport, TransportEvents, TransportFactory } from '../../client/src/transport.js';

/** One fake connection: records what the client sends and lets the test play the server. */
export class FakeConnection implements Transport {
  readonly url: string;
  readonly sent: ClientMessage[] = [];
  closedByClient: { code?: number; reason?: string } | null = null;
  readonly #events: TransportEvents;

  constructor(url: string, events: TransportEvents) {
    this.url = url;
    this.#events = events;
  }

  /** The `token` query parameter the client connected with. */
  get token(): string | null {
    return new URL(this.url).searchParams.get('token');
  }

  send(text: string): void {
    this.sent.push(JSON.parse(text) as ClientMessage);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
  }

  open(): void {
    this.#events.open();
  }

  receive(message: ServerMessage): void {
    this.#events.message(JSON.stringify(message));
  }

  /** A raw text frame, for frames no well-behaved server would send. */
  receiveText(text: string): void {
    this.#events.message(text);
  }

  /** Opens and sends `joined`, as the server does on a successful join. */
  join(peerId: string, peers: string[] = []): void {
    this.open();
    this.receive({
      type: 'joined',
      room_id: 'room',
      peer_id: peerId,
      peers,
      peer_info: peers.map((id) => ({ peer_id: id, username: null })),
    });
  }

  serverClose(code: number, reason = ''): void {
    this.#events.close(code, reason);
  }
}

/** Hands out fake connections to the client and keeps them for inspection. */
export class FakeServer {
  readonly connections: FakeConnection[] = [];

  readonly transport: TransportFactory = (url, events) => {
    const connection = new FakeConnection(url, events);
    this.connections.push(connection);
    return connection;
  };

  /** The most recent connection. */
  get last(): FakeConnection {
    const connection = this.connections.at(-1);
    if (!connection) throw new Error('the client has not connected');
    return connection;
  }
}
