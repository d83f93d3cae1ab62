import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { closedWithin, waitFor } from '../../helpers/measure.js';
import { httpRequest, rawWebSocket, socketClosed, upgradeRequest } from '../../helpers/raw-socket.js';
import { type RunningServer, withServer as withTestServer } from '../../helpers/server.js';
import { joinRoom, TestClient } from '../../helpers/ws-client.js';

const withServer: typeof withTestServer = (env, body) =>
  withTestServer({ RATE_LIMIT_PER_MINUTE: '100000', ...env }, body);

/** Expects an HTTP 429 refusal of the upgrade with a positive whole `Retry-After`. */
async function expectRefused(client: TestClient): Promise<void> {
  const closed = await closedWithin(client);
  assert.equal(closed.code, -429, `expected HTTP 429, got ${closed.code}`);
  const retryAfter = client.httpHeaders['retry-after'];
  assert.match(String(retryAfter), /^[1-9]\d*$/, `Retry-After: ${retryAfter}`);
}

async function openFive(
  server: RunningServer,
  track: (c: TestClient) => TestClient,
  room: string,
  localAddress = '127.0.0.1',
) {
  const five: TestClient[] = [];
  for (let i = 0; i < 5; i += 1)
    five.push(track((await joinRoom(server.wsUrl, room, { localAddress })).client));
  return five;
}

