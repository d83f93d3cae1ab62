import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ServerMessage } from '../../client/src/protocol.js';
import { SignalingClient, type SignalingClientOptions } from '../../client/src/signaling-client.js';
import { jwtExpiresIn } from '../../client/src/token.js';
import { FakeClock, flush } from '../helpers/fake-clock.js';
import { FakeServer } from '../helpers/fake-transport.js';

function setup(options: Partial<SignalingClientOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeServer();
  const client = new SignalingClient({
    url: 'https://signaling.test/prefix/',
    room: 'my room',
    transport: server.transport,
    clock,
    random: () => 0.5,
    heartbeatIntervalMs: 0,
    // These tests read the token from the URL; the default (first message) has its own tests below.
    tokenInUrl: true,
    ...options,
  });
  return { clock, server, client };
}

/** An unsigned JWT-shaped token whose payload carries `exp`. */
function fakeJwt(exp: number): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256' })}.${encode({ sub: 'user1', exp })}.signature`;
}

describe('SignalingClient', () => {
  test('connects to /ws/{room} with the token in the query and tracks peer id and peers', async () => {
    const { server, client } = setup({ token: 'tok en' });
    const states: string[] = [];
    client.on('state', (event) => states.push(event.state));
    client.connect();
    await flush();
    assert.equal(server.last.url, 'wss://signaling.test/prefix/ws/my%20room?token=tok+en');
    assert.equal(server.last.token, 'tok en');
    server.last.join('me', ['a']);
    assert.equal(client.peerId, 'me');
    assert.deepEqual(client.peers, ['a']);
    server.last.receive({ type: 'peer_joined', peer_id: 'b', username: 'user2' });
    server.last.receive({ type: 'peer_left', peer_id: 'a' });
    assert.deepEqual(client.peers, ['b']);
    assert.deepEqual(states, ['connecting', 'open', 'joined']);
  });

  test('tokens in URLs end up in proxy logs: by default the token goes as the first message, never in the URL', async () => {
    const { server, client } = setup({ token: 'tok en', tokenInUrl: undefined });
    client.connect();
    await flush();
    assert.equal(server.last.url, 'wss://signaling.test/prefix/ws/my%20room?auth=message', 'no token in it');
    assert.deepEqual(server.last.sent, [], 'nothing before the socket opens');
    server.last.open();
    assert.deepEqual(server.last.sent, [{ type: 'auth', token: 'tok en' }]);
    server.last.receive({ type: 'joined', room_id: 'r', peer_id: 'me', peers: [], peer_info: [] });
    assert.equal(client.state, 'joined');
    server.last.serverClose(1006);
    await flush();
  });

  test('without a token nothing is sent on open (development mode)', async () => {
    const { server, client } = setup({ url: 'http://127.0.0.1:8000', tokenInUrl: undefined });
    client.connect();
    await flush();
    server.last.open();
    assert.deepEqual(server.last.sent, []);
    assert.equal(server.last.url, 'ws://127.0.0.1:8000/ws/my%20room');
  });

  test('connects without a token in development mode', async () => {
    const { server, client } = setup({ url: 'http://127.0.0.1:8000' });
    client.connect();
    await flush();
    assert.equal(server.last.url, 'ws://127.0.0.1:8000/ws/my%20room');
  });

  test('emits a typed event for every server message type', async () => {
    const { server, client } = setup();
    const messages: ServerMessage[] = [
      { type: 'joined', room_id: 'r', peer_id: 'me', peers: [], peer_info: [] },
      { type: 'peer_joined', peer_id: 'p' },
      { type: 'offer', offer: { type: 'offer', sdp: 'o' }, to: 'me', from: 'p' },
      { type: 'answer', answer: { type: 'answer', sdp: 'a' }, from: 'p' },
      { type: 'ice_candidate', candidate: null, from: 'p' },
      { type: 'pong', ts: 5 },
      { type: 'auth_ok', expires_in: 3600 },
      { type: 'error', code: 'unknown_peer', message: 'no such peer' },
      { type: 'peer_left', peer_id: 'p' },
    ];
    const seen: ServerMessage[] = [];
    for (const message of messages) client.on(message.type, (payload) => seen.push(payload));
    const all: string[] = [];
    client.on('message', (message) => all.push(message.type));
    client.connect();
    await flush();
    server.last.open();
    for (const message of messages) server.last.receive(message);
    assert.deepEqual(seen, messages);
    assert.deepEqual(
      all,
      messages.map((message) => message.type),
    );
  });

  test('reports an unreadable frame and stays connected', async () => {
    const { server, client } = setup();
    const errors: string[] = [];
    client.on('client_error', (event) => errors.push(event.during));
    client.connect();
    await flush();
    server.last.join('me');
    server.last.receiveText('"not an object"');
    assert.deepEqual(errors, ['parse']);
    assert.equal(client.state, 'joined');
  });

  test('send helpers build contract messages and send nothing while disconnected', async () => {
    const { server, client } = setup();
    assert.equal(client.sendOffer({ type: 'offer', sdp: 'x' }, 'p'), false);
    client.connect();
    await flush();
    server.last.join('me', ['p']);
    assert.equal(client.sendOffer({ type: 'offer', sdp: 'o' }, 'p'), true);
    client.sendAnswer({ type: 'answer', sdp: 'a' });
    client.sendIceCandidate({ candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 }, 'p');
    client.sendIceCandidate(null, 'p');
    client.ping(7);
    assert.deepEqual(server.last.sent, [
      { type: 'offer', offer: { type: 'offer', sdp: 'o' }, to: 'p' },
      { type: 'answer', answer: { type: 'answer', sdp: 'a' } },
      { type: 'ice_candidate', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 }, to: 'p' },
      { type: 'ice_candidate', candidate: null, to: 'p' },
      { type: 'ping', ts: 7 },
    ]);
  });

  test('disconnect() closes the socket with 1000 and does not reconnect', async () => {
    const { clock, server, client } = setup();
    client.connect();
    await flush();
    server.last.join('me');
    client.disconnect();
    assert.deepEqual(server.last.closedByClient, { code: 1000, reason: 'client disconnect' });
    // The real socket reports its close afterwards; it must not count as a lost connection.
    server.last.serverClose(1000);
    await clock.advance(60_000);
    assert.equal(client.state, 'closed');
    assert.equal(server.connections.length, 1);
  });
});

