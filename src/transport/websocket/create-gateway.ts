import type { Logger } from 'pino';
import type { AccessVerifier } from '../../auth/access.js';
import type { Config } from '../../config/config.js';
import type { JoinGate } from '../../integration/join-gate.js';
import type { AuthGuard } from '../../security/auth-guard.js';
import type { ClientAddressResolver } from '../../security/client-address.js';
import type { HostCheck } from '../../security/host-check.js';
import type { LimitStores } from '../../security/limit-stores.js';
import type { OriginPolicy } from '../../security/origin-policy.js';
import type { SecurityEvents } from '../../security/security-events.js';
import type { PeerSessions } from '../../signaling/peer-sessions.js';
import type { SignalingHub } from '../../signaling/signaling-hub.js';
import { compatDialects } from './compat-dialects.js';
import { ConnectionAuth } from './connection-auth.js';
import { LivenessMonitor } from './liveness-monitor.js';
import { MessageAdmission } from './message-admission.js';
import { SignalingDialect } from './signaling-dialect.js';
import type { TrafficCounters } from './traffic-counters.js';
import { UpgradeAdmission } from './upgrade-admission.js';
import { WebSocketGateway } from './websocket-gateway.js';

/** What the gateway's parts are made of; all shared with the HTTP side. */
export interface GatewayParts {
  readonly hub: SignalingHub;
  readonly access: AccessVerifier;
  readonly guard: AuthGuard;
  readonly addresses: ClientAddressResolver;
  readonly origins: OriginPolicy;
  readonly hosts: HostCheck;
  readonly limits: LimitStores;
  readonly events: SecurityEvents;
  readonly log: Logger;
  readonly now: () => number;
  readonly randomId: () => string;
  readonly traffic?: TrafficCounters;
  /** Token room limits and the backend's join hook, asked before each native join. */
  readonly gate?: JoinGate;
  /** Resume: sessions that outlive their connections; without it every join is fresh. */
  readonly sessions?: PeerSessions;
}

/**
 * The WebSocket gateway with its jobs (upgrade admission, connection auth, message admission,
 * liveness) and every dialect the configuration enables: the contract's own on `/ws/`, then PeerJS
 * and y-webrtc. Not yet attached to a server.
 */
export function createWebSocketGateway(config: Config, parts: GatewayParts): WebSocketGateway {
  const { hub, events, log, now, randomId } = parts;
  const auth = new ConnectionAuth({
    requireAuth: config.requireAuth,
    access: parts.access,
    guard: parts.guard,
    now,
  });
  return new WebSocketGateway({
    config,
    secure: config.requireHttps,
    dialects: [
      new SignalingDialect({
        ...{ hub, auth, events, log, randomId },
        ...(parts.gate ? { gate: parts.gate } : {}),
        ...(parts.sessions ? { sessions: parts.sessions } : {}),
      }),
      ...compatDialects(config, { hub, events, log, randomId }),
    ],
    admission: new UpgradeAdmission({
      addresses: parts.addresses,
      guard: parts.guard,
      connections: parts.limits.connections,
      events,
    }),
    auth,
    messages: new MessageAdmission({ ...parts.limits, events, now }),
    liveness: new LivenessMonitor({ timeoutSeconds: config.websocketTimeout, log, now }),
    origins: parts.origins,
    hosts: parts.hosts,
    events,
    log,
    now,
    ...(parts.traffic ? { traffic: parts.traffic } : {}),
  });
}
