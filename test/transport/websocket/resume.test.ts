import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { candidate, candidateNumbers, openSession, take, waitUntil } from '../../helpers/resume.js';
import { type RunningServer, startServer } from '../../helpers/server.js';
import { TcpProxy } from '../../helpers/tcp-proxy.js';
import type { TestClient } from '../../helpers/ws-client.js';

const ENV = { RESUME_GRACE_SECONDS: '30', RATE_LIMIT_PER_MINUTE: '100000', MAX_CONNECTIONS_PER_IP: '100' };
const offer = (sdp: string, to?: string) => ({
  type: 'offer',
  offer: { type: 'offer', sdp },
  ...(to ? { to } : {}),
});

describe('resume on one instance (memory broker)', () => {
  let server: RunningServer;
  let proxy: TcpProxy;
  const clients: TestClient[] = [];
  const track = <T extends { client: TestClient }>(joined: T): T => {
    clients.push(joined.client);
    return joined;
  };
  let n = 0;
  const room = () => {
    n += 1;
    return `resume-${n}`;
  };

  before(async () => {
    server = await startServer(ENV);
    proxy = await TcpProxy.start(server.port);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await proxy.close();
    await server.stop();
  });
  const viaProxy = () => `ws://127.0.0.1:${proxy.port}`;

  test('a peer cut mid-negotiation resumes with its peer id, gets what it missed in order, and the other saw no peer_left', async () => {
    const r = room();
    const alice = track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(viaProxy(), r));
    assert.equal(typeof bob.token, 'string');
    assert.equal(typeof bob.joined.epoch, 'string');
    await alice.client.next('peer_joined');
    alice.client.send(offer('offer-1', bob.peerId));
    const first = await bob.client.next('offer');
    assert.equal(first.seq, 1);

    const before = server.app.diagnostics.localPeers;
    proxy.cut();
    await waitUntil(() => server.app.diagnostics.localPeers === before - 1, 'the server to detach bob');
    for (let i = 1; i <= 5; i += 1) alice.client.send(candidate(i, bob.peerId));
    alice.client.send(offer('offer-2')); // broadcast: bob is the only other peer
    await alice.client.expectAlive();

    const back = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 1 }));
    assert.equal(back.joined.resumed, true);
    assert.equal(back.joined.recovered, true);
    assert.equal(back.peerId, bob.peerId);
    assert.equal(back.joined.epoch, bob.joined.epoch);
    assert.notEqual(back.token, bob.token, 'the token is rotated');
    assert.deepEqual(back.joined.peers, [alice.peerId]);
    const missed = await take(back.client, 'ice_candidate', 5);
    assert.deepEqual(candidateNumbers(missed), [1, 2, 3, 4, 5]);
    assert.deepEqual(
      missed.map((m) => m.seq),
      [2, 3, 4, 5, 6],
    );
    const second = await back.client.next('offer');
    assert.equal((second.offer as { sdp: string }).sdp, 'offer-2');
    assert.equal(second.seq, 7);

    back.client.send({ type: 'answer', answer: { type: 'answer', sdp: 'answer-1' }, to: alice.peerId });
    const answer = await alice.client.next('answer');
    assert.equal(answer.from, bob.peerId);
    alice.client.send(candidate(6, bob.peerId));
    assert.equal((await back.client.next('ice_candidate')).seq, 8);
    await alice.client.expectAlive();
    assert.deepEqual(
      alice.client.inbox.filter((m) => m.type === 'peer_left' || m.type === 'peer_joined'),
      [],
      'alice saw no peer_left/peer_joined flap',
    );
  });

  test('what reached the dead connection but was not processed is sent again after last_seq', async () => {
    const r = room();
    const alice = track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(viaProxy(), r));
    for (let i = 1; i <= 3; i += 1) alice.client.send(candidate(i, bob.peerId));
    await take(bob.client, 'ice_candidate', 3);
    proxy.cut();
    // Bob processed only the first one before the cut.
    const back = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 1 }));
    assert.equal(back.joined.recovered, true);
    const again = await take(back.client, 'ice_candidate', 2);
    assert.deepEqual(candidateNumbers(again), [2, 3]);
    assert.deepEqual(
      again.map((m) => m.seq),
      [2, 3],
    );
  });

  test('a resume while the server still thinks the old connection is open takes it over', async () => {
    const r = room();
    const alice = track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(viaProxy(), r));
    proxy.blackhole();
    alice.client.send(candidate(1, bob.peerId));
    await alice.client.expectAlive();
    const back = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }));
    assert.equal(back.joined.resumed, true);
    assert.equal(back.peerId, bob.peerId);
    assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 1)), [1]);
    alice.client.send(candidate(2, bob.peerId));
    assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 1)), [2]);
    await alice.client.expectAlive();
    assert.equal(alice.client.inbox.filter((m) => m.type === 'peer_left').length, 0);
    proxy.cut();
  });

  test('a large offer reaches each recipient whole, with its own seq (shared bytes, per-recipient suffix)', async () => {
    const r = room();
    const alice = track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(server.wsUrl, r));
    const carol = track(await openSession(server.wsUrl, r));
    alice.client.send(candidate(1, carol.peerId)); // carol's stream is one ahead of bob's
    await carol.client.next('ice_candidate');
    const sdp = `v=0\r\n${'a=x-filler:é€😀\r\n'.repeat(800)}`;
    alice.client.send(offer(sdp));
    const [toBob, toCarol] = await Promise.all([bob.client.next('offer'), carol.client.next('offer')]);
    assert.equal((toBob.offer as { sdp: string }).sdp, sdp);
    assert.equal((toCarol.offer as { sdp: string }).sdp, sdp);
    assert.deepEqual([toBob.seq, toCarol.seq, toBob.from], [1, 2, alice.peerId]);
  });

  test('a reused, forged or foreign token is refused with its reason and the client joins fresh', async () => {
    const r = room();
    const alice = track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(viaProxy(), r));
    proxy.cut();
    const back = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }));
    assert.equal(back.joined.resumed, true);

    const reused = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }));
    assert.equal(reused.joined.resumed, false);
    assert.equal(reused.joined.resume_refused, 'resume_token_used');
    assert.notEqual(reused.peerId, bob.peerId);
    assert.equal(typeof reused.token, 'string');

    const forged = track(
      await openSession(server.wsUrl, r, { token: `${bob.peerId}.not-the-secret`, lastSeq: 0 }),
    );
    assert.equal(forged.joined.resume_refused, 'resume_token_used');
    const elsewhere = track(await openSession(server.wsUrl, room(), { token: back.token, lastSeq: 0 }));
    assert.equal(elsewhere.joined.resume_refused, 'resume_unknown');
    const garbage = track(await openSession(server.wsUrl, r, { token: 'nonsense', lastSeq: 0 }));
    assert.equal(garbage.joined.resume_refused, 'resume_unknown');
    // The real bob is still there, reachable under his id.
    alice.client.send(candidate(7, bob.peerId));
    assert.deepEqual(candidateNumbers(await take(back.client, 'ice_candidate', 1)), [7]);
  });

  test('a token of another user is refused (resume_wrong_user)', async () => {
    const login = async (username: string) => {
      const res = await fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'password123' }),
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const r = room();
    track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(viaProxy(), r, undefined, await login('user1')));
    proxy.cut();
    const mallory = track(
      await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }, await login('user2')),
    );
    assert.equal(mallory.joined.resumed, false);
    assert.equal(mallory.joined.resume_refused, 'resume_wrong_user');
    const anonymous = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }));
    assert.equal(anonymous.joined.resume_refused, 'resume_wrong_user');
    const owner = track(
      await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }, await login('user1')),
    );
    assert.equal(owner.joined.resumed, true);
  });

  test('a peer that closes with 1000 leaves at once (peer_left), and its token is no use afterwards', async () => {
    const r = room();
    const alice = track(await openSession(server.wsUrl, r));
    const bob = track(await openSession(server.wsUrl, r));
    bob.client.ws.close(1000);
    assert.equal((await alice.client.next('peer_left')).peer_id, bob.peerId);
    const late = track(await openSession(server.wsUrl, r, { token: bob.token, lastSeq: 0 }));
    assert.equal(late.joined.resume_refused, 'resume_unknown');
  });
});

