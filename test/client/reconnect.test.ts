import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, classifyClose, defaultBackoff } from '../../client/src/reconnect-policy.js';
import { SignalingClient, type SignalingClientOptions } from '../../client/src/signaling-client.js';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { FakeServer } from '../helpers/fake-transport.js';

function setup(options: Partial<SignalingClientOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const client = new SignalingClient({
    url: 'https://signaling.test',
    room: 'room',
    transport: server.transport,
    clock,
    random: () => 0.5,
    heartbeatIntervalMs: 0,
    reconnect: { initialDelayMs: 1000, maxDelayMs: 8000, factor: 2, jitter: 0.5, busyDelayMs: 5000 },
    // These tests read the token from the URL (the first-message default is tested in signaling-client).
    tokenInUrl: true,
    ...options,
  });
  const delays: number[] = [];
  const closes: Array<{ code: number; willReconnect: boolean }> = [];
  client.on('reconnecting', (event) => delays.push(event.delayMs));
  client.on('close', (event) => closes.push({ code: event.code, willReconnect: event.willReconnect }));
  return { clock, server, client, delays, closes };
}

describe('backoffDelay', () => {
  const options = { ...defaultBackoff, initialDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: 0.5 };

  test('grows exponentially with the attempt number', () => {
    const delays = [0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, options, () => 0));
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000]);
  });

  test('is capped at maxDelayMs', () => {
    assert.equal(
      backoffDelay(20, options, () => 0.999_999),
      30_000,
    );
    assert.equal(
      backoffDelay(1000, options, () => 1),
      30_000,
    );
  });

  test('is jittered within [ceiling * (1 - jitter), ceiling]', () => {
    const samples = [0, 0.25, 0.5, 0.75, 1].map((r) => backoffDelay(3, options, () => r));
    assert.deepEqual(samples, [4000, 5000, 6000, 7000, 8000]);
    assert.equal(new Set(samples).size, samples.length);
  });
});

describe('classifyClose', () => {
  test('knows the final, token and busy codes and retries the rest', () => {
    for (const code of [1000, 1008, 4400, 4403]) assert.equal(classifyClose(code), 'final', String(code));
    assert.equal(classifyClose(4401), 'retry-with-new-token');
    for (const code of [4409, 4429]) assert.equal(classifyClose(code), 'retry-busy', String(code));
    for (const code of [1001, 1006, 1011, 1012]) assert.equal(classifyClose(code), 'retry', String(code));
  });
});

