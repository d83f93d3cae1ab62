import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { redisReachable, TEST_REDIS_URL } from '../helpers/redis.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { TestClient } from '../helpers/ws-client.js';

const hasRedis = await redisReachable(TEST_REDIS_URL);

describe('PeerJS and y-webrtc across a fleet of two instances', {
  skip: hasRedis ? false : `Redis not reachable at ${TEST_REDIS_URL}`,
}, () => {
  let one: RunningServer;
  let two: RunningServer;
  const clients: TestClient[] = [];
  const track = (c: TestClient) => {
    clients.push(c);
    return c;
  };
  const peer = (server: RunningServer, id: string, token = 'tok') =>
    track(new TestClient(`${server.wsUrl}/peerjs/peerjs?key=fleet&id=${id}&token=${token}&version=1.5.5`));
  const signaling = async (server: RunningServer) => {
    const c = track(new TestClient(`${server.wsUrl}/y-webrtc`));
    await c.opened;
    return c;
  };

  before(async () => {
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: `dialects-${process.pid}-${Date.now()}:`,
      MAX_CONNECTIONS_PER_IP: '100',
      RATE_LIMIT_PER_MINUTE: '100000',
      PEERJS_EXPIRE_TIMEOUT: '3',
    };
    [one, two] = await Promise.all([startServer(env), startServer(env)]);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all([one.stop(), two.stop()]);
  });

  test('a PeerJS id is unique per key across the fleet', async () => {
    await peer(one, 'unique', 'a').next('OPEN');
    const rival = peer(two, 'unique', 'b');
    await rival.next('ID-TAKEN');
    assert.equal((await rival.closed).code, 4409);
  });

  test('PeerJS relays cross instances, and frames held for a peer reach it when it connects elsewhere', async () => {
    const a = peer(one, 'west');
    await a.next('OPEN');
    a.send({ type: 'OFFER', payload: { connectionId: 'c1', sdp: 'x' }, dst: 'east' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const b = peer(two, 'east');
    await b.next('OPEN');
    assert.deepEqual(await b.next('OFFER'), {
      type: 'OFFER',
      src: 'west',
      dst: 'east',
      payload: { connectionId: 'c1', sdp: 'x' },
    });
    b.send({ type: 'ANSWER', payload: { connectionId: 'c1' }, dst: 'west' });
    assert.equal((await a.next('ANSWER')).src, 'east');
  });

  test('a PeerJS reconnect on the other instance takes its id back', async () => {
    const old = peer(one, 'mover', 'same');
    await old.next('OPEN');
    const moved = peer(two, 'mover', 'same');
    await moved.next('OPEN');
    await old.closed;
    const friend = peer(one, 'mover-friend');
    await friend.next('OPEN');
    friend.send({ type: 'LEAVE', dst: 'mover' });
    assert.equal((await moved.next('LEAVE')).src, 'mover-friend');
  });

  test('a y-webrtc topic spans the fleet: publish reaches subscribers on both with the fleet’s count', async () => {
    const a = await signaling(one);
    const b = await signaling(two);
    a.send({ type: 'subscribe', topics: ['shared-doc'] });
    b.send({ type: 'subscribe', topics: ['shared-doc'] });
    const deadline = Date.now() + 5000;
    for (;;) {
      a.send({ type: 'publish', topic: 'shared-doc', data: { n: 1 } });
      const got = await b.next('publish', 300).catch(() => null);
      // The count is each instance's view of the topic: it reaches 2 once a's subscription has
      // crossed the fleet, which may be just after a's first publish did.
      if (got?.clients === 2) {
        assert.deepEqual(got, { type: 'publish', topic: 'shared-doc', data: { n: 1 }, clients: 2 });
        break;
      }
      if (Date.now() > deadline) throw new Error('no publish across instances');
    }
    let own = await a.next('publish');
    while (own.clients !== 2) own = await a.next('publish');
    assert.equal(own.clients, 2);
  });
});
