import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { scrape } from '../helpers/metrics.js';
import { withServer } from '../helpers/server.js';

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { query?: string | { query: string } }[] };
}

/** Metric names in a PromQL expression (every metric the server exports has one of these prefixes). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:signaling|nodejs|process)_[a-z0-9_]+/g)].map((m) => m[0]);
}

test('every query of docs/grafana-dashboard.json names a metric the server exports', async () => {
  const dashboard = JSON.parse(await readFile('docs/grafana-dashboard.json', 'utf8')) as Dashboard;
  await withServer({}, async (server) => {
    const exported = new Set([...(await scrape(`${server.url}/metrics`)).keys()].map((s) => s.split('{')[0]));
    const queries = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: p.title, expr: t.expr }))),
      ...dashboard.templating.list.flatMap((v) =>
        typeof v.query === 'object' ? [{ where: 'variable', expr: v.query.query }] : [],
      ),
    ];
    assert.ok(queries.length >= 20, `${queries.length} queries`);
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: ${expr} names no metric`);
      for (const name of names) assert.ok(exported.has(name), `${where}: ${name} is not exported`);
    }
  });
});
