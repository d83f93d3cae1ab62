import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { BatchedLogDestination } from '../src/batched-log-destination.js';

const dir = mkdtempSync(join(tmpdir(), 'batched-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const linesOf = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg: string; n: number });

describe('BatchedLogDestination', () => {
  test('writes every line once, in order, in batches through a real sonic-boom', async () => {
    const path = join(dir, 'order.log');
    const sink = pino.destination({ dest: path, sync: false, mkdir: true });
    await new Promise<void>((resolve) => sink.once('ready', () => resolve()));
    const out = new BatchedLogDestination(sink, 1024);
    const log = pino({ base: null }, out);
    // Multi-byte text too: batching counts characters, the file must hold the exact bytes.
    for (let n = 0; n < 2000; n++) log.info({ n }, n % 7 === 0 ? 'ünïcødé ✓' : 'line');
    log.flush();
    out.flushSync();
    const lines = linesOf(path);
    assert.equal(lines.length, 2000);
    lines.forEach((line, n) => {
      assert.equal(line.n, n);
      assert.equal(line.msg, n % 7 === 0 ? 'ünïcødé ✓' : 'line');
    });
  });

  test('holds a short batch until flushed', async () => {
    const path = join(dir, 'held.log');
    const sink = pino.destination({ dest: path, sync: false, mkdir: true });
    await new Promise<void>((resolve) => sink.once('ready', () => resolve()));
    const out = new BatchedLogDestination(sink, 1 << 20);
    const log = pino({ base: null }, out);
    log.info({ n: 1 }, 'held');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(readFileSync(path, 'utf8'), '', 'a line below the batch size was written at once');
    await new Promise<void>((resolve, reject) => out.flush((err) => (err ? reject(err) : resolve())));
    out.flushSync();
    assert.deepEqual(
      linesOf(path).map((l) => l.n),
      [1],
    );
  });

  test("the server's logger writes what is batched when the process exits", () => {
    // The logger as the server builds it (JSON to stdout, not a terminal), in a child whose stdout
    // is a pipe: the lines of its last batch must still arrive although it exits at once.
    const script = `
      import { createLogger } from './src/logger.ts';
      const log = createLogger({ logLevel: 'info', debug: false }, { tty: false });
      for (let n = 0; n < 3000; n++) log.info({ n }, 'exit');
      process.exit(0);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..'),
    });
    assert.equal(child.status, 0, child.stderr);
    const lines = child.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { n: number });
    assert.equal(lines.length, 3000);
    assert.deepEqual(
      lines.map((l) => l.n),
      Array.from({ length: 3000 }, (_, n) => n),
    );
  });
});
