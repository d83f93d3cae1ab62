import { type Received, TestClient } from './ws-client.js';

/** A joined client and its `joined` message. */
export interface Joined {
  readonly client: TestClient;
  readonly joined: Received;
  readonly peerId: string;
  readonly token: string;
}

/** Opens `/ws/{room}` on `wsUrl` (optionally resuming) and waits for `joined`. */
export async function openSession(
  wsUrl: string,
  room: string,
  resume?: { token: string; lastSeq: number },
  authToken?: string,
): Promise<Joined> {
  const query = new URLSearchParams();
  if (authToken) query.set('token', authToken);
  if (resume) {
    query.set('resume', resume.token);
    query.set('last_seq', String(resume.lastSeq));
  }
  const text = query.toString();
  const client = new TestClient(`${wsUrl}/ws/${room}${text ? `?${text}` : ''}`);
  const joined = await client.next('joined', 8000);
  return { client, joined, peerId: joined.peer_id as string, token: joined.resume_token as string };
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** An ICE candidate message addressed to `to`, numbered `n` in its candidate string. */
export function candidate(n: number, to?: string): Record<string, unknown> {
  return {
    type: 'ice_candidate',
    candidate: { candidate: `candidate:${n} 1 udp 2122260223 10.0.0.1 ${50000 + n} typ host`, sdpMid: '0' },
    ...(to ? { to } : {}),
  };
}

/** The candidate numbers of the relayed `ice_candidate` messages in `messages`, in order. */
export function candidateNumbers(messages: readonly Received[]): number[] {
  return messages
    .filter((m) => m.type === 'ice_candidate')
    .map((m) => Number(/^candidate:(\d+)/.exec((m.candidate as { candidate: string }).candidate)?.[1]));
}

/** Waits until `client` has `count` messages of `type` in its inbox and returns them (removed). */
export async function take(client: TestClient, type: string, count: number, timeoutMs = 5000) {
  const got: Received[] = [];
  for (let i = 0; i < count; i += 1) got.push(await client.next(type, timeoutMs));
  return got;
}
