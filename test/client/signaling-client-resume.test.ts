import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { fetchIceConfig } from '../../client/src/ice-servers.js';
import { SignalingClient } from '../../client/src/signaling-client.js';
import { webSocketTransport } from '../../client/src/transport.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const TURN_SECRET = 'turn-secret-for-tests';

/** coturn's check of a REST credential (turn_server/userdb.c): HMAC recomputed, expiry honoured. */
function coturnAccepts(username: string, credential: string, secrets: string[], nowSeconds: number): boolean {
  const expiry = Number(username.split(':')[0]);
  if (!Number.isFinite(expiry) || expiry < nowSeconds) return false;
  return secrets.some(
    (secret) => createHmac('sha1', secret).update(username).digest('base64') === credential,
  );
}

// The library's resume against the real server, over `ws`, with the connection cut by a TCP proxy.
describe('SignalingClient resume against the server', () => {
  let server: RunningServer;
  let proxy: TcpProxy;
  const clients: SignalingClient[] = [];

  before(async () => {
    server = await startServer({
      RESUME_GRACE_SECONDS: '30',
      RATE_LIMIT_PER_MINUTE: '6000',
      STUN_URLS: 'stun:stun.example.org:3478',
      TURN_URLS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349',
      TURN_SECRET: `${TURN_SECRET},old-secret`,
      TURN_TTL: '600',
    });
    proxy = await TcpProxy.start(server.port);
  });
  after(async () => {
    for (const client of clients) client.disconnect();
    await proxy.close();
    await server.stop();
  });

  const client = (url: string) => {
    const created = new SignalingClient({
      url,
      room: 'library-resume',
      transport: webSocketTransport(WebSocket),
      heartbeatIntervalMs: 0,
      reconnect: { initialDelayMs: 100, maxDelayMs: 200 },
    });
    clients.push(created);
    return created;
  };

  test('reconnects after a cut with its peer id, gets the missed messages once, and the other sees no peer_left', async () => {
    const alice = client(server.url);
    const bob = client(`http://127.0.0.1:${proxy.port}`);
    const aliceJoined = new Promise((resolve) => alice.once('joined', resolve));
    alice.connect();
    await aliceJoined;
    const bobJoined = new Promise<{ ice_servers?: unknown }>((resolve) => bob.once('joined', resolve));
    bob.connect();
    const joined = await bobJoined;
    const bobId = bob.peerId!;
    const got: number[] = [];
    bob.on('ice_candidate', (m) => got.push(Number(m.candidate?.candidate)));
    const lefts: string[] = [];
    alice.on('peer_left', (m) => lefts.push(m.peer_id));
    assert.ok(Array.isArray(joined.ice_servers), 'joined carries ice_servers');

    alice.sendIceCandidate({ candidate: '1' }, bobId);
    await until(() => got.length === 1);
    assert.equal(bob.lastSeq, 1);
    const states: string[] = [];
    bob.on('state', ({ state }) => states.push(state));
    const resumed = new Promise<{ resumed?: boolean; recovered?: boolean }>((resolve) =>
      bob.once('joined', resolve),
    );
    proxy.cut();
    await until(() => bob.state === 'reconnecting');
    for (let i = 2; i <= 4; i += 1) alice.sendIceCandidate({ candidate: String(i) }, bobId);
    const again = await resumed;
    assert.equal(again.resumed, true);
    assert.equal(again.recovered, true);
    assert.equal(bob.peerId, bobId);
    await until(() => got.length === 4);
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.equal(bob.lastSeq, 4);
    assert.deepEqual(states.slice(0, 1), ['reconnecting']);
    assert.deepEqual(lefts, []);
  });

  test('hands out TURN credentials in coturn’s REST form, signed with the first secret', async () => {
    const config = await fetchIceConfig(server.url);
    assert.ok(config);
    assert.equal(config.ttl, 600);
    const [stun, turn] = config.iceServers;
    assert.deepEqual(stun, { urls: ['stun:stun.example.org:3478'] });
    assert.deepEqual(turn?.urls, ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349']);
    const now = Math.floor(Date.now() / 1000);
    const username = String(turn?.username);
    assert.match(username, /^\d+:anonymous$/);
    assert.ok(Math.abs(Number(username.split(':')[0]) - (now + 600)) <= 2, 'expires TURN_TTL from now');
    assert.equal(coturnAccepts(username, String(turn?.credential), [TURN_SECRET], now), true);
    assert.equal(
      coturnAccepts(username, String(turn?.credential), ['old-secret'], now),
      false,
      'the first secret signs',
    );
    assert.equal(
      coturnAccepts(username, String(turn?.credential), [TURN_SECRET], now + 601),
      false,
      'expiry honoured',
    );
    assert.equal(
      coturnAccepts(`${now + 600}:someone-else`, String(turn?.credential), [TURN_SECRET], now),
      false,
    );
  });
});

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
