import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { describeGrowth, MiB, measureMemory, waitFor } from '../../helpers/measure.js';
import { rawWebSocket } from '../../helpers/raw-socket.js';
import { startServer } from '../../helpers/server.js';
import { joinRoom } from '../../helpers/ws-client.js';

const OFFERS = 1000;
const MAX_OFFERS = 4000;
const SDP_BYTES = 60 * 1024;

describe('slow consumers', () => {
  test('a client that stops reading is dropped (slow_consumer) while a 60 MB flood passes, and memory stays flat', async () => {
    const server = await startServer({
      RATE_LIMIT_PER_MINUTE: '10000000',
      RATE_LIMIT_BURST: '10000000',
      MAX_CONNECTIONS_PER_IP: '10',
    });
    const cleanup: Array<() => void> = [];
    try {
      // The slow peer completes the upgrade, joins, and never reads another byte.
      const slow = await rawWebSocket(server.port, '/ws/slow');
      cleanup.push(() => slow.socket.destroy());
      assert.equal(slow.status, 101);
      slow.socket.pause();
      await waitFor('the slow peer to join', () => server.app.diagnostics.localPeers === 1);

      // An honest peer reads everything but keeps nothing, so the test itself holds no flood in memory.
      const honest = new WebSocket(`${server.wsUrl}/ws/slow`, { localAddress: '127.0.0.2' });
      cleanup.push(() => honest.terminate());
      let honestOffers = 0;
      let slowLeft = false;
      honest.on('message', (data: Buffer) => {
        if (data.length > SDP_BYTES) honestOffers += 1;
        else if (data.toString().includes('"peer_left"')) slowLeft = true;
      });
      await new Promise((resolve) => honest.once('open', resolve));

      const flooder = await joinRoom(server.wsUrl, 'slow', { localAddress: '127.0.0.3' });
      cleanup.push(() => flooder.client.ws.terminate());
      await waitFor('all three to be in the room', () => server.app.diagnostics.localPeers === 3);

      const before = await measureMemory();
      const offer = JSON.stringify({
        type: 'offer',
        offer: { type: 'offer', sdp: `v=0\r\n${'a'.repeat(SDP_BYTES)}` },
      });
      // How much the kernel buffers for the paused reader varies (TCP autotuning: up to ~36 MB here),
      // so flood until the server drops it, at least OFFERS and at most MAX_OFFERS times.
      let sent = 0;
      while (
        sent < OFFERS ||
        (sent < MAX_OFFERS && !server.app.diagnostics.securityEvents('slow_consumer'))
      ) {
        await new Promise<void>((resolve, reject) =>
          flooder.client.ws.send(offer, (error) => (error ? reject(error) : resolve())),
        );
        sent += 1;
        // Keep the honest reader within 8 offers (< 1 MiB) of the flood: on a loaded machine this
        // process may read slower than it floods, and the server would rightly drop it as well.
        if (sent % 4 === 0)
          await waitFor('the honest peer to keep up', () => honestOffers >= sent - 8, 10_000);
      }
      await flooder.client.expectAlive();
      const dropEvents = server.app.diagnostics.securityEvents('slow_consumer');
      await waitFor(
        `the slow peer to be dropped (${sent} offers sent, ${dropEvents} slow_consumer events, slowLeft ${slowLeft}, peers ${server.app.diagnostics.localPeers})`,
        () => slowLeft && server.app.diagnostics.localPeers === 2,
        10_000,
      );
      await waitFor('the honest peer to read the whole flood', () => honestOffers === sent, 30_000);
      const after = await measureMemory();

      assert.equal(
        server.app.diagnostics.securityEvents('slow_consumer'),
        1,
        'one slow_consumer event, the socket is gone',
      );
      assert.equal(server.app.diagnostics.connections, 2);
      const growth = after.heapUsed + after.offHeap - (before.heapUsed + before.offHeap);
      const flood = (sent * SDP_BYTES) / MiB;
      console.log(`slow consumer: flood ${flood.toFixed(0)} MiB; ${describeGrowth(before, after)}`);
      assert.ok(
        growth < 16 * MiB,
        `memory grew ${(growth / MiB).toFixed(1)} MiB during a ${flood.toFixed(0)} MiB flood`,
      );
      await flooder.client.expectAlive();
    } finally {
      for (const run of cleanup) run();
      await server.stop();
    }
  });
});