describe('connection cap (MAX_CONNECTIONS_PER_IP=5)', () => {
  test('refuses the 6th connection from one IP with 429 and Retry-After, and closing one frees a slot', async () => {
    await withServer({ MAX_CONNECTIONS_PER_IP: '5' }, async (server, track) => {
      const five = await openFive(server, track, 'cap');
      await expectRefused(track(new TestClient(`${server.wsUrl}/ws/cap`)));
      assert.equal(await server.app.diagnostics.connectionsOf('127.0.0.1'), 5, 'a refusal takes no slot');
      assert.equal(server.app.diagnostics.securityEvents('connection_cap') >= 1, true);

      const other = track((await joinRoom(server.wsUrl, 'cap', { localAddress: '127.0.0.2' })).client);
      await other.expectAlive();
      assert.equal(
        (await httpRequest(server.port, '/health')).status,
        200,
        'plain HTTP from the capped IP still works',
      );

      five[0]!.close();
      await closedWithin(five[0]!);
      await waitFor(
        'the slot to be released',
        async () => (await server.app.diagnostics.connectionsOf('127.0.0.1')) === 4,
      );
      const sixth = track((await joinRoom(server.wsUrl, 'cap')).client);
      await sixth.expectAlive();
      await expectRefused(track(new TestClient(`${server.wsUrl}/ws/cap`)));
    });
  });

  test('a terminated (not closed) connection frees its slot too', async () => {
    await withServer({ MAX_CONNECTIONS_PER_IP: '5' }, async (server, track) => {
      const five = await openFive(server, track, 'cap');
      five[4]!.ws.terminate();
      await waitFor(
        'the slot to be released',
        async () => (await server.app.diagnostics.connectionsOf('127.0.0.1')) === 4,
      );
      await track((await joinRoom(server.wsUrl, 'cap')).client).expectAlive();
    });
  });

  test('100 aborted handshakes of every kind, then 5 good connections all succeed and the 6th is still refused', async () => {
    await withServer({ MAX_CONNECTIONS_PER_IP: '5' }, async (server, track) => {
      const port = server.port;
      const request = upgradeRequest(port, '/ws/cap');
      const raw = (): Promise<Socket> =>
        new Promise((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => resolve(socket));
          socket.on('error', reject);
        });
      // Ten run at once, so some meet the cap of 5 while others are mid-handshake: 429 is also fine.
      let capped = 0;
      const expectStatus = (status: number, expected: number) => {
        if (status === 429) capped += 1;
        else assert.equal(status, expected);
      };
      const kinds: Array<[string, number, () => Promise<void>]> = [
        ['connect and close without a byte', 10, async () => void (await raw()).destroy()],
        [
          'half an upgrade request, then destroy',
          30,
          async () => {
            const socket = await raw();
            socket.write(request.slice(0, Math.floor(request.length / 2)));
            socket.destroy();
          },
        ],
        [
          'a bad Sec-WebSocket-Key',
          20,
          async () => {
            const answer = await rawWebSocket(port, '/ws/cap', {
              headers: { 'Sec-WebSocket-Key': 'not-a-key' },
            });
            expectStatus(answer.status, 400);
            answer.socket.destroy();
          },
        ],
        [
          'an unsupported Sec-WebSocket-Version',
          10,
          async () => {
            const answer = await rawWebSocket(port, '/ws/cap', { headers: { 'Sec-WebSocket-Version': '7' } });
            expectStatus(answer.status, 400);
            answer.socket.destroy();
          },
        ],
        [
          'a whole upgrade request, destroyed before the answer',
          10,
          async () => {
            const socket = await raw();
            socket.write(upgradeRequest(port, '/ws/cap'));
            socket.destroy();
          },
        ],
        [
          'upgraded, then destroyed without a close frame',
          10,
          async () => {
            const answer = await rawWebSocket(port, '/ws/cap');
            expectStatus(answer.status, 101);
            answer.socket.destroy();
          },
        ],
        [
          'upgraded to an invalid room, destroyed during the close',
          10,
          async () => {
            const answer = await rawWebSocket(port, '/ws/..');
            expectStatus(answer.status, 101);
            answer.socket.destroy();
          },
        ],
      ];
      assert.equal(
        kinds.reduce((sum, [, n]) => sum + n, 0),
        100,
      );
      const jobs = kinds.flatMap(([, n, run]) => Array.from({ length: n }, () => run));
      for (let i = 0; i < jobs.length; i += 10) {
        const batch = await Promise.allSettled(jobs.slice(i, i + 10).map((run) => run()));
        for (const result of batch) {
          // A reset while the server answers is one more way for a handshake to end.
          if (result.status === 'rejected' && !/ECONNRESET|EPIPE/.test(String(result.reason)))
            throw result.reason;
        }
      }
      assert.ok(capped < 50, `${capped} of 100 met the cap; most must have reached the handshake`);
      await waitFor(
        'every aborted handshake to release its count',
        () =>
          server.app.diagnostics.trackedLimitEntries().connectionCaps === 0 &&
          server.app.diagnostics.connections === 0,
      );
      await openFive(server, track, 'cap');
      await expectRefused(track(new TestClient(`${server.wsUrl}/ws/cap`)));
      assert.equal(server.app.diagnostics.localPeers, 5);
    });
  });

  test('aborted TLS handshakes and dropped WSS connections release their counts (REQUIRE_HTTPS=true)', async () => {
    await withServer({ MAX_CONNECTIONS_PER_IP: '5', REQUIRE_HTTPS: 'true' }, async (server, track) => {
      const port = server.port;
      const aborts: Array<() => Promise<void>> = [];
      for (let i = 0; i < 10; i += 1) {
        aborts.push(async () => {
          // Plain HTTP instead of a ClientHello: the TLS layer refuses it at once.
          const socket = connect(port, '127.0.0.1');
          socket.on('error', () => {});
          socket.write(upgradeRequest(port, '/ws/tls-cap'));
          assert.equal(await socketClosed(socket, 5000), true, 'a non-TLS client is dropped');
        });
        aborts.push(async () => {
          // A real ClientHello, abandoned before the handshake completes.
          const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false });
          socket.on('error', () => {});
          await new Promise((resolve) => setImmediate(resolve));
          socket.destroy();
        });
        aborts.push(async () => {
          // Upgraded over TLS, then the socket vanishes without a close frame.
          const client = new TestClient(`${server.wsUrl}/ws/tls-cap`);
          await client.next('joined');
          client.ws.terminate();
        });
      }
      for (let i = 0; i < aborts.length; i += 6)
        await Promise.all(aborts.slice(i, i + 6).map((run) => run()));
      await waitFor(
        'every count to be released',
        () =>
          server.app.diagnostics.trackedLimitEntries().connectionCaps === 0 &&
          server.app.diagnostics.connections === 0,
      );
      await openFive(server, track, 'tls-cap');
      await expectRefused(track(new TestClient(`${server.wsUrl}/ws/tls-cap`)));
    });
  });
});