describe('SignalingClient heartbeat', () => {
  test('sends a ping every interval while the pongs come back', async () => {
    const { clock, server, client } = setup({ heartbeatIntervalMs: 15_000, heartbeatTimeoutMs: 10_000 });
    client.connect();
    await flush();
    server.last.join('me');
    for (let i = 0; i < 3; i += 1) {
      await clock.advance(15_000);
      const ping = server.last.sent.at(-1);
      assert.equal(ping?.type, 'ping');
      server.last.receive({ type: 'pong', ts: ping?.type === 'ping' ? ping.ts : undefined });
    }
    assert.equal(server.last.sent.length, 3);
    assert.equal(client.state, 'joined');
    assert.equal(server.connections.length, 1);
  });

  test('treats a missing pong as a dead connection: abandons it and reconnects', async () => {
    const { clock, server, client } = setup({ heartbeatIntervalMs: 15_000, heartbeatTimeoutMs: 10_000 });
    const closes: Array<{ code: number; willReconnect: boolean }> = [];
    client.on('close', (event) => closes.push({ code: event.code, willReconnect: event.willReconnect }));
    client.connect();
    await flush();
    const dead = server.last;
    dead.join('me');
    await clock.advance(15_000);
    assert.equal(dead.sent.at(-1)?.type, 'ping');
    await clock.advance(9_999);
    assert.equal(client.state, 'joined');
    await clock.advance(1);
    assert.equal(client.state, 'reconnecting');
    assert.deepEqual(dead.closedByClient, { code: 4000, reason: 'heartbeat timeout' });
    assert.deepEqual(closes, [{ code: 1006, willReconnect: true }]);
    // Whatever the abandoned socket does later is ignored.
    dead.receive({ type: 'pong' });
    dead.serverClose(1006);
    assert.equal(closes.length, 1);
    await clock.advance(1000);
    assert.equal(server.connections.length, 2);
  });
});

describe('SignalingClient token refresh', () => {
  test('fetches a token with getToken before the first connection', async () => {
    let calls = 0;
    const { server, client } = setup({
      getToken: async () => {
        calls += 1;
        return { token: 'fresh', expiresIn: 3600 };
      },
    });
    client.connect();
    await flush();
    assert.equal(calls, 1);
    assert.equal(server.last.token, 'fresh');
  });

  test('sends auth with a new token before expiry and reschedules from auth_ok', async () => {
    const tokens = ['t2', 't3'];
    const { clock, server, client } = setup({
      token: { token: 't1', expiresIn: 100 },
      getToken: async () => ({ token: tokens.shift()!, expiresIn: 100 }),
      refreshMarginMs: 60_000,
    });
    client.connect();
    await flush();
    assert.equal(server.last.token, 't1');
    server.last.join('me');
    // 100 s left: refresh a fifth of it (20 s) before expiry, since the margin is larger than that.
    await clock.advance(79_999);
    assert.deepEqual(server.last.sent, []);
    await clock.advance(1);
    assert.deepEqual(server.last.sent, [{ type: 'auth', token: 't2' }]);
    server.last.receive({ type: 'auth_ok', expires_in: 100 });
    await clock.advance(80_000);
    assert.deepEqual(server.last.sent.at(-1), { type: 'auth', token: 't3' });
  });

  test('reads the expiry from the JWT when none is given', async () => {
    assert.equal(jwtExpiresIn(fakeJwt(1000), 400_000), 600);
    assert.equal(jwtExpiresIn('not-a-jwt', 0), null);
    const jwt = fakeJwt(200);
    const { clock, server, client } = setup({ token: jwt, getToken: async () => 'next' });
    client.connect();
    await flush();
    assert.equal(server.last.token, jwt);
    server.last.join('me');
    await clock.advance(160_000);
    assert.deepEqual(server.last.sent, [{ type: 'auth', token: 'next' }]);
  });

  test('replaces a token that is about to expire before connecting', async () => {
    const { server, client } = setup({ token: fakeJwt(1), getToken: async () => 'next' });
    client.connect();
    await flush();
    assert.equal(server.last.token, 'next');
  });

  test('a refresh that yields the same token is retried later instead of sent', async () => {
    const { clock, server, client } = setup({
      token: { token: 'same', expiresIn: 100 },
      getToken: async () => ({ token: 'same', expiresIn: 100 }),
    });
    client.connect();
    await flush();
    server.last.join('me');
    await clock.advance(80_000);
    assert.deepEqual(server.last.sent, []);
    assert.ok(clock.pendingDelays.length > 0, 'a retry is scheduled');
  });
});
