import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forgeToken, randomKey, tokenFor } from '../../helpers/secure.js';
import { type RunningServer, startServer, withServer } from '../../helpers/server.js';
import { rawUpgrade, TestClient } from '../../helpers/ws-client.js';

/** A y-webrtc signaling connection: the URL as the client is given it. */
function openSignaling(server: RunningServer, query = ''): TestClient {
  return new TestClient(`${server.wsUrl}/y-webrtc${query}`);
}

/** Subscribes and proves the subscription is in place (a publish to the topic comes back). */
async function subscribed(client: TestClient, topic: string): Promise<void> {
  await client.opened;
  client.send({ type: 'subscribe', topics: [topic] });
  const probe = Math.random();
  for (;;) {
    client.send({ type: 'publish', topic, data: { probe } });
    const got = await client.next('publish', 1000).catch(() => null);
    if (got && (got.data as { probe?: number }).probe === probe) return;
  }
}

/** Waits until `client` has nothing more to say for `ms`. */
async function quiet(client: TestClient, ms = 200): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  client.inbox.length = 0;
}

describe('y-webrtc dialect in development mode', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  const open = (query = '') => {
    const c = openSignaling(server, query);
    clients.push(c);
    return c;
  };
  before(async () => {
    server = await startServer({
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_CONNECTIONS_PER_IP: '1000',
      YWEBRTC_MAX_SUBSCRIBERS_PER_TOPIC: '3',
    });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  test('publish reaches every subscriber, the sender included, with the subscriber count', async () => {
    const a = open();
    const b = open();
    await subscribed(a, 'doc-1');
    await subscribed(b, 'doc-1');
    await quiet(a);
    const data = { type: 'announce', from: 'peer-a' };
    a.send({ type: 'publish', topic: 'doc-1', data, extra: 'dropped' });
    const expected = { type: 'publish', topic: 'doc-1', data, clients: 2 };
    assert.deepEqual(await a.next('publish'), expected);
    assert.deepEqual(await b.next('publish'), expected);
  });

  test('the publisher need not be subscribed; data is relayed as is (a base64 string too)', async () => {
    const sub = open();
    const publisher = open();
    await subscribed(sub, 'doc-2');
    await publisher.opened;
    publisher.send({ type: 'publish', topic: 'doc-2', data: 'AAECAwQ=' });
    assert.deepEqual(await sub.next('publish'), {
      type: 'publish',
      topic: 'doc-2',
      data: 'AAECAwQ=',
      clients: 1,
    });
    await quiet(publisher);
    assert.equal(publisher.inbox.length, 0);
  });

  test('unsubscribe stops delivery; topics are separate', async () => {
    const a = open();
    const b = open();
    await subscribed(a, 'doc-3');
    await subscribed(b, 'doc-3');
    await subscribed(b, 'doc-4');
    b.send({ type: 'unsubscribe', topics: ['doc-3', 'never-subscribed'] });
    // a has b's subscription probes in its inbox too (they went to doc-3's subscribers).
    await Promise.all([quiet(a), quiet(b)]);
    a.send({ type: 'publish', topic: 'doc-3', data: 1 });
    assert.equal((await a.next('publish')).clients, 1);
    a.send({ type: 'publish', topic: 'doc-4', data: 2 });
    assert.equal((await b.next('publish')).data, 2);
    await quiet(b);
    assert.equal(b.inbox.length, 0, 'nothing from doc-3 after unsubscribing');
  });

  test('ping is answered with pong', async () => {
    const a = open();
    await a.opened;
    a.send({ type: 'ping' });
    assert.deepEqual(await a.next(), { type: 'pong' });
  });

  test('refuses the frames that crash the reference server with an error, and keeps the socket open', async () => {
    const a = open();
    await a.opened;
    const bad: Array<[string | Buffer, string, RegExp]> = [
      ['{"type":"subscribe","topics":"x"}', 'invalid_message', /array/],
      ['not json', 'invalid_json', /JSON/],
      ['{"type":"subscribe","topics":[1]}', 'invalid_message', /array/],
      ['{"type":"subscribe"}', 'invalid_message', /array/],
      ['{"type":"unsubscribe","topics":{"a":1}}', 'invalid_message', /array/],
      ['{"type":"publish","data":1}', 'invalid_message', /topic/],
      ['{"type":"publish","topic":"t"}', 'invalid_message', /data/],
      ['{"type":"publish","topic":{},"data":1}', 'invalid_message', /topic/],
      [`{"type":"subscribe","topics":["${'x'.repeat(513)}"]}`, 'invalid_message', /512/],
      ['{"type":"hello"}', 'invalid_message', /unknown/],
      ['[]', 'invalid_message', /object/],
      ['null', 'invalid_message', /object/],
      ['"subscribe"', 'invalid_message', /object/],
      [Buffer.from('{"type":"ping"}'), 'invalid_message', /binary/],
    ];
    for (const [frame, code, message] of bad) {
      if (typeof frame === 'string') a.ws.send(frame);
      else a.ws.send(frame, { binary: true });
      const error = await a.next('error');
      assert.equal(error.code, code, String(frame));
      assert.match(error.message as string, message, String(frame));
    }
    a.send({ type: 'ping' });
    await a.next('pong');
    assert.ok(server.app.diagnostics.securityEvents('invalid_message') >= bad.length);
  });

  test('past YWEBRTC_MAX_SUBSCRIBERS_PER_TOPIC a subscribe is answered topic_full; other topics work', async () => {
    const subs = [open(), open(), open()];
    for (const s of subs) await subscribed(s, 'crowded');
    const late = open();
    await late.opened;
    late.send({ type: 'subscribe', topics: ['crowded'] });
    const error = await late.next('error');
    assert.equal(error.code, 'topic_full');
    await subscribed(late, 'quiet-room');
    subs[0]?.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await subscribed(late, 'crowded');
  });

  test('a closed connection leaves its topics', async () => {
    const a = open();
    const b = open();
    await subscribed(a, 'doc-5');
    await subscribed(b, 'doc-5');
    a.close();
    await a.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await quiet(b);
    b.send({ type: 'publish', topic: 'doc-5', data: 0 });
    assert.equal((await b.next('publish')).clients, 1);
  });
});

test('a flood gets rate_limited errors, then 4429', async () => {
  await withServer({ RATE_LIMIT_PER_MINUTE: '5' }, async (server, track) => {
    const a = track(openSignaling(server));
    await a.opened;
    for (let i = 0; i < 40; i += 1) a.send({ type: 'ping' });
    assert.equal((await a.next('error')).code, 'rate_limited');
    assert.equal((await a.closed).code, 4429);
  });
});

test('an empty YWEBRTC_PATH turns y-webrtc off', async () => {
  await withServer({ YWEBRTC_PATH: '' }, async (server) => {
    assert.equal((await rawUpgrade(server.port, '/y-webrtc')).status, 404);
  });
});

describe('y-webrtc dialect with REQUIRE_AUTH', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startServer({ REQUIRE_AUTH: 'true', JWT_SECRET_KEY: randomKey() });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  test('no token: 4401 and no auth failure counted (the client reconnects forever)', async () => {
    for (let i = 0; i < 8; i += 1) {
      const c = openSignaling(server);
      clients.push(c);
      assert.equal((await c.closed).code, 4401);
    }
    assert.equal(server.app.diagnostics.securityEvents('auth_failed'), 0);
    assert.equal(await server.app.diagnostics.isBlocked('127.0.0.1'), false);
  });

  test('our JWT in the signaling URL’s query works; a forged one is 4401 and an auth failure', async () => {
    const token = await tokenFor(server, 'user1', 'password123');
    const good = openSignaling(server, `?token=${token}`);
    clients.push(good);
    await subscribed(good, 'secure-doc');
    const forged = openSignaling(server, `?token=${await forgeToken(randomKey())}`);
    clients.push(forged);
    assert.equal((await forged.closed).code, 4401);
    assert.equal(server.app.diagnostics.securityEvents('auth_failed'), 1);
  });
});
