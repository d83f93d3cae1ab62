import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeGrowth, MiB, measureMemory, sleep } from '../../helpers/measure.js';
import { clientFrame, Opcode, rawWebSocket, ServerFrameReader } from '../../helpers/raw-socket.js';
import { login } from '../../helpers/secure.js';
import { withServer as withTestServer } from '../../helpers/server.js';
import { joinRoom } from '../../helpers/ws-client.js';

const withServer: typeof withTestServer = (env, body) =>
  withTestServer({ MAX_CONNECTIONS_PER_IP: '50', RATE_LIMIT_PER_MINUTE: '100000', ...env }, body);

const text = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const offer = (sdp: string) => ({ type: 'offer', offer: { type: 'offer', sdp } });

describe('WebSocket resource limits', () => {
  test('permessage-deflate is never negotiated (no compression bombs)', async () => {
    await withServer({}, async (server) => {
      const raw = await rawWebSocket(server.port, '/ws/deflate', {
        headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' },
      });
      try {
        assert.equal(raw.status, 101);
        assert.doesNotMatch(raw.headerText, /sec-websocket-extensions/i);
      } finally {
        raw.socket.destroy();
      }
    });
  });

  test('MAX_MESSAGE_BYTES bounds a whole message, fragments included: two 600-byte fragments with a 1024-byte limit close with 1009', async () => {
    await withServer({ MAX_MESSAGE_BYTES: '1024' }, async (server) => {
      const raw = await rawWebSocket(server.port, '/ws/fragments');
      try {
        const reader = new ServerFrameReader(raw.socket, raw.rest);
        raw.socket.write(clientFrame(Opcode.Text, Buffer.alloc(600, 0x20), false));
        raw.socket.write(clientFrame(Opcode.Continuation, Buffer.alloc(600, 0x20), true));
        await reader.until('a close frame', () => reader.closeCode !== null);
        assert.equal(reader.closeCode, 1009);
        assert.equal(server.app.diagnostics.securityEvents('message_too_large'), 1);
      } finally {
        raw.socket.destroy();
      }
    });
  });

  test('a message split into thousands of tiny fragments is refused with 1008 before it costs memory', async () => {
    await withServer({}, async (server) => {
      const sockets: Array<{ destroy(): void }> = [];
      try {
        const before = await measureMemory();
        const readers: ServerFrameReader[] = [];
        for (let c = 0; c < 20; c += 1) {
          const raw = await rawWebSocket(server.port, '/ws/fragments', { localAddress: `127.0.0.${c + 1}` });
          sockets.push(raw.socket);
          readers.push(new ServerFrameReader(raw.socket, raw.rest));
          // 4,000 fragments of 3 bytes: 12 KB of payload, far under MAX_MESSAGE_BYTES, never finished.
          const frames = [clientFrame(Opcode.Text, text('{"'), false)];
          for (let i = 0; i < 4000; i += 1) frames.push(clientFrame(Opcode.Continuation, text('aaa'), false));
          raw.socket.write(Buffer.concat(frames));
        }
        for (const reader of readers) await reader.until('a close frame', () => reader.closeCode !== null);
        const after = await measureMemory();
        console.log(`fragment flood: ${describeGrowth(before, after)}`);
        assert.deepEqual(new Set(readers.map((r) => r.closeCode)), new Set([1008]));
        const growth = after.heapUsed + after.offHeap - (before.heapUsed + before.offHeap);
        assert.ok(growth < 8 * MiB, `20 half-sent fragmented messages hold ${(growth / MiB).toFixed(1)} MiB`);
      } finally {
        for (const s of sockets) s.destroy();
      }
    });
  });

  test('messages a client sends after the server closed it with 4401 are not relayed', async () => {
    await withServer({ REQUIRE_AUTH: 'true' }, async (server, track) => {
      const token = ((await login(server, 'user1', 'password123')).json as { access_token: string })
        .access_token;
      const listener = await joinRoom(server.wsUrl, 'closing', { token, localAddress: '127.0.0.2' });
      track(listener.client);
      // A raw client that ignores the server's close frame and keeps talking.
      const raw = await rawWebSocket(server.port, `/ws/closing?token=${encodeURIComponent(token)}`);
      try {
        const reader = new ServerFrameReader(raw.socket, raw.rest);
        await reader.until('joined', () => reader.messages.some((m) => m.type === 'joined'));
        raw.socket.write(clientFrame(Opcode.Text, text(offer('before'))));
        assert.equal(((await listener.client.next('offer')).offer as { sdp: string }).sdp, 'before');
        raw.socket.write(clientFrame(Opcode.Text, text({ type: 'auth', token: 'forged' })));
        await reader.until('the 4401 close', () => reader.closeCode !== null);
        assert.equal(reader.closeCode, 4401);
        for (let i = 0; i < 10; i += 1)
          raw.socket.write(clientFrame(Opcode.Text, text(offer(`after-close-${i}`))));
        await sleep(300);
        await listener.client.expectAlive();
        const leaked = listener.client.inbox.filter((m) => m.type === 'offer');
        assert.deepEqual(leaked, [], 'offers sent after the close were relayed');
      } finally {
        raw.socket.destroy();
      }
    });
  });

  test('a flood that goes on after the 4429 close adds no more security events', async () => {
    await withServer({ RATE_LIMIT_PER_MINUTE: '60' }, async (server) => {
      const raw = await rawWebSocket(server.port, '/ws/flood');
      try {
        const reader = new ServerFrameReader(raw.socket, raw.rest);
        await reader.until('joined', () => reader.messages.some((m) => m.type === 'joined'));
        const frames: Buffer[] = [];
        for (let i = 0; i < 500; i += 1) frames.push(clientFrame(Opcode.Text, text({ type: 'ping', ts: i })));
        raw.socket.write(Buffer.concat(frames));
        await reader.until('the 4429 close', () => reader.closeCode !== null);
        assert.equal(reader.closeCode, 4429);
        await sleep(300); // the rest of the flood reaches the closing connection
        const events = server.app.diagnostics.securityEvents('rate_limited');
        assert.ok(events <= 2, `${events} rate_limited events for one flooding connection`);
      } finally {
        raw.socket.destroy();
      }
    });
  });
});
