import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RequestSigner } from '../../src/integration/request-signer.js';
import { WebhookEndpoint } from '../../src/integration/webhook-endpoint.js';
import { SignedReceiver } from '../helpers/backend.js';
import { scrape } from '../helpers/metrics.js';
import { randomKey } from '../helpers/secure.js';
import { type RunningServer, startServer } from '../helpers/server.js';
import { joinRoom, type TestClient } from '../helpers/ws-client.js';

const SECRET = randomKey();
const BASE = { WEBHOOK_SECRET: SECRET, MAX_CONNECTIONS_PER_IP: '1000', RATE_LIMIT_PER_MINUTE: '1000000' };

type Event = Record<string, unknown> & { event: string; room: { room_id: string } };
const of = (receiver: SignedReceiver, room: string) =>
  receiver.events().filter((e) => (e as Event).room.room_id === room) as Event[];

describe('webhooks', () => {
  const receiver = new SignedReceiver(SECRET);
  let server: RunningServer;
  const clients: TestClient[] = [];

  before(async () => {
    const url = await receiver.start();
    server = await startServer({ ...BASE, WEBHOOK_URLS: url, WEBSOCKET_TIMEOUT: '1' });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
    await receiver.close();
  });

  test('a room’s life arrives signed, in order, with ids, times, the instance and leave reasons', async () => {
    const a = await joinRoom(server.wsUrl, 'life');
    const b = await joinRoom(server.wsUrl, 'life');
    clients.push(a.client, b.client);
    const kicked = await fetch(`${server.url}/api/rooms/life/peers/${b.peerId}?reason=bye`, {
      method: 'DELETE',
    });
    assert.equal(kicked.status, 204);
    assert.deepEqual(await b.client.closed, { code: 4410, reason: 'bye' });
    a.client.close();
    await receiver.until(() => of(receiver, 'life').some((e) => e.event === 'room_finished'));
    const events = of(receiver, 'life');
    assert.deepEqual(
      events.map((e) => [
        e.event,
        (e.peer as { peer_id?: string } | undefined)?.peer_id ?? null,
        e.reason ?? null,
      ]),
      [
        ['room_started', null, null],
        ['peer_joined', a.peerId, null],
        ['peer_joined', b.peerId, null],
        ['peer_left', b.peerId, 'kicked'],
        ['peer_left', a.peerId, 'left'],
        ['room_finished', null, null],
      ],
    );
    assert.equal(new Set(events.map((e) => e.id)).size, events.length, 'ids are unique');
    for (const e of events) {
      assert.match(String(e.id), /^EV_/);
      assert.ok(!Number.isNaN(Date.parse(String(e.created_at))));
      assert.equal(typeof e.instance, 'string');
      assert.equal(e.num_dropped, 0);
    }
    const signed = receiver.received.at(-1)!.claims;
    assert.equal((signed.exp as number) - (signed.iat as number), 300, '5-minute expiry');
    assert.equal(signed.iss, 'webrtc-signaling-server');
    assert.deepEqual(receiver.rejected, []);
  });

  test('a broken connection leaves as dropped, a silent one as timeout', async () => {
    const dropped = await joinRoom(server.wsUrl, 'reasons');
    const silent = await joinRoom(server.wsUrl, 'reasons', { autoPong: false });
    clients.push(silent.client);
    dropped.client.ws.terminate();
    await receiver.until(() => of(receiver, 'reasons').some((e) => e.reason === 'dropped'));
    await receiver.until(() => of(receiver, 'reasons').some((e) => e.reason === 'timeout'), 6000);
    const left = of(receiver, 'reasons').filter((e) => e.event === 'peer_left');
    assert.deepEqual(
      left.map((e) => [(e.peer as { peer_id: string }).peer_id, e.reason]),
      [
        [dropped.peerId, 'dropped'],
        [silent.peerId, 'timeout'],
      ],
    );
  });
});

