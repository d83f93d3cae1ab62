import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { describe, test } from 'node:test';
import { login } from '../helpers/secure.js';
import { type RunningServer, withServer } from '../helpers/server.js';

interface Outcome {
  readonly status: number;
  readonly retryAfter: string | undefined;
}

/** `count` logins sent at once from `localAddress` over `sockets` keep-alive connections. */
async function loginsAtOnce(
  server: RunningServer,
  count: number,
  body: (i: number) => { username: string; password: string },
  options: { localAddress?: (i: number) => string; sockets?: number } = {},
): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets ?? 8 });
  try {
    return await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const payload = JSON.stringify(body(i));
        return new Promise<Outcome>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port: server.port,
              method: 'POST',
              path: '/auth/login',
              agent,
              localAddress: options.localAddress?.(i) ?? '127.0.0.2',
              headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
            },
            (res) => {
              res.resume();
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string }),
              );
            },
          );
          req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
          req.on('error', reject);
          req.end(payload);
        });
      }),
    );
  } finally {
    agent.destroy();
  }
}

function tally(outcomes: readonly Outcome[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const o of outcomes) counts[o.status] = (counts[o.status] ?? 0) + 1;
  return counts;
}

describe('logins sent at once', () => {
  test('brute force by concurrency: 300 logins at once on keep-alive connections were all checked; now at most AUTH_MAX_FAILURES are', async () => {
    await withServer({ AUTH_MAX_FAILURES: '3', AUTH_BLOCK_SECONDS: '60' }, async (server) => {
      const outcomes = await loginsAtOnce(
        server,
        300,
        (i) => ({ username: 'admin', password: `guess-${i}` }),
        {
          sockets: 50,
        },
      );
      const counts = tally(outcomes);
      assert.ok((counts[401] ?? 0) <= 3, `passwords checked: ${JSON.stringify(counts)}`);
      assert.equal((counts[401] ?? 0) + (counts[429] ?? 0) + (counts[503] ?? 0), 300, JSON.stringify(counts));
      for (const o of outcomes)
        if (o.status === 429 || o.status === 503) assert.match(String(o.retryAfter), /^[1-9]\d*$/);
      assert.equal(
        (await login(server, 'admin', 'admin123', '127.0.0.2')).status,
        429,
        'the address is blocked',
      );
      assert.equal((await login(server, 'admin', 'admin123', '127.0.0.3')).status, 200);
    });
  });

  test('one address gets at most two logins in flight; the others are refused at once with 429 and Retry-After', async () => {
    await withServer({ AUTH_MAX_FAILURES: '1000' }, async (server) => {
      const outcomes = await loginsAtOnce(server, 12, (i) => ({ username: `nobody${i}`, password: 'x' }), {
        sockets: 12,
      });
      const counts = tally(outcomes);
      assert.ok((counts[429] ?? 0) >= 6, `most are refused: ${JSON.stringify(counts)}`);
      for (const o of outcomes) if (o.status === 429) assert.equal(o.retryAfter, '1');
    });
  });

  test('concurrent hashing is bounded: past LOGIN_QUEUE_LENGTH waiting logins the answer is 503 with Retry-After', async () => {
    const env = { AUTH_MAX_FAILURES: '1000', LOGIN_MAX_CONCURRENT: '1', LOGIN_QUEUE_LENGTH: '2' };
    await withServer(env, async (server) => {
      const outcomes = await loginsAtOnce(server, 30, (i) => ({ username: `nobody${i}`, password: 'x' }), {
        localAddress: (i) => `127.0.1.${i + 1}`,
        sockets: 30,
      });
      const counts = tally(outcomes);
      assert.ok((counts[503] ?? 0) >= 10, `the queue overflowed: ${JSON.stringify(counts)}`);
      assert.ok((counts[401] ?? 0) >= 3, `the queue still served: ${JSON.stringify(counts)}`);
      for (const o of outcomes) if (o.status === 503) assert.match(String(o.retryAfter), /^[1-9]\d*$/);
      assert.equal((await login(server, 'user1', 'password123', '127.0.2.1')).status, 200, 'and it recovers');
    });
  });

  test('a successful login gives its attempt back: it never uses up the failure limit', async () => {
    await withServer({ AUTH_MAX_FAILURES: '3', AUTH_BLOCK_SECONDS: '60' }, async (server) => {
      const from = '127.0.0.5';
      for (let i = 0; i < 2; i += 1) assert.equal((await login(server, 'user1', 'wrong', from)).status, 401);
      for (let i = 0; i < 4; i += 1)
        assert.equal((await login(server, 'user1', 'password123', from)).status, 200);
      assert.equal((await login(server, 'user1', 'wrong', from)).status, 401);
      assert.equal(
        (await login(server, 'user1', 'password123', from)).status,
        429,
        'the third failure blocks',
      );
    });
  });
});
