import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from '../helpers/server.js';

describe('HTTP errors', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ LOG_LEVEL: 'silent' });
  });
  after(() => server.stop());

  for (const [method, url, allow] of [
    ['DELETE', '/auth/login', 'POST'],
    ['POST', '/health', 'GET, HEAD'],
    ['PUT', '/api/rooms/demo/info', 'GET, HEAD, POST'],
    ['POST', '/examples/simple_client.html', 'GET, HEAD'],
  ] as const) {
    test(`${method} ${url} answers 405 with Allow: ${allow} and a JSON detail`, async () => {
      const res = await server.app.http.inject({ method, url });
      assert.equal(res.statusCode, 405, res.body);
      assert.equal(res.headers.allow, allow);
      assert.match(res.json<{ detail: string }>().detail, new RegExp(`${method} is not allowed`));
    });
  }

  test('an unknown path is still 404, whatever the method', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const res = await server.app.http.inject({ method, url: '/no/such/route' });
      assert.equal(res.statusCode, 404);
      assert.equal(res.headers.allow, undefined);
      assert.match(res.json<{ detail: string }>().detail, /no route/);
    }
  });
});
