import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { sleep } from '../helpers/measure.js';
import { httpRequest } from '../helpers/raw-socket.js';
import { startServer } from '../helpers/server.js';
import { joinRoom } from '../helpers/ws-client.js';

const SLOW_SOCKETS = 500;
/** Plus sockets that connect and never send a byte at all. */
const SILENT_SOCKETS = 50;
/** The server's headersTimeout is 10 s, checked every second. */
const CUT_OFF_BY_MS = 15_000;

describe('slowloris', () => {
  test('500 sockets dribbling one header byte a second (and 50 silent ones) are all cut off by ~12 s while honest clients connect and join', async () => {
    const server = await startServer({ MAX_CONNECTIONS_PER_IP: '20', RATE_LIMIT_PER_MINUTE: '100000' });
    const sockets: Socket[] = [];
    const closedAfter: number[] = [];
    const silentClosedAfter: number[] = [];
    const cleanup: Socket[] = [];
    let dribble: NodeJS.Timeout | undefined;
    try {
      const started = Date.now();
      const opened: Promise<void>[] = [];
      for (let i = 0; i < SLOW_SOCKETS; i += 1) {
        // Half look like plain requests, half like WebSocket upgrades; none ever finishes its headers.
        const text =
          i % 2 === 0
            ? 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '
            : 'GET /ws/room HTTP/1.1\r\nUpgrade: websocket\r\nX-Slow: ';
        const socket = connect({
          port: server.port,
          host: '127.0.0.1',
          localAddress: `127.0.0.${10 + (i % 100)}`,
        });
        let sent = 0;
        Object.assign(socket, {
          dribbleNext: () => socket.writable && socket.write(text[sent++ % text.length]!),
        });
        socket.on('error', () => {});
        socket.once('close', () => closedAfter.push(Date.now() - started));
        socket.resume();
        opened.push(new Promise((resolve) => socket.once('connect', () => resolve())));
        sockets.push(socket);
      }
      const silent: Socket[] = [];
      for (let i = 0; i < SILENT_SOCKETS; i += 1) {
        const socket = connect({ port: server.port, host: '127.0.0.1' });
        socket.on('error', () => {});
        socket.once('close', () => silentClosedAfter.push(Date.now() - started));
        socket.resume();
        opened.push(new Promise((resolve) => socket.once('connect', () => resolve())));
        silent.push(socket);
      }
      cleanup.push(...silent);
      await Promise.all(opened);
      const tick = () => {
        for (const s of sockets) (s as Socket & { dribbleNext: () => void }).dribbleNext();
      };
      tick();
      dribble = setInterval(tick, 1000);

      // Honest traffic while the slow sockets hang on: every 500 ms a WebSocket join and an HTTP request.
      const honest: number[] = [];
      while (
        (closedAfter.length < SLOW_SOCKETS || silentClosedAfter.length < SILENT_SOCKETS) &&
        Date.now() - started < CUT_OFF_BY_MS
      ) {
        const t0 = Date.now();
        const { client } = await joinRoom(server.wsUrl, 'honest');
        await client.expectAlive();
        client.ws.terminate();
        assert.equal((await httpRequest(server.port, '/health', { timeoutMs: 2000 })).status, 200);
        honest.push(Date.now() - t0);
        await sleep(500);
      }
      const sorted = [...closedAfter].sort((a, b) => a - b);
      console.log(
        `slowloris: ${closedAfter.length}/${SLOW_SOCKETS} cut off, first after ${sorted[0]} ms, last after ${sorted.at(-1)} ms; ` +
          `${silentClosedAfter.length}/${SILENT_SOCKETS} silent sockets cut off, last after ${Math.max(...silentClosedAfter)} ms; ` +
          `${honest.length} honest join+ping+GET rounds meanwhile, slowest ${Math.max(...honest)} ms`,
      );
      assert.equal(
        closedAfter.length,
        SLOW_SOCKETS,
        `only ${closedAfter.length} slow sockets were cut off within ${CUT_OFF_BY_MS} ms`,
      );
      assert.equal(
        silentClosedAfter.length,
        SILENT_SOCKETS,
        'sockets that never send a byte are cut off too',
      );
      assert.ok(sorted[0]! >= 5000, 'they are cut off by the header timeout, not refused outright');
      assert.ok(honest.length >= 10, 'honest clients kept being served');
      assert.ok(Math.max(...honest) < 2000, `an honest round took ${Math.max(...honest)} ms`);
    } finally {
      clearInterval(dribble);
      for (const s of [...sockets, ...cleanup]) s.destroy();
      await server.stop();
    }
  });
});
