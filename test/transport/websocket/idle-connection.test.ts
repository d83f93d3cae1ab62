import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { closedWithin, sleep, waitFor } from '../../helpers/measure.js';
import { rawWebSocket, socketClosed } from '../../helpers/raw-socket.js';
import { type RunningServer, startServer } from '../../helpers/server.js';
import { joinRoom } from '../../helpers/ws-client.js';

describe('connections that never speak (WEBSOCKET_TIMEOUT=1)', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ WEBSOCKET_TIMEOUT: '1', MAX_CONNECTIONS_PER_IP: '20' });
  });
  after(async () => {
    await server.stop();
  });

  test('a raw socket that upgrades and never sends a frame or a pong is dropped after about 1 s', async () => {
    const raw = await rawWebSocket(server.port, '/ws/mute');
    try {
      assert.equal(raw.status, 101);
      const started = Date.now();
      raw.socket.resume(); // read (and ignore) what the server sends, including its pings
      assert.equal(await socketClosed(raw.socket, 5000), true, 'the server must drop it');
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 900, `dropped after ${elapsed} ms, before the timeout`);
      assert.ok(elapsed < 2500, `dropped only after ${elapsed} ms`);
      await waitFor(
        'its count to be released',
        () =>
          server.app.diagnostics.trackedLimitEntries().connectionCaps === 0 &&
          server.app.diagnostics.localPeers === 0,
      );
    } finally {
      raw.socket.destroy();
    }
  });

  test('a ws client with autoPong off that never sends is closed (1006) and its peers told peer_left', async () => {
    const watcher = await joinRoom(server.wsUrl, 'mute-ws');
    const silent = await joinRoom(server.wsUrl, 'mute-ws', { autoPong: false });
    const keepAlive = setInterval(() => watcher.client.send({ type: 'ping' }), 200);
    try {
      const started = Date.now();
      assert.equal((await closedWithin(silent.client)).code, 1006);
      assert.ok(Date.now() - started < 2500);
      assert.equal((await watcher.client.next('peer_left')).peer_id, silent.peerId);
    } finally {
      clearInterval(keepAlive);
      watcher.client.ws.terminate();
      silent.client.ws.terminate();
    }
  });

  test('a client that only answers the server’s pings stays connected well past the timeout', async () => {
    const quiet = await joinRoom(server.wsUrl, 'pongs-only');
    try {
      await sleep(3000);
      assert.equal(quiet.client.ws.readyState, quiet.client.ws.OPEN);
      await quiet.client.expectAlive();
    } finally {
      quiet.client.ws.terminate();
    }
  });
});
