import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for this process. Idempotent; call before traffic.
 *
 * Why: V8 decides once, from a few scavenges, that everything allocated at one code location is
 * long-lived, and from then on allocates it in the old generation, for good (old-space objects carry
 * no feedback that could undo the decision). A burst of joins followed by the first messages made it
 * decide so for the one array ws's Receiver allocates per message (`_fragments` in `dataMessage`).
 * Each such array dies within one message, but dead old-space objects keep what they point to alive
 * through every scavenge until the next full GC: ~900 KB of message buffers per scavenge were promoted
 * (promotion rate 99.9 % vs 0 %), the old generation grew ~2 MB/s at 5,000 msgs/s, and incremental
 * marking ran without pause with steps of 11-16 ms: the p99 of 13-19 ms. Whether the decision fell
 * depended on allocation history (LOG_LEVEL=info tipped it with 1,000 peers, warn with 2,000), so
 * the only robust fix is not to let V8 make it. The cost is one extra copy of long-lived objects
 * (connections) in the young generation, measured in bench/README.md.
 */
export function disableAllocationSitePretenuring(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