describe('webhook delivery never blocks the relay', () => {
  const receiver = new SignedReceiver(SECRET);
  let server: RunningServer;
  const clients: TestClient[] = [];

  before(async () => {
    const url = await receiver.start();
    server = await startServer({
      ...BASE,
      WEBHOOK_URLS: url,
      WEBHOOK_QUEUE_SIZE: '3',
      WEBHOOK_TIMEOUT_MS: '60000',
    });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
    await receiver.close();
  });

  /** Median and worst offer→answer round trip between two peers, over `n` rounds. */
  const roundTrips = async (a: TestClient, b: TestClient, bId: string, n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i += 1) {
      const started = performance.now();
      a.send({ type: 'offer', offer: { type: 'offer', sdp: `o${i}` }, to: bId });
      await b.next('offer');
      b.send({ type: 'answer', answer: { type: 'answer', sdp: `a${i}` } });
      await a.next('answer');
      times.push(performance.now() - started);
    }
    times.sort((x, y) => x - y);
    return { median: times[Math.floor(n / 2)]!, p95: times[Math.floor(n * 0.95)]! };
  };

  test('a hanging receiver overflows its queue: drops are counted in metrics and in num_dropped', async () => {
    const a = await joinRoom(server.wsUrl, 'hot');
    const b = await joinRoom(server.wsUrl, 'hot');
    clients.push(a.client, b.client);
    await receiver.until((r) => r.length >= 3);
    const before = await roundTrips(a.client, b.client, b.peerId, 50);

    receiver.hang();
    for (let i = 0; i < 10; i += 1) {
      const churn = await joinRoom(server.wsUrl, `churn-${i}`);
      churn.client.close();
      await churn.client.closed;
    }
    const during = await roundTrips(a.client, b.client, b.peerId, 50);
    assert.ok(
      during.median < Math.max(20, before.median * 3),
      `relay median ${during.median.toFixed(2)} ms while the receiver hangs (before: ${before.median.toFixed(2)} ms)`,
    );
    assert.ok(during.p95 < 100, `relay p95 ${during.p95.toFixed(2)} ms while the receiver hangs`);

    const metrics = await scrape(`${server.url}/metrics`);
    const dropped = metrics.get('signaling_webhook_events_total{outcome="dropped"}') ?? 0;
    assert.ok(dropped >= 30, `dropped ${dropped}`);
    assert.equal(metrics.get('signaling_webhook_queue_depth'), 3);

    const held = receiver.received.length;
    receiver.release();
    await receiver.until((r) => r.length >= held + 2);
    a.client.close();
    b.client.close();
    await receiver.until((r) =>
      r.some((e) => e.body.event === 'room_finished' && (e.body as Event).room.room_id === 'hot'),
    );
    const reported = receiver.events().reduce((sum, e) => sum + (e.num_dropped as number), 0);
    assert.equal(reported, dropped, 'every dropped event is reported once in a later num_dropped');
  });
});

async function settled(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('a webhook endpoint', () => {
  test('retries a failing receiver with growing, jittered delays and keeps the event id', async () => {
    const receiver = new SignedReceiver(SECRET);
    const url = await receiver.start();
    let failures = 2;
    receiver.respond = (_req, res) => res.writeHead(failures-- > 0 ? 503 : 200).end();
    const endpoint = new WebhookEndpoint({
      url,
      signer: new RequestSigner(SECRET, 'webrtc-signaling-server', Date.now),
      capacity: 10,
      timeoutMs: 1000,
      maxAttempts: 3,
      baseBackoffMs: 40,
    });
    const event = {
      id: 'EV_retry',
      event: 'room_started',
      created_at: new Date().toISOString(),
      instance: 'test',
      room: { room_id: 'r' },
    } as const;
    endpoint.enqueue(event);
    await receiver.until((r) => r.length === 3);
    assert.deepEqual(new Set(receiver.events().map((e) => e.id)), new Set(['EV_retry']));
    await settled(() => endpoint.counts.delivered === 1);
    assert.deepEqual(endpoint.counts, { delivered: 1, failed: 0, dropped: 0 });
    failures = 5;
    endpoint.enqueue({ ...event, id: 'EV_given_up' });
    await receiver.until((r) => r.length === 6);
    await settled(() => endpoint.counts.failed === 1);
    assert.deepEqual(endpoint.counts, { delivered: 1, failed: 1, dropped: 0 });
    failures = 0;
    endpoint.enqueue({ ...event, id: 'EV_after' });
    await receiver.until((r) => r.some((e) => e.body.id === 'EV_after'));
    assert.equal(receiver.received.at(-1)!.body.num_dropped, 1, 'the given-up event is reported');
    await endpoint.close(100);
    await receiver.close();
  });
});
