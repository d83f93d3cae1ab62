import { setFlagsFromString } from 'node:v8';

/**
 * V8 heap policy of the server process. Applied when this module is evaluated: main.ts imports it
 * first, so the flags hold before any other module allocates. Idempotent.
 *
 * 1. No allocation-site pretenuring. V8 decides once, from a few scavenges, that everything allocated
 * at one code location is long-lived, and from then on allocates it in the old generation, for good
 * (old-space objects carry no feedback that could undo the decision). A burst of joins followed by the
 * first messages made it decide so for the one array ws's Receiver allocates per message
 * (`_fragments` in `dataMessage`). Each such array dies within one message, but dead old-space
 * objects keep what they point to alive through every scavenge until the next full GC: ~900 KB of
 * message buffers per scavenge were promoted (promotion rate 99.9 % vs 0 %), the old generation grew
 * ~2 MB/s at 5,000 msgs/s, and incremental marking ran without pause with steps of 11-16 ms: the p99
 * of 13-19 ms. Whether the decision fell depended on allocation history (LOG_LEVEL=info tipped it
 * with 1,000 peers, warn with 2,000), so the only robust fix is not to let V8 make it. (The same
 * arrays also reach the old generation by age, when a connection's next message is slow to come;
 * transport/websocket/received-fragments.ts empties them, so that path keeps nothing alive either.)
 *
 * 2. A young generation that does not grow past V8's initial size (8 MB of new space in the idle
 * process; only `node --max-semi-space-size=1` at start makes it smaller, a flag cannot once the heap
 * exists, and in a quick A/B that cost p99 latency). Without
 * pretenuring, long-lived objects (modules while loading, connections while joining) are copied in
 * the young generation before promotion, and V8 read that survival as a reason to grow it to its
 * maximum (2 x 16 MB) and keep it there: ~11 MB of the idle process's RSS and about a third of the
 * RSS per idle connection (bench/README.md). Short-lived relay garbage needs no more than 1 MB.
 */
export function applyGcPolicy(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
  setFlagsFromString('--semi-space-growth-factor=1');
}

applyGcPolicy();
