import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, forgeToken, randomKey, tokenFor } from '../../helpers/secure.js';
import { type RunningServer, startServer, withServer } from '../../helpers/server.js';
import { rawUpgrade, TestClient } from '../../helpers/ws-client.js';

/** A PeerJS client's socket as peerjs 1.5 opens it: key, id, token and version, unencoded. */
function openPeer(
  server: RunningServer,
  id: string,
  options: { key?: string; token?: string; path?: string; origin?: string } = {},
): TestClient {
  const { key = 'peerjs', token = 'tok3n', path = '/peerjs', origin } = options;
  return new TestClient(
    `${server.wsUrl}${path}/peerjs?key=${key}&id=${id}&token=${token}&version=1.5.5`,
    origin ? { headers: { Origin: origin } } : {},
  );
}

/** Opens a peer and waits for OPEN. */
async function connected(server: RunningServer, id: string, options: Parameters<typeof openPeer>[2] = {}) {
  const client = openPeer(server, id, options);
  await client.next('OPEN');
  return client;
}

/** Resolves once `server` knows `id` in `key` (another instance learns joins through Redis). */
async function expectRefusal(client: TestClient, code: number, type = 'ERROR'): Promise<string> {
  const message = await client.next(type);
  const closed = await client.closed;
  assert.equal(closed.code, code, `closed with ${closed.code} ${closed.reason}`);
  return (message.payload as { msg: string }).msg;
}

