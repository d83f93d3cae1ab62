// Bundled by test/helpers/dialect-pages.ts for the browser tests: the real peerjs client, driven by
// the test through `window.dialectTest`. Nothing here re-implements the protocol.
import { type DataConnection, Peer, type PeerOptions } from 'peerjs';

/** What the test calls in the page. */
export interface PeerjsPageApi {
  /** Opens a Peer (a fresh id from the server when `id` is null); resolves with its id. */
  open(id: string | null, options: PeerOptions): Promise<string>;
  /** Opens a DataConnection to `remoteId` and resolves once it is open. */
  connect(remoteId: string): Promise<void>;
  /** Sends `text` on every open DataConnection. */
  send(text: string): void;
  readonly received: string[];
  readonly errors: string[];
}

let peer: Peer | null = null;
const connections: DataConnection[] = [];
const received: string[] = [];
const errors: string[] = [];

function track(connection: DataConnection): void {
  connections.push(connection);
  connection.on('data', (data) => received.push(String(data)));
}

const api: PeerjsPageApi = {
  open: (id, options) =>
    new Promise((resolve, reject) => {
      const opened = id === null ? new Peer(options) : new Peer(id, options);
      peer = opened;
      opened.on('open', (assigned) => resolve(assigned));
      opened.on('error', (error) => {
        errors.push(`${error.type}: ${error.message}`);
        reject(new Error(`${error.type}: ${error.message}`));
      });
      opened.on('connection', track);
    }),
  connect: (remoteId) =>
    new Promise((resolve, reject) => {
      if (peer === null) throw new Error('open a Peer first');
      const connection = peer.connect(remoteId, { reliable: true });
      track(connection);
      connection.on('open', () => resolve());
      connection.on('error', (error) => reject(error));
    }),
  send: (text) => {
    for (const connection of connections) if (connection.open) connection.send(text);
  },
  received,
  errors,
};

(window as unknown as { dialectTest: PeerjsPageApi }).dialectTest = api;