describe('resume limits (RESUME_GRACE_SECONDS=1, RESUME_BUFFER_MESSAGES=3)', () => {
  let server: RunningServer;
  let proxy: TcpProxy;
  const clients: TestClient[] = [];
  before(async () => {
    server = await startServer({
      ...ENV,
      RESUME_GRACE_SECONDS: '1',
      RESUME_BUFFER_MESSAGES: '3',
      MAX_CONNECTIONS_PER_ROOM: '2',
    });
    proxy = await TcpProxy.start(server.port);
  });
  after(async () => {
    for (const c of clients) c.ws.terminate();
    await proxy.close();
    await server.stop();
  });

  test('a detached peer counts against the room cap until its grace ends, then peer_left and resume_expired', async () => {
    const alice = await openSession(server.wsUrl, 'grace');
    const bob = await openSession(`ws://127.0.0.1:${proxy.port}`, 'grace');
    clients.push(alice.client, bob.client);
    const cutAt = Date.now();
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { TestClient } = await import('../../helpers/ws-client.js');
    const third = new TestClient(`${server.wsUrl}/ws/grace`);
    clients.push(third);
    assert.equal((await third.closed).code, 4409, 'the detached peer still holds its place');
    assert.equal(alice.client.inbox.filter((m) => m.type === 'peer_left').length, 0);
    const left = await alice.client.next('peer_left', 4000);
    assert.equal(left.peer_id, bob.peerId);
    assert.ok(Date.now() - cutAt >= 1000, 'not before the grace ended');
    const late = await openSession(server.wsUrl, 'grace', { token: bob.token, lastSeq: 0 });
    clients.push(late.client);
    assert.equal(late.joined.resumed, false);
    assert.equal(late.joined.resume_refused, 'resume_expired');
    assert.notEqual(late.peerId, bob.peerId);
  });

  test('a buffer that overflows ends the session: peer_left, then resume_overflow', async () => {
    const alice = await openSession(server.wsUrl, 'overflow');
    const bob = await openSession(`ws://127.0.0.1:${proxy.port}`, 'overflow');
    clients.push(alice.client, bob.client);
    const peers = server.app.diagnostics.localPeers;
    proxy.cut();
    await waitUntil(() => server.app.diagnostics.localPeers === peers - 1, 'the server to detach bob');
    for (let i = 1; i <= 4; i += 1) alice.client.send(candidate(i, bob.peerId));
    const left = await alice.client.next('peer_left', 3000);
    assert.equal(left.peer_id, bob.peerId);
    const late = await openSession(server.wsUrl, 'overflow', { token: bob.token, lastSeq: 0 });
    clients.push(late.client);
    assert.equal(late.joined.resume_refused, 'resume_overflow');
  });
});
