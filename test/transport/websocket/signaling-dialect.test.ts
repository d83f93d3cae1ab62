import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from '../../helpers/server.js';
import { joinRoom, rawUpgrade, TestClient } from '../../helpers/ws-client.js';

const offer = (sdp = 'v=0\r\n') => ({ type: 'offer', sdp });

describe('WebSocket signaling in development mode', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  const join = async (room: string) => {
    const joined = await joinRoom(server.wsUrl, room);
    clients.push(joined.client);
    return joined;
  };

  /** The room as `GET /api/rooms/{id}/info` reports it, or null when it is not active (404). */
  const roomInfo = async (roomId: string): Promise<{ peer_count: number } | null> => {
    const response = await fetch(`${server.url}/api/rooms/${roomId}/info`);
    if (response.status === 404) return null;
    assert.equal(response.status, 200);
    return (await response.json()) as { peer_count: number };
  };

  before(async () => {
    server = await startServer({
      MAX_CONNECTIONS_PER_ROOM: '3',
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_CONNECTIONS_PER_IP: '100',
      MAX_MESSAGE_BYTES: '65536',
    });
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await server.stop();
  });

  test('joined lists the peers already there and the others get peer_joined', async () => {
    const a = await join('presence');
    assert.deepEqual(a.peers, []);
    assert.match(a.peerId, /^[A-Za-z0-9_-]{20,}$/);
    const b = await join('presence');
    assert.deepEqual(b.peers, [a.peerId]);
    const notice = await a.client.next('peer_joined');
    assert.equal(notice.peer_id, b.peerId);
    assert.notEqual(a.peerId, b.peerId);
  });

  test('relays to one peer with from added and never echoes to the sender', async () => {
    const a = await join('direct');
    const b = await join('direct');
    const c = await join('direct');
    a.client.send({ type: 'offer', offer: offer('sdp-a'), to: b.peerId, from: 'forged', extra: 'dropped' });
    const got = await b.client.next('offer');
    assert.deepEqual(got, {
      type: 'offer',
      offer: { type: 'offer', sdp: 'sdp-a' },
      to: b.peerId,
      from: a.peerId,
    });
    await c.client.expectAlive();
    await a.client.expectAlive();
    assert.equal(c.client.inbox.filter((m) => m.type === 'offer').length, 0);
    assert.equal(a.client.inbox.filter((m) => m.type === 'offer').length, 0);
  });

  test('relays to every other peer without to', async () => {
    const a = await join('broadcast');
    const b = await join('broadcast');
    const c = await join('broadcast');
    a.client.send({
      type: 'ice_candidate',
      candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 },
    });
    for (const peer of [b, c]) {
      const got = await peer.client.next('ice_candidate');
      assert.equal(got.from, a.peerId);
      assert.equal((got.candidate as { sdpMid: string }).sdpMid, '0');
    }
    a.client.send({ type: 'ice_candidate', candidate: null });
    assert.equal((await b.client.next('ice_candidate')).candidate, null);
    await a.client.expectAlive();
    assert.equal(a.client.inbox.filter((m) => m.type === 'ice_candidate').length, 0);
  });

  test('keeps rooms isolated', async () => {
    const a = await join('iso-1');
    const b = await join('iso-2');
    a.client.send({ type: 'answer', answer: { type: 'answer', sdp: 'x' } });
    await b.client.expectAlive();
    assert.equal(b.client.inbox.length, 0);
  });

  test('keeps the order of 200 messages from one sender', async () => {
    const a = await join('order');
    const b = await join('order');
    for (let i = 0; i < 200; i += 1) a.client.send({ type: 'offer', offer: offer(`n=${i}`), to: b.peerId });
    for (let i = 0; i < 200; i += 1) {
      const got = await b.client.next('offer');
      assert.equal((got.offer as { sdp: string }).sdp, `n=${i}`);
    }
  });

  test('tells the others peer_left when a peer leaves, and removes an empty room at once', async () => {
    const a = await join('leaving');
    const b = await join('leaving');
    b.client.close();
    const left = await a.client.next('peer_left');
    assert.equal(left.peer_id, b.peerId);
    a.client.close();
    await a.client.closed;
    const deadline = Date.now() + 2000;
    while ((await roomInfo('leaving')) !== null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await roomInfo('leaving'), null);
  });

  test('answers ping with pong echoing ts', async () => {
    const a = await join('ping');
    a.client.send({ type: 'ping' });
    assert.deepEqual(await a.client.next('pong'), { type: 'pong' });
    await a.client.expectAlive();
  });

  test('unknown_peer when to is not in the room, and the socket stays usable', async () => {
    const a = await join('unknown');
    a.client.send({ type: 'offer', offer: offer(), to: 'nobody' });
    const error = await a.client.next('error');
    assert.equal(error.code, 'unknown_peer');
    a.client.send({ type: 'offer', offer: offer(), to: a.peerId });
    assert.equal((await a.client.next('error')).code, 'unknown_peer');
    await a.client.expectAlive();
  });

  const badInputs: Array<[string, string | Buffer, string]> = [
    ['not JSON', '{nope', 'invalid_json'],
    ['a JSON array', '[1,2]', 'invalid_message'],
    ['an unknown type', '{"type":"hello"}', 'invalid_message'],
    ['an offer without sdp', '{"type":"offer","offer":{"type":"offer"}}', 'invalid_message'],
    [
      'an offer whose description says answer',
      '{"type":"offer","offer":{"type":"answer","sdp":"x"}}',
      'invalid_message',
    ],
    ['a binary frame', Buffer.from([1, 2, 3]), 'invalid_message'],
    [
      'deeply nested JSON (10,000 levels)',
      `{"type":"offer","offer":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
      'invalid_message',
    ],
    [
      '10,000 levels nested inside an otherwise valid offer',
      `{"type":"ping","x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      'pong',
    ],
    [
      '__proto__ keys',
      '{"type":"ping","__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
      'pong',
    ],
  ];
  for (const [index, [what, frame, expected]] of badInputs.entries()) {
    test(`answers ${what} with ${expected} and keeps the socket open`, async () => {
      const a = await join(`bad-${index}`);
      a.client.ws.send(frame);
      const reply = await a.client.next(expected === 'pong' ? 'pong' : 'error');
      if (expected !== 'pong') assert.equal(reply.code, expected);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      await a.client.expectAlive();
    });
  }

  test('closes with 1009 when a message is larger than MAX_MESSAGE_BYTES', async () => {
    const a = await join('big');
    a.client.send({ type: 'offer', offer: offer('x'.repeat(70_000)) });
    const closed = await a.client.closed;
    assert.equal(closed.code, 1009);
  });

  test('closes the 4th peer in a 3-peer room with 4409', async () => {
    await join('full');
    await join('full');
    await join('full');
    const fourth = new TestClient(`${server.wsUrl}/ws/full`);
    clients.push(fourth);
    assert.equal((await fourth.closed).code, 4409);
  });

  for (const room of ['a%20b', 'x'.repeat(65), '..', '.', '%2E%2E', 'a%2Fb', 'a/b', '%ZZ', '', 'caf%C3%A9']) {
    test(`closes with 4400 for the invalid room id "${room.length > 20 ? `${room.length} characters` : room}"`, async () => {
      const answer = await rawUpgrade(server.port, `/ws/${room}`);
      assert.deepEqual(answer, { status: 101, closeCode: 4400 });
    });
  }

  test('closes with 4400 for the room id "a b" sent by a client library', async () => {
    const client = new TestClient(`${server.wsUrl}/ws/a b`);
    clients.push(client);
    assert.equal((await client.closed).code, 4400);
  });

  test('accepts a percent-encoded valid room id and room ids of exactly 64 characters', async () => {
    const a = await join('%61bc');
    assert.equal((await roomInfo('abc'))?.peer_count, 1);
    const b = await join('y'.repeat(64));
    await b.client.expectAlive();
    await a.client.expectAlive();
  });

  test('refuses an upgrade on another path with 404', async () => {
    const client = new TestClient(`${server.wsUrl}/other`);
    assert.equal((await client.closed).code, -404);
  });

  test('/health counts open connections and rooms', async () => {
    const a = await join('health-room');
    const res = await fetch(`${server.url}/health`);
    const body = (await res.json()) as {
      connections: number;
      rooms: number;
      status: string;
      broker: { kind: string; ok: boolean };
    };
    assert.equal(res.status, 200);
    assert.equal(body.status, 'healthy');
    assert.ok(body.connections >= 1);
    assert.ok(body.rooms >= 1);
    assert.deepEqual(body.broker, { kind: 'memory', ok: true });
    await a.client.expectAlive();
  });
});

describe('liveness', () => {
  test('terminates a silent client after WEBSOCKET_TIMEOUT and tells its peers peer_left', async () => {
    const server = await startServer({ WEBSOCKET_TIMEOUT: '1' });
    try {
      const a = await joinRoom(server.wsUrl, 'quiet');
      const silent = await joinRoom(server.wsUrl, 'quiet', { autoPong: false });
      // `a` answers pings automatically and keeps talking; `silent` neither pongs nor sends.
      const keepAlive = setInterval(() => a.client.send({ type: 'ping' }), 200);
      try {
        const left = await a.client.next('peer_left', 5000);
        assert.equal(left.peer_id, silent.peerId);
        const closed = await silent.client.closed;
        assert.equal(closed.code, 1006);
        await a.client.expectAlive();
      } finally {
        clearInterval(keepAlive);
        a.client.close();
      }
    } finally {
      await server.stop();
    }
  });
});