describe('PeerJS dialect in development mode', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  const track = (c: TestClient) => {
    clients.push(c);
    return c;
  };
  before(async () => {
    server = await startServer({
      PEERJS_EXPIRE_TIMEOUT: '1',
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_CONNECTIONS_PER_IP: '1000',
    });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  test('answers OPEN and relays OFFER, ANSWER, CANDIDATE and LEAVE to dst with src set by the server', async () => {
    const a = track(await connected(server, 'alice'));
    const b = track(await connected(server, 'bob'));
    const offer = { sdp: { type: 'offer', sdp: 'v=0' }, type: 'data', connectionId: 'dc_1', label: 'x' };
    a.send({ type: 'OFFER', payload: offer, dst: 'bob', src: 'mallory', extra: 1 });
    assert.deepEqual(await b.next('OFFER'), { type: 'OFFER', src: 'alice', dst: 'bob', payload: offer });
    b.send({
      type: 'ANSWER',
      payload: { sdp: { type: 'answer', sdp: 'v=0' }, connectionId: 'dc_1' },
      dst: 'alice',
    });
    assert.equal((await a.next('ANSWER')).src, 'bob');
    a.send({
      type: 'CANDIDATE',
      payload: { candidate: { candidate: 'c' }, connectionId: 'dc_1' },
      dst: 'bob',
    });
    assert.deepEqual((await b.next('CANDIDATE')).payload, {
      candidate: { candidate: 'c' },
      connectionId: 'dc_1',
    });
    a.send({ type: 'LEAVE', dst: 'bob' });
    assert.deepEqual(await b.next('LEAVE'), { type: 'LEAVE', src: 'alice', dst: 'bob' });
    assert.equal(a.inbox.length, 0, 'nothing comes back to the sender');
  });

  test('HEARTBEAT is never answered and the connection stays', async () => {
    const a = track(await connected(server, 'heart'));
    const b = track(await connected(server, 'beat'));
    for (let i = 0; i < 3; i += 1) a.send({ type: 'HEARTBEAT' });
    a.send({ type: 'LEAVE', dst: 'beat' });
    await b.next('LEAVE');
    assert.equal(a.inbox.length, 0);
  });

  test('refuses a missing id, key or token and invalid ids or keys with ERROR, then closes', async () => {
    for (const query of ['key=peerjs&token=t', 'key=peerjs&id=x', 'id=x&token=t']) {
      const client = track(new TestClient(`${server.wsUrl}/peerjs/peerjs?${query}`));
      assert.match(await expectRefusal(client, 4400), /No id, token, or key/);
    }
    assert.match(await expectRefusal(track(openPeer(server, 'bad!id')), 4400), /ID is invalid/);
    assert.match(await expectRefusal(track(openPeer(server, '-x')), 4400), /ID is invalid/);
    assert.match(await expectRefusal(track(openPeer(server, 'ok', { key: 'a:b' })), 4400), /Invalid key/);
  });

  test('accepts chosen ids with spaces, dashes and underscores', async () => {
    const spaced = track(await connected(server, 'my%20peer_1-a'));
    const other = track(await connected(server, 'other'));
    other.send({ type: 'LEAVE', dst: 'my peer_1-a' });
    assert.equal((await spaced.next('LEAVE')).src, 'other');
  });

  test('answers ID-TAKEN to a second client with the same id and another token; the holder keeps it', async () => {
    const holder = track(await connected(server, 'taken', { token: 'first' }));
    const second = track(openPeer(server, 'taken', { token: 'second' }));
    const message = await second.next('ID-TAKEN');
    assert.deepEqual(message.payload, { msg: 'ID is taken' });
    assert.equal((await second.closed).code, 4409);
    assert.equal(second.inbox.length, 0, 'ID-TAKEN is not followed by an ERROR');
    const peer = track(await connected(server, 'checker'));
    peer.send({ type: 'LEAVE', dst: 'taken' });
    assert.equal((await holder.next('LEAVE')).src, 'checker');
  });

  test('a reconnect with the same id and token takes the id back, gets OPEN and receives relays', async () => {
    const old = track(await connected(server, 'phoenix', { token: 'same' }));
    const again = track(openPeer(server, 'phoenix', { token: 'same' }));
    await again.next('OPEN');
    assert.equal((await old.closed).code, 1006, 'the stale connection is dropped');
    const peer = track(await connected(server, 'friend'));
    peer.send({ type: 'LEAVE', dst: 'phoenix' });
    assert.equal((await again.next('LEAVE')).src, 'friend');
  });

  test('holds frames for a peer that is not connected yet and delivers them, in order, when it connects', async () => {
    const a = track(await connected(server, 'early'));
    for (let i = 0; i < 3; i += 1)
      a.send({ type: 'CANDIDATE', payload: { candidate: i, connectionId: 'c' }, dst: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const late = track(await connected(server, 'late'));
    for (let i = 0; i < 3; i += 1)
      assert.equal(((await late.next('CANDIDATE')).payload as { candidate: number }).candidate, i);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal(a.inbox.length, 0, 'no EXPIRE for delivered frames');
  });

  test('answers one EXPIRE when the peer does not connect within PEERJS_EXPIRE_TIMEOUT', async () => {
    const a = track(await connected(server, 'lonely'));
    const started = Date.now();
    a.send({ type: 'OFFER', payload: { connectionId: 'x' }, dst: 'nobody' });
    a.send({ type: 'CANDIDATE', payload: { connectionId: 'x' }, dst: 'nobody' });
    assert.deepEqual(await a.next('EXPIRE', 3000), { type: 'EXPIRE', src: 'nobody', dst: 'lonely' });
    assert.ok(Date.now() - started >= 900, 'not before the timeout');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(a.inbox.length, 0, 'one EXPIRE per absent peer');
  });

  test('answers EXPIRE at once for a dst that can never be an id', async () => {
    const a = track(await connected(server, 'sender'));
    a.send({ type: 'OFFER', payload: { connectionId: 'x' }, dst: 'not a valid id!' });
    assert.equal((await a.next('EXPIRE', 500)).src, 'not a valid id!');
  });

  test('refuses malformed frames with ERROR and keeps the socket open; a client cannot send EXPIRE', async () => {
    const a = track(await connected(server, 'fuzzy'));
    const b = track(await connected(server, 'target'));
    const bad: Array<[string | Buffer, RegExp]> = [
      ['not json', /not valid JSON/],
      ['[1,2]', /JSON object/],
      ['null', /JSON object/],
      ['{"type":42}', /unknown/],
      ['{"type":"HELLO"}', /unknown/],
      ['{"type":"EXPIRE","dst":"target"}', /server only/],
      ['{"type":"OPEN"}', /server only/],
      ['{"type":"OFFER","payload":{}}', /dst must be a peer id/],
      ['{"type":"OFFER","dst":"target","payload":null}', /payload must be a JSON object/],
      ['{"type":"CANDIDATE","dst":"target","payload":"x"}', /payload must be a JSON object/],
      [Buffer.from([1, 2, 3]), /binary/],
    ];
    for (const [frame, expected] of bad) {
      if (typeof frame === 'string') a.ws.send(frame);
      else a.ws.send(frame, { binary: true });
      const error = await a.next('ERROR');
      assert.match((error.payload as { msg: string }).msg, expected, String(frame));
    }
    a.send({ type: 'LEAVE', dst: 'target' });
    await b.next('LEAVE');
    assert.equal(b.inbox.length, 0, 'nothing malformed was relayed');
    assert.ok(server.app.diagnostics.securityEvents('invalid_message') >= bad.length);
  });

  test('keys are separate namespaces: the same id in two keys', async () => {
    track(await connected(server, 'twin', { key: 'app-one' }));
    track(await connected(server, 'twin', { key: 'app-two' }));
  });

  test('GET /peerjs/{key}/id answers a fresh id as text, cross-origin for allowed origins', async () => {
    const origin = 'http://localhost:5173';
    const one = await call(server, 'GET', '/peerjs/peerjs/id?ts=123', { headers: { Origin: origin } });
    assert.equal(one.status, 200);
    assert.match(one.headers['content-type'] as string, /^text\/plain/);
    assert.match(one.text, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(one.headers['access-control-allow-origin'], origin);
    const two = await call(server, 'GET', '/peerjs/peerjs/id');
    assert.notEqual(two.text, one.text);
    assert.equal((await call(server, 'GET', '/peerjs/bad:key/id')).status, 400);
  });

  test('GET /peerjs/{key}/peers is 401 while discovery is off', async () => {
    const answer = await call(server, 'GET', '/peerjs/peerjs/peers');
    assert.equal(answer.status, 401);
    assert.match(answer.json.detail as string, /PEERJS_DISCOVERY/);
  });
});

test('past PEERJS_MAX_PEERS_PER_KEY a client gets ERROR and 4409', async () => {
  await withServer({ PEERJS_MAX_PEERS_PER_KEY: '2' }, async (server, track) => {
    track(await connected(server, 'one'));
    track(await connected(server, 'two'));
    const third = track(openPeer(server, 'three'));
    assert.match(await expectRefusal(third, 4409), /concurrent user limit/);
    assert.equal(server.app.diagnostics.securityEvents('room_full'), 1);
  });
});

test('discovery on: GET /peerjs/{key}/peers lists the connected ids', async () => {
  await withServer({ PEERJS_DISCOVERY: 'true' }, async (server, track) => {
    track(await connected(server, 'seen-1'));
    track(await connected(server, 'seen-2'));
    const answer = await call(server, 'GET', '/peerjs/peerjs/peers');
    assert.equal(answer.status, 200);
    assert.deepEqual((JSON.parse(answer.text) as string[]).sort(), ['seen-1', 'seen-2']);
    assert.deepEqual(JSON.parse((await call(server, 'GET', '/peerjs/empty/peers')).text), []);
  });
});

test('an empty PEERJS_PATH turns PeerJS off; another path moves it', async () => {
  await withServer({ PEERJS_PATH: '' }, async (server) => {
    assert.equal((await rawUpgrade(server.port, '/peerjs/peerjs?key=k&id=i&token=t')).status, 404);
    assert.equal((await call(server, 'GET', '/peerjs/peerjs/id')).status, 404);
  });
  await withServer({ PEERJS_PATH: '/rtc/peer/' }, async (server, track) => {
    track(await connected(server, 'moved', { path: '/rtc/peer' }));
    assert.equal((await call(server, 'GET', '/rtc/peer/peerjs/id')).status, 200);
  });
});

test('a flood is dropped silently, then closed with ERROR and 4429', async () => {
  await withServer({ RATE_LIMIT_PER_MINUTE: '5' }, async (server, track) => {
    const a = track(await connected(server, 'flooder'));
    for (let i = 0; i < 40; i += 1) a.send({ type: 'HEARTBEAT' });
    assert.match(await expectRefusal(a, 4429), /rate limit/);
    assert.ok(server.app.diagnostics.securityEvents('rate_limited') >= 1);
  });
});

test('a refused origin gets ERROR and 4403', async () => {
  await withServer({ DEBUG: 'false', CORS_ORIGINS: 'https://app.example' }, async (server, track) => {
    const refused = track(openPeer(server, 'o', { origin: 'https://evil.example' }));
    assert.match(await expectRefusal(refused, 4403), /origin not allowed/);
    track(await connected(server, 'o', { origin: 'https://app.example' }));
  });
});

describe('PeerJS dialect with REQUIRE_AUTH', () => {
  let server: RunningServer;
  let token: string;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startServer({
      REQUIRE_AUTH: 'true',
      JWT_SECRET_KEY: randomKey(),
      MAX_CONNECTIONS_PER_IP: '100',
    });
    token = await tokenFor(server, 'user1', 'password123');
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  test('the stock client’s random token is no token: ERROR and 4401, and no auth failure counted', async () => {
    const client = openPeer(server, 'anon', { token: 'k3x9q2' });
    clients.push(client);
    assert.match(await expectRefusal(client, 4401), /token/);
    assert.equal(server.app.diagnostics.securityEvents('auth_failed'), 0);
  });

  test('our JWT as the PeerJS token gets OPEN; GET /id needs none', async () => {
    clients.push(await connected(server, 'signed', { token }));
    const id = await call(server, 'GET', '/peerjs/peerjs/id');
    assert.equal(id.status, 200);
  });

  test('a forged JWT gets ERROR and 4401 and counts as an auth failure', async () => {
    const forged = await forgeToken(randomKey(), { sub: 'user1' });
    const client = openPeer(server, 'forger', { token: forged });
    clients.push(client);
    await expectRefusal(client, 4401);
    assert.equal(server.app.diagnostics.securityEvents('auth_failed'), 1);
  });
});
