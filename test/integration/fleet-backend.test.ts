import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backendToken, SignedReceiver } from '../helpers/backend.js';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { randomKey } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { joinRoom, TestClient } from '../helpers/ws-client.js';

const hasRedis = await redisReachable(TEST_REDIS_URL);
const SECRET = randomKey();
const KEY = randomKey();

type Event = Record<string, unknown> & { event: string; room: { room_id: string } };

describe('connecting a backend to a fleet of two instances', {
  skip: hasRedis ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, () => {
  const receiver = new SignedReceiver(SECRET);
  let one: RunningServer;
  let two: RunningServer;
  const clients: TestClient[] = [];
  const admin = backendToken(KEY, 'backend', { scope: 'admin' });
  const auth = { authorization: `Bearer ${admin}` };
  const headers = { ...auth, 'content-type': 'application/json' };
  const join = async (server: RunningServer, room: string) => {
    const joined = await joinRoom(server.wsUrl, room, { token: backendToken(KEY, `u${clients.length}`) });
    clients.push(joined.client);
    return joined;
  };
  const count = (room: string, kind: string) =>
    (receiver.events() as Event[]).filter((e) => e.room.room_id === room && e.event === kind).length;

  before(async () => {
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `backend-${process.pid}-${Date.now()}:`,
      REQUIRE_AUTH: 'true',
      JWT_SECRET_KEY: KEY,
      WEBHOOK_URLS: await receiver.start(),
      WEBHOOK_SECRET: SECRET,
      MAX_CONNECTIONS_PER_IP: '1000',
    };
    one = await startServer(env);
    two = await startServer(env);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await one.stop();
    await two.stop();
    await receiver.close();
  });

  test('room_started and room_finished fire exactly once for rooms spanning both instances', async () => {
    const rooms = ['span-1', 'span-2', 'span-3', 'span-4'];
    const joined = await Promise.all(
      rooms.flatMap((room) => [join(one, room), join(two, room), join(one, room)]),
    );
    for (const j of joined) j.client.close();
    await receiver.until(() =>
      rooms.every((room) => count(room, 'room_finished') >= 1 && count(room, 'peer_left') === 3),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const room of rooms) {
      assert.equal(count(room, 'room_started'), 1, room);
      assert.equal(count(room, 'room_finished'), 1, room);
      assert.equal(count(room, 'peer_joined'), 3, room);
    }
    const instances = new Set((receiver.events() as Event[]).map((e) => e.instance));
    assert.equal(instances.size, 2, 'events name the instance that saw them');
  });

  test('an admin on one instance lists, messages, kicks and closes peers held by the other', async () => {
    const a = await join(one, 'admin-room');
    const b = await join(two, 'admin-room');
    const c = await join(two, 'admin-room');

    const listed = await fetch(`${one.url}/api/rooms/admin-room`, { headers });
    assert.equal(listed.status, 200);
    const room = (await listed.json()) as { peers: { peer_id: string }[] };
    assert.deepEqual(room.peers.map((p) => p.peer_id).sort(), [a.peerId, b.peerId, c.peerId].sort());

    const broadcast = await fetch(`${one.url}/api/rooms/admin-room/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ payload: { text: 'hello all' } }),
    });
    assert.equal(broadcast.status, 202);
    for (const peer of [a, b, c])
      assert.deepEqual(await peer.client.next('server'), { type: 'server', payload: { text: 'hello all' } });

    const direct = await fetch(`${one.url}/api/rooms/admin-room/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ payload: 'just you', to: b.peerId }),
    });
    assert.equal(direct.status, 202);
    assert.equal((await b.client.next('server')).payload, 'just you');
    await a.client.expectAlive();
    assert.equal(a.client.inbox.filter((m) => m.type === 'server').length, 0);

    const kick = await fetch(`${one.url}/api/rooms/admin-room/peers/${b.peerId}?reason=misbehaving`, {
      method: 'DELETE',
      headers: auth,
    });
    assert.equal(kick.status, 204);
    assert.deepEqual(await b.client.closed, { code: 4410, reason: 'misbehaving' });
    assert.equal((await a.client.next('peer_left')).peer_id, b.peerId);

    const gone = await fetch(`${one.url}/api/rooms/admin-room/peers/${b.peerId}`, {
      method: 'DELETE',
      headers: auth,
    });
    assert.equal(gone.status, 404);

    const close = await fetch(`${two.url}/api/rooms/admin-room?reason=call%20ended`, {
      method: 'DELETE',
      headers: auth,
    });
    assert.equal(close.status, 204);
    assert.deepEqual(await a.client.closed, { code: 4410, reason: 'call ended' });
    assert.deepEqual(await c.client.closed, { code: 4410, reason: 'call ended' });
    await receiver.until(() => count('admin-room', 'room_finished') === 1);
    const reasons = (receiver.events() as Event[])
      .filter((e) => e.room.room_id === 'admin-room' && e.event === 'peer_left')
      .map((e) => e.reason);
    assert.deepEqual(reasons, ['kicked', 'kicked', 'kicked']);

    const actions = [...one.logs, ...two.logs].filter((l) => l.security_event === 'admin_action');
    assert.ok(actions.length >= 5);
    assert.ok(actions.every((l) => l.user === 'backend'));
  });

  test('metadata set through one instance is shown in joined on the other', async () => {
    const put = await fetch(`${one.url}/api/rooms/meta-room/metadata`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ metadata: '{"title":"Weekly sync"}' }),
    });
    assert.equal(put.status, 200);
    for (const server of [two, one]) {
      const client = new TestClient(`${server.wsUrl}/ws/meta-room?token=${backendToken(KEY, 'm')}`);
      clients.push(client);
      assert.equal((await client.next('joined')).metadata, '{"title":"Weekly sync"}');
    }
    const shown = await fetch(`${two.url}/api/rooms/meta-room`, { headers });
    assert.equal(((await shown.json()) as { metadata: string }).metadata, '{"title":"Weekly sync"}');
  });

  test('the Admin API refuses non-admin tokens with 403 and unknown rooms with 404', async () => {
    const user = backendToken(KEY, 'someone');
    const refused = await fetch(`${one.url}/api/rooms/x`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${user}` },
    });
    assert.equal(refused.status, 403);
    assert.equal(
      (await fetch(`${one.url}/api/rooms/nowhere`, { method: 'DELETE', headers: auth })).status,
      404,
    );
    const bad = await fetch(`${one.url}/api/rooms/x/messages`, { method: 'POST', headers, body: '{}' });
    assert.equal(bad.status, 422);
  });
});
