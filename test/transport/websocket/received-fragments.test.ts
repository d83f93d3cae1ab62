import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { releaseReceivedFragments } from '../../../src/transport/websocket/received-fragments.js';

/** The receiver ws keeps for a connection (not part of its typed API). */
type ReceiverView = { _fragments: unknown[] };
const receiverOf = (ws: WebSocket) => (ws as unknown as { _receiver: ReceiverView })._receiver;

describe('releaseReceivedFragments (ws Receiver)', () => {
  let wss: WebSocketServer;
  let url: string;
  const serverSide: WebSocket[] = [];

  before(async () => {
    assert.equal(
      releaseReceivedFragments(),
      true,
      'the pinned ws no longer has the internals this relies on',
    );
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => serverSide.push(ws));
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  });
  after(() => wss.close());

  async function connect(): Promise<{ client: WebSocket; server: WebSocket }> {
    const client = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      client.once('open', () => resolve());
      client.once('error', reject);
    });
    while (serverSide.length === 0) await new Promise((resolve) => setImmediate(resolve));
    return { client, server: serverSide.shift() as WebSocket };
  }

  const nextMessage = (ws: WebSocket) =>
    new Promise<{ data: unknown; isBinary: boolean }>((resolve) =>
      ws.once('message', (data, isBinary) => resolve({ data, isBinary })),
    );

  test('is idempotent', () => {
    assert.equal(releaseReceivedFragments(), true);
    assert.equal(releaseReceivedFragments(), true);
  });

  test('a finished message leaves its frame array empty, and every message arrives intact', async () => {
    const { client, server } = await connect();
    try {
      const cases: Array<{ send: () => void; text?: string; bytes?: Buffer }> = [
        { send: () => client.send('{"type":"offer"}'), text: '{"type":"offer"}' },
        {
          // One text message in three frames: all three sit in the array until the last one.
          send: () => {
            client.send('{"type":', { fin: false });
            client.send('"ice_cand', { fin: false });
            client.send('idate"}', { fin: true });
          },
          text: '{"type":"ice_candidate"}',
        },
        { send: () => client.send(Buffer.from([1, 2, 3, 250])), bytes: Buffer.from([1, 2, 3, 250]) },
        { send: () => client.send('ünïcødé ✓ '.repeat(2000)), text: 'ünïcødé ✓ '.repeat(2000) },
      ];
      for (const c of cases) {
        const before = receiverOf(server)._fragments;
        const arrived = nextMessage(server);
        c.send();
        const { data, isBinary } = await arrived;
        assert.ok(Buffer.isBuffer(data));
        if (c.text !== undefined) {
          assert.equal(isBinary, false);
          assert.equal(data.toString('utf8'), c.text);
        } else {
          assert.equal(isBinary, true);
          assert.deepEqual(data, c.bytes);
        }
        assert.equal(before.length, 0, 'the finished message is still referenced by its frame array');
        assert.notEqual(receiverOf(server)._fragments, before, 'ws did not start a new array');
      }
    } finally {
      client.terminate();
    }
  });

  test("binaryType 'fragments' still gets its frames as an array", async () => {
    const { client, server } = await connect();
    try {
      server.binaryType = 'fragments';
      const arrived = nextMessage(server);
      client.send(Buffer.from('ab'), { fin: false });
      client.send(Buffer.from('cd'), { fin: true });
      const { data } = await arrived;
      assert.ok(Array.isArray(data));
      assert.equal(Buffer.concat(data as Buffer[]).toString(), 'abcd');
    } finally {
      client.terminate();
    }
  });
});
