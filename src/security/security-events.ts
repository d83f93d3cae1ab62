import type { Logger } from 'pino';

/** Every kind of refusal the server logs and counts. */
export type SecurityEventKind =
  | 'auth_failed'
  | 'ip_blocked'
  | 'ip_unblocked'
  | 'rate_limited'
  | 'connection_cap'
  | 'origin_rejected'
  | 'room_full'
  | 'invalid_message'
  | 'invalid_room'
  | 'message_too_large'
  | 'slow_consumer'
  /** A join refused by the token's `rooms`/`scope` or by the join hook (4403). */
  | 'join_refused'
  /** An Admin API action (kick, close, message, metadata, revoke), with the acting user. */
  | 'admin_action';

/** Context of one event; never a token or a password. */
export interface SecurityEventFields {
  readonly ip?: string;
  readonly user?: string | null;
  readonly room?: string;
  readonly peer?: string;
  readonly reason?: string;
}

/**
 * One structured log line per refusal (`event`, ip, user, room) and a counter per kind, which the
 * diagnostics read (`AppDiagnostics.securityEvents`). Callers must not pass secrets; fields are
 * whitelisted here as well.
 */
export class SecurityEvents {
  readonly #log: Logger;
  readonly #counts = new Map<SecurityEventKind, number>();

  constructor(log: Logger) {
    this.#log = log;
  }

  emit(kind: SecurityEventKind, fields: SecurityEventFields = {}): void {
    this.#counts.set(kind, (this.#counts.get(kind) ?? 0) + 1);
    const { ip, user, room, peer, reason } = fields;
    this.#log.warn(
      { security_event: kind, ip, user: user ?? undefined, room, peer, reason },
      `security: ${kind}`,
    );
  }

  /** Counts since start, by kind. */
  counts(): ReadonlyMap<SecurityEventKind, number> {
    return this.#counts;
  }
}