describe('SignalingClient reconnect', () => {
  for (const code of [1001, 1006]) {
    test(`reconnects after a ${code} close with growing, capped delays`, async () => {
      const { clock, server, client, delays } = setup();
      client.connect();
      await flush();
      server.last.join('me');
      for (let i = 0; i < 6; i += 1) {
        server.last.serverClose(code);
        assert.equal(client.state, 'reconnecting');
        await clock.advance(delays.at(-1)!);
        assert.equal(server.connections.length, i + 2, 'a new connection was opened after the delay');
      }
      // random() = 0.5 with jitter 0.5: three quarters of 1 s, 2 s, 4 s, then 8 s (the cap) each time.
      assert.deepEqual(delays, [750, 1500, 3000, 6000, 6000, 6000]);
    });
  }

  for (const code of [4409, 4429]) {
    test(`reconnects after a ${code} close but waits at least busyDelayMs`, async () => {
      const { clock, server, client, delays } = setup();
      client.connect();
      await flush();
      server.last.join('me');
      server.last.serverClose(code);
      assert.deepEqual(delays, [5000]);
      await clock.advance(4999);
      assert.equal(server.connections.length, 1);
      await clock.advance(1);
      assert.equal(server.connections.length, 2);
    });
  }

  for (const code of [4400, 4403]) {
    test(`stops after a final ${code} close`, async () => {
      const { clock, server, client, closes } = setup();
      client.connect();
      await flush();
      server.last.open();
      server.last.serverClose(code);
      assert.equal(client.state, 'closed');
      assert.deepEqual(closes, [{ code, willReconnect: false }]);
      await clock.advance(120_000);
      assert.equal(server.connections.length, 1);
    });
  }

  test('the delay differs between clients thanks to jitter', async () => {
    const first = setup({ random: () => 0.1 });
    const second = setup({ random: () => 0.9 });
    for (const { client, server } of [first, second]) {
      client.connect();
      await flush();
      server.last.serverClose(1006);
    }
    assert.notEqual(first.delays[0], second.delays[0]);
  });

  test('a successful join resets the backoff', async () => {
    const { clock, server, client, delays } = setup();
    client.connect();
    await flush();
    server.last.serverClose(1006);
    await clock.advance(delays.at(-1)!);
    server.last.serverClose(1006);
    await clock.advance(delays.at(-1)!);
    server.last.join('me');
    server.last.serverClose(1001);
    assert.deepEqual(delays, [750, 1500, 750]);
  });

  test('4401 without getToken is final', async () => {
    const { clock, server, client, closes } = setup({ token: 'old' });
    client.connect();
    await flush();
    server.last.serverClose(4401, 'token expired');
    await clock.advance(60_000);
    assert.equal(client.state, 'closed');
    assert.deepEqual(closes, [{ code: 4401, willReconnect: false }]);
    assert.equal(server.connections.length, 1);
  });

  test('4401 is final when getToken returns the refused token again', async () => {
    const { clock, server, client } = setup({ getToken: async () => 'same' });
    client.connect();
    await flush();
    assert.equal(server.last.token, 'same');
    server.last.serverClose(4401);
    await clock.advance(60_000);
    assert.equal(client.state, 'closed');
    assert.equal(server.connections.length, 1);
  });

  test('4401 is final when getToken fails', async () => {
    let calls = 0;
    const { clock, server, client } = setup({
      getToken: async () => {
        calls += 1;
        if (calls > 1) throw new Error('login server down');
        return 'first';
      },
    });
    const errors: string[] = [];
    client.on('client_error', (event) => errors.push(event.during));
    client.connect();
    await flush();
    server.last.serverClose(4401);
    await clock.advance(60_000);
    assert.equal(client.state, 'closed');
    assert.deepEqual(errors, ['token']);
  });

  test('4401 with a fresh token from getToken reconnects with that token', async () => {
    const tokens = ['first', 'second'];
    const { clock, server, client, closes } = setup({ getToken: async () => tokens.shift() ?? null });
    client.connect();
    await flush();
    assert.equal(server.last.token, 'first');
    server.last.join('me');
    server.last.serverClose(4401, 'token expired');
    await clock.advance(60_000);
    assert.equal(server.connections.length, 2);
    assert.equal(server.last.token, 'second');
    assert.deepEqual(closes, [{ code: 4401, willReconnect: true }]);
    server.last.join('me-again');
    assert.equal(client.state, 'joined');
  });

  test('disconnect() cancels a pending reconnect', async () => {
    const { clock, server, client } = setup();
    client.connect();
    await flush();
    server.last.serverClose(1006);
    client.disconnect();
    await clock.advance(60_000);
    assert.equal(client.state, 'closed');
    assert.equal(server.connections.length, 1);
  });

  test('gives up after maxAttempts consecutive failures', async () => {
    const { clock, server, client, closes } = setup({ reconnect: { maxAttempts: 2 } });
    client.connect();
    await flush();
    for (let i = 0; i < 3; i += 1) {
      server.last.serverClose(1006);
      await clock.advance(60_000);
    }
    assert.equal(server.connections.length, 3);
    assert.equal(client.state, 'closed');
    assert.deepEqual(closes.at(-1), { code: 1006, willReconnect: false });
  });

  test('reconnect: false makes every close final', async () => {
    const { clock, server, client } = setup({ reconnect: false });
    client.connect();
    await flush();
    server.last.serverClose(1001);
    await clock.advance(60_000);
    assert.equal(client.state, 'closed');
    assert.equal(server.connections.length, 1);
  });
});
