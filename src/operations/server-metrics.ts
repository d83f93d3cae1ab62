import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SecurityEventKind, SecurityEvents } from '../security/security-events.js';
import type { Broker } from '../signaling/broker.js';
import { CloseCode } from '../signaling/errors.js';
import type { TrafficCounters } from '../transport/websocket/traffic-counters.js';
import type { BrokerObserver } from './instrumented-broker.js';
import type { NegotiationTracker } from './negotiation-tracker.js';

/** Relayed messages by type, counted by the hub's `onRelay` with plain increments. */
export interface RelayCounts {
  offer: number;
  answer: number;
  ice_candidate: number;
}

/** What the metrics read at scrape time; every figure is this instance's own. */
export interface MetricSources {
  readonly connections: () => number;
  readonly peers: () => number;
  readonly rooms: () => number;
  readonly traffic: TrafficCounters;
  readonly relayed: RelayCounts;
  readonly events: SecurityEvents;
  readonly activeBlocks: () => number;
  readonly negotiations: NegotiationTracker;
  readonly broker: Pick<Broker, 'kind' | 'isHealthy'>;
  readonly draining: () => boolean;
}

/** Outcomes of `POST /auth/login`, from its answer's status. */
export type LoginOutcome = 'success' | 'invalid_credentials' | 'blocked' | 'malformed';

const SECURITY_EVENT_KINDS: readonly SecurityEventKind[] = [
  'auth_failed',
  'ip_blocked',
  'rate_limited',
  'connection_cap',
  'origin_rejected',
  'room_full',
  'invalid_message',
  'invalid_room',
  'message_too_large',
  'slow_consumer',
  'join_refused',
];
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const NEGOTIATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
const ROOM_SIZE_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 16, 32, 64, 128];
const HASH_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Whether prom-client's listener for the primary's metric requests is installed in this worker. */
let answeringPrimary = false;

/**
 * This instance's Prometheus metrics (prom-client, text format). Hot-path figures are plain integers
 * kept by their owners and copied into the registry only when it is scraped (`collect`); histograms
 * are observed where the event is rare (an answer, a join, a login, a sampled publish). In a fleet
 * each instance exports its own figures: sum them across instances in queries.
 */
