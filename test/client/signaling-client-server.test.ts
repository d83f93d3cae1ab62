import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { PeerMesh } from '../../client/src/peer-mesh.js';
import type { ServerMessageType } from '../../client/src/protocol.js';
import {
  SignalingClient,
  type SignalingClientOptions,
  type SignalingEvents,
} from '../../client/src/signaling-client.js';
import { LoginError, login } from '../../client/src/token.js';
import { webSocketTransport } from '../../client/src/transport.js';
import { FakePeerConnection } from '../helpers/fake-peer-connection.js';
import { type RunningServer, startServer } from '../helpers/server.js';

/** Resolves with the next `type` event of `client`. */
function next<T extends ServerMessageType>(client: SignalingClient, type: T): Promise<SignalingEvents[T]> {
  return new Promise((resolve) => client.once(type, resolve));
}

function nextClose(client: SignalingClient): Promise<{ code: number; willReconnect: boolean }> {
  return new Promise((resolve) => client.once('close', resolve));
}

// The library against the real server, over the `ws` package instead of a browser WebSocket.
describe('SignalingClient against the server (auth required)', () => {
  let server: RunningServer;
  const clients: SignalingClient[] = [];

  before(async () => {
    server = await startServer({ REQUIRE_AUTH: 'true', RATE_LIMIT_PER_MINUTE: '600' });
  });

  after(async () => {
    for (const client of clients) client.disconnect();
    await server.stop();
  });

  function client(options: Partial<SignalingClientOptions> = {}): SignalingClient {
    const created = new SignalingClient({
      url: server.url,
      room: 'library-room',
      transport: webSocketTransport(WebSocket),
      heartbeatIntervalMs: 0,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      ...options,
    });
    clients.push(created);
    return created;
  }

  test('login() returns a token and its lifetime, and a LoginError with the detail on 401', async () => {
    const grant = await login(server.url, 'user1', 'password123');
    assert.equal(typeof grant.token, 'string');
    assert.ok((grant.expiresIn ?? 0) > 0);
    await assert.rejects(login(server.url, 'user1', 'wrong'), (error: unknown) => {
      assert.ok(error instanceof LoginError);
      assert.equal(error.status, 401);
      assert.ok(error.message.length > 0);
      return true;
    });
  });

  test('joins with a token from getToken, sees a second peer, and refreshes its token with auth', async () => {
    const first = client({ getToken: () => login(server.url, 'user1', 'password123') });
    const joined = next(first, 'joined');
    first.connect();
    assert.deepEqual((await joined).peers, []);

    const second = client({ getToken: () => login(server.url, 'user2', 'password123') });
    const peerJoined = next(first, 'peer_joined');
    const secondJoined = next(second, 'joined');
    second.connect();
    const announced = await peerJoined;
    assert.equal(announced.peer_id, (await secondJoined).peer_id);
    assert.deepEqual(first.peers, [announced.peer_id]);

    const authOk = next(first, 'auth_ok');
    assert.equal(await first.refreshToken(), true);
    assert.ok((await authOk).expires_in > 0);

    const pong = next(second, 'pong');
    second.ping(42);
    assert.equal((await pong).ts, 42);
  });

  test('a refused token (4401) is replaced through getToken and the client joins', async () => {
    const tokens = ['not-a-valid-token'];
    const flaky = client({
      getToken: async () => tokens.shift() ?? (await login(server.url, 'user1', 'password123')),
    });
    const closed = nextClose(flaky);
    const joined = next(flaky, 'joined');
    flaky.connect();
    const event = await closed;
    assert.equal(event.code, 4401);
    assert.equal(event.willReconnect, true);
    assert.equal((await joined).room_id, 'library-room');
  });

  test('4401 without a way to get a new token is final', async () => {
    const stuck = client({ token: 'not-a-valid-token' });
    const closed = nextClose(stuck);
    stuck.connect();
    assert.equal((await closed).code, 4401);
    assert.equal((await closed).willReconnect, false);
    assert.equal(stuck.state, 'closed');
  });

  test('an invalid room id (4400) is final', async () => {
    const lost = client({
      room: 'no spaces allowed',
      getToken: () => login(server.url, 'user1', 'password123'),
    });
    const closed = nextClose(lost);
    lost.connect();
    const event = await closed;
    assert.equal(event.code, 4400);
    assert.equal(event.willReconnect, false);
  });

  test('two meshes negotiate through the real relay with every message addressed to the other peer', async () => {
    const room = 'mesh-room';
    const pcs: FakePeerConnection[] = [];
    const factory = () => {
      const pc = new FakePeerConnection(`pc${pcs.length}`);
      pcs.push(pc);
      return pc;
    };
    const alice = client({ room, getToken: () => login(server.url, 'user1', 'password123') });
    const bob = client({ room, getToken: () => login(server.url, 'user2', 'password123') });
    new PeerMesh(alice, { createPeerConnection: factory });
    new PeerMesh(bob, { createPeerConnection: factory });
    const aliceJoined = next(alice, 'joined');
    alice.connect();
    await aliceJoined;
    const bobJoined = next(bob, 'joined');
    const aliceGotOffer = next(alice, 'offer');
    bob.connect();
    await bobJoined;
    // Bob, the newcomer, offers; Alice answers.
    pcs[0]!.needNegotiation();
    const offer = await aliceGotOffer;
    assert.equal(offer.to, alice.peerId);
    assert.equal(offer.from, bob.peerId);
    const bobGotAnswer = next(bob, 'answer');
    const answer = await bobGotAnswer;
    assert.equal(answer.to, bob.peerId);
    assert.equal(answer.from, alice.peerId);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
      pcs.map((pc) => pc.signalingState),
      ['stable', 'stable'],
    );
  });
});
