// Preloaded into every benchmark target (`node --import ./bench/eventloop-probe.mjs ...`; bench only,
// nothing in src/ knows about it): an event-loop delay histogram (perf_hooks.monitorEventLoopDelay,
// 1 ms resolution) of the target's main thread. On SIGUSR2 it writes what it saw since the previous
// SIGUSR2 to $BENCH_ELD_DIR/<pid>.json and starts over, so the load generator can bracket exactly
// the measured part of a scenario. Stalls are what p99 latency cannot explain away: a 20 ms GC step
// shows up here as max >= 20 ms whatever the client saw.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.BENCH_ELD_DIR;
if (dir) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let since = Date.now();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  process.on('SIGUSR2', () => {
    const snapshot = {
      pid: process.pid,
      from: since,
      to: Date.now(),
      count: histogram.count,
      // The timer's own 1 ms period is included in each sample: ~1 ms means no delay at all.
      p50_ms: ms(histogram.percentile(50)),
      p99_ms: ms(histogram.percentile(99)),
      p999_ms: ms(histogram.percentile(99.9)),
      max_ms: ms(histogram.max),
    };
    histogram.reset();
    since = Date.now();
    const path = join(dir, `${process.pid}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify(snapshot));
    renameSync(`${path}.tmp`, path);
  });
}
