import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  openFileReport,
  parseOpenFileLimit,
  RESERVED_FILE_DESCRIPTORS,
  readOpenFileLimit,
} from '../src/open-file-limit.js';
import { spawnServer } from './helpers/server-process.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max processes             63704                63704                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('open-file limit', () => {
  test('reads the soft and hard limit from /proc/self/limits text', () => {
    assert.deepEqual(parseOpenFileLimit(LIMITS), { soft: 1024, hard: 524288 });
    assert.deepEqual(parseOpenFileLimit('Max open files   unlimited   unlimited   files'), {
      soft: null,
      hard: null,
    });
    assert.equal(parseOpenFileLimit('no such line'), null);
  });

  test('reports how many connections the limit allows', () => {
    const report = openFileReport({ soft: 20_000, hard: 20_000 }, { maxConnectionsPerIp: 5 });
    assert.equal(report.level, 'info');
    assert.equal(report.fields.connections_allowed, 20_000 - RESERVED_FILE_DESCRIPTORS);
    assert.match(report.message, /open-file limit 20000 allows about 19936 WebSocket connections/);
  });

  test('warns when one address may open more connections than the limit allows', () => {
    const report = openFileReport({ soft: 1024, hard: 524_288 }, { maxConnectionsPerIp: 5000 });
    assert.equal(report.level, 'warn');
    assert.match(report.message, /fewer than MAX_CONNECTIONS_PER_IP=5000/);
    assert.match(report.message, /ulimit -n, up to the hard limit 524288/);
  });

  test('the server logs its limit at start-up, and warns when it is too low', async (t) => {
    if (readOpenFileLimit() === null) {
      t.skip('no /proc/self/limits (not Linux)');
      return;
    }
    const dev = { REQUIRE_HTTPS: 'false', REQUIRE_AUTH: 'false', DEBUG: 'false' };
    const server = await spawnServer({ ...dev, MAX_CONNECTIONS_PER_IP: '10000000' });
    try {
      await server.ready;
      await waitFor(() => /open-file limit/.test(server.stdout()));
      const line =
        server
          .stdout()
          .split('\n')
          .find((l) => l.includes('open-file limit')) ?? '';
      const entry = JSON.parse(line) as { level: number; connections_allowed: number | null };
      // 10,000,000 from one address is more than any real limit here allows: a warning (pino 40).
      if (entry.connections_allowed !== null) assert.equal(entry.level, 40);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