export class ServerMetrics implements BrokerObserver {
  readonly registry = new Registry();
  #sources: MetricSources | null = null;
  readonly #offerAnswer: Histogram;
  readonly #roomPeers: Histogram;
  readonly #brokerCommands: Histogram<'operation' | 'result'>;
  readonly #brokerPublish: Histogram;
  readonly #passwordChecks: Histogram;
  readonly #logins: Counter<'outcome'>;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    if (cluster.isWorker) {
      // A `WORKERS` worker: the primary asks every worker for this registry and serves them all,
      // one series per worker.
      this.registry.setDefaultLabels({ worker: String(cluster.worker?.id ?? process.pid) });
      AggregatorRegistry.setRegistries([this.registry]);
      // Constructing one installs the worker's answer to the primary's requests (prom-client does
      // it nowhere else).
      if (!answeringPrimary) {
        new AggregatorRegistry();
        answeringPrimary = true;
      }
    }
    const sources = () => this.#sources;
    const gauge = (name: string, help: string, read: (s: MetricSources) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = sources();
          if (s) this.set(read(s));
        },
      });
    const counter = (name: string, help: string, read: (s: MetricSources) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const s = sources();
          if (!s) return;
          this.reset();
          this.inc(read(s));
        },
      });

    gauge('signaling_connections', 'Open WebSocket connections on this instance.', (s) => s.connections());
    gauge('signaling_peers', 'Peers joined to a room through this instance.', (s) => s.peers());
    gauge('signaling_rooms', 'Rooms with at least one peer on this instance.', (s) => s.rooms());
    gauge('signaling_draining', '1 while this instance drains (SIGTERM), else 0.', (s) =>
      s.draining() ? 1 : 0,
    );
    gauge(
      'signaling_ip_blocks_active',
      'Client addresses this instance blocked that are still blocked.',
      (s) => s.activeBlocks(),
    );
    counter(
      'signaling_received_messages_total',
      'WebSocket messages received from clients.',
      (s) => s.traffic.messagesIn,
    );
    counter(
      'signaling_received_bytes_total',
      'Payload bytes of messages received from clients.',
      (s) => s.traffic.bytesIn,
    );
    counter(
      'signaling_sent_messages_total',
      'WebSocket messages sent to clients.',
      (s) => s.traffic.messagesOut,
    );
    counter(
      'signaling_sent_bytes_total',
      'Payload bytes of messages sent to clients.',
      (s) => s.traffic.bytesOut,
    );
    counter(
      'signaling_auth_failures_total',
      'Failed logins and token checks.',
      (s) => s.events.counts().get('auth_failed') ?? 0,
    );
    counter('signaling_joins_total', 'Room joins through this instance.', (s) => s.negotiations.joins);
    counter(
      'signaling_joins_unnegotiated_total',
      'Joins through this instance that left without completing an offer/answer negotiation.',
      (s) => s.negotiations.joinsWithoutNegotiation,
    );
    new Counter({
      name: 'signaling_messages_relayed_total',
      help: 'Messages accepted for relay from peers on this instance, by type.',
      labelNames: ['type'],
      registers,
      collect() {
        const s = sources();
        if (!s) return;
        this.reset();
        for (const type of ['offer', 'answer', 'ice_candidate'] as const) this.inc({ type }, s.relayed[type]);
      },
    });
    new Counter({
      name: 'signaling_refusals_total',
      help: 'Refusals by reason (every security event kind).',
      labelNames: ['reason'],
      registers,
      collect() {
        const s = sources();
        if (!s) return;
        this.reset();
        const counts = s.events.counts();
        for (const reason of SECURITY_EVENT_KINDS) this.inc({ reason }, counts.get(reason) ?? 0);
      },
    });
    new Counter({
      name: 'signaling_close_codes_total',
      help: 'WebSocket close frames the server sent, by close code.',
      labelNames: ['code'],
      registers,
      collect() {
        const s = sources();
        if (!s) return;
        this.reset();
        // Every catalogued code is exported from the start (at 0), so rate() works before its first use.
        for (const code of Object.values(CloseCode)) this.inc({ code: String(code) }, 0);
        for (const [code, count] of s.traffic.closeCodes) this.inc({ code: String(code) }, count);
      },
    });
    new Gauge({
      name: 'signaling_broker_up',
      help: '1 when the broker (memory or Redis) answers, else 0.',
      labelNames: ['kind'],
      registers,
      async collect() {
        const s = sources();
        if (!s) return;
        this.reset();
        this.set({ kind: s.broker.kind }, (await s.broker.isHealthy().catch(() => false)) ? 1 : 0);
      },
    });
    this.#offerAnswer = new Histogram({
      name: 'signaling_offer_answer_seconds',
      help: 'Time from an offer to the answer that follows it between the same two peers (offerer’s instance).',
      buckets: NEGOTIATION_BUCKETS,
      registers,
    });
    this.#roomPeers = new Histogram({
      name: 'signaling_room_peers',
      help: 'Peers in the room, across the fleet, right after each join through this instance.',
      buckets: ROOM_SIZE_BUCKETS,
      registers,
    });
    this.#brokerCommands = new Histogram({
      name: 'signaling_broker_command_seconds',
      help: 'Broker (Redis or memory) command latency by operation and result.',
      labelNames: ['operation', 'result'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    for (const operation of ['join', 'leave', 'rooms', 'room', 'health'])
      this.#brokerCommands.zero({ operation, result: 'ok' });
    this.#brokerPublish = new Histogram({
      name: 'signaling_broker_publish_seconds',
      help: 'Redis publish latency of relayed messages (one publish in eight is timed).',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#passwordChecks = new Histogram({
      name: 'signaling_password_check_seconds',
      help: 'Time one login spent in argon2 password verification.',
      buckets: HASH_BUCKETS,
      registers,
    });
    this.#logins = new Counter({
      name: 'signaling_logins_total',
      help: 'POST /auth/login answers by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['success', 'invalid_credentials', 'blocked', 'malformed'] as const)
      this.#logins.inc({ outcome }, 0);
  }

  /** Where the gauges and counters read from; set once the parts they read exist. */
  watch(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** The Prometheus text exposition of every metric, and its content type. */
  async render(): Promise<{ readonly body: string; readonly contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  /** An offer was answered after `seconds`. */
  offerAnswered(seconds: number): void {
    this.#offerAnswer.observe(seconds);
  }

  /** One login outcome. */
  login(outcome: LoginOutcome): void {
    this.#logins.inc({ outcome });
  }

  /** One password verification took `seconds`. */
  passwordChecked(seconds: number): void {
    this.#passwordChecks.observe(seconds);
  }

  command(operation: string, seconds: number, ok: boolean): void {
    this.#brokerCommands.observe({ operation, result: ok ? 'ok' : 'error' }, seconds);
  }

  publish(seconds: number): void {
    this.#brokerPublish.observe(seconds);
  }

  joined(roomSize: number): void {
    this.#roomPeers.observe(roomSize);
  }
}
