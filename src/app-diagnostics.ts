import { limitKey } from './security/client-address.js';
import type { LimitStores } from './security/limit-stores.js';
import type { LocalLimitStores } from './security/local-limit-stores.js';
import type { SecurityEventKind, SecurityEvents } from './security/security-events.js';
import type { SignalingHub } from './signaling/signaling-hub.js';
import type { WebSocketGateway } from './transport/websocket/websocket-gateway.js';

/** Entries in this instance's in-process limit tables. */
export interface TrackedLimitEntries {
  readonly connectionCaps: number;
  readonly ipRates: number;
  readonly userRates: number;
  readonly authFailureIps: number;
  readonly authFailureUsernames: number;
}

/**
 * A narrow, read-only view of a running instance: what tests and operators may observe without
 * reaching into its parts. Per-client figures come from the limit stores in force (Redis in a fleet).
 */
export class AppDiagnostics {
  readonly #gateway: WebSocketGateway;
  readonly #hub: SignalingHub;
  readonly #events: SecurityEvents;
  readonly #limits: LimitStores;
  readonly #local: LocalLimitStores;

  constructor(parts: {
    gateway: WebSocketGateway;
    hub: SignalingHub;
    events: SecurityEvents;
    limits: LimitStores;
    local: LocalLimitStores;
  }) {
    this.#gateway = parts.gateway;
    this.#hub = parts.hub;
    this.#events = parts.events;
    this.#limits = parts.limits;
    this.#local = parts.local;
  }

  /** Open WebSocket connections, joined or still being checked. */
  get connections(): number {
    return this.#gateway.connectionCount;
  }

  /** Peers joined through this instance. */
  get localPeers(): number {
    return this.#hub.localPeerCount;
  }

  /** Rooms with at least one peer on this instance. */
  get localRooms(): number {
    return this.#hub.localRoomCount;
  }

  /** Security events of `kind` since start. */
  securityEvents(kind: SecurityEventKind): number {
    return this.#events.counts().get(kind) ?? 0;
  }

  /** Open connections counted against the client address `ip` (its /64 for IPv6). */
  async connectionsOf(ip: string): Promise<number> {
    return this.#limits.connections.count(limitKey(ip));
  }

  /** True while `ip` is blocked after repeated authentication failures. */
  async isBlocked(ip: string): Promise<boolean> {
    return !(await this.#limits.authFailures.checkIp(limitKey(ip))).allowed;
  }

  /** Sweeps this instance's limit tables, then counts what is left: idle clients leave nothing. */
  trackedLimitEntries(): TrackedLimitEntries {
    const local = this.#local;
    local.sweep();
    return {
      connectionCaps: local.connections.size,
      ipRates: local.ipRate.size,
      userRates: local.userRate.size,
      authFailureIps: local.authFailures.trackedIps,
      authFailureUsernames: local.authFailures.trackedUsernames,
    };
  }
}
