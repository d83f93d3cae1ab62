import { mayJoin, roomAllowed } from '../auth/token-limits.js';
import type { AccessClaims } from '../auth/tokens.js';
import type { SecurityEvents } from '../security/security-events.js';
import type { JoinOptions } from '../signaling/broker.js';
import { CloseCode } from '../signaling/errors.js';
import type { RoomId } from '../signaling/room-id.js';
import type { JoinHook } from './join-hook.js';

/** Who is asking to join, as the transport knows them. */
export interface JoinCandidate {
  readonly username: string | null;
  readonly claims: AccessClaims | null;
  readonly client: { readonly ip: string };
}

/** The gate's answer: join with these options, or close with `code` and `reason`. */
export type JoinAdmission =
  | { readonly ok: true; readonly options: JoinOptions }
  | { readonly ok: false; readonly code: CloseCode; readonly reason: string };

const OPEN: JoinAdmission = { ok: true, options: {} };

/**
 * The application's say over joins, for every dialect, after the token check and before the hub:
 * the token's own limits (`scope` without `join`, a room outside `rooms`: 4403), then the join hook
 * when one is configured (403 or a closed failure: 4403 with its reason). Refusals are security
 * events (`join_refused`). A token's `max_peers` becomes the cap of a room its bearer creates.
 */
export class JoinGate {
  readonly #hook: JoinHook | null;
  readonly #events: SecurityEvents;

  constructor(hook: JoinHook | null, events: SecurityEvents) {
    this.#hook = hook;
    this.#events = events;
  }

  async admit(candidate: JoinCandidate, roomId: RoomId, peerId: string): Promise<JoinAdmission> {
    const limits = candidate.claims?.limits;
    if (!mayJoin(limits)) return this.#refuse(candidate, roomId, 'token does not allow joining rooms');
    if (!roomAllowed(limits?.rooms ?? null, roomId))
      return this.#refuse(candidate, roomId, 'token does not allow this room');
    if (this.#hook !== null) {
      const verdict = await this.#hook.check({
        room_id: roomId,
        username: candidate.username,
        peer_id: peerId,
        client_ip: candidate.client.ip,
        claims: candidate.claims ? publicClaims(candidate.claims) : null,
      });
      if (verdict.outcome === 'refused' || verdict.outcome === 'failed_closed')
        return this.#refuse(candidate, roomId, verdict.reason);
    }
    const maxPeers = limits?.maxPeers ?? null;
    return maxPeers === null ? OPEN : { ok: true, options: { createMaxPeers: maxPeers } };
  }

  #refuse(candidate: JoinCandidate, roomId: RoomId, reason: string): JoinAdmission {
    this.#events.emit('join_refused', {
      ip: candidate.client.ip,
      user: candidate.username,
      room: roomId,
      reason,
    });
    return { ok: false, code: CloseCode.OriginRejected, reason };
  }
}

/** The claims as the token carried them (wire names), for the join hook. */
function publicClaims(claims: AccessClaims): Record<string, unknown> {
  const { limits, ...rest } = claims;
  return {
    ...rest,
    ...(limits?.scope ? { scope: limits.scope.join(' ') } : {}),
    ...(limits?.rooms ? { rooms: limits.rooms } : {}),
    ...(limits?.maxPeers ? { max_peers: limits.maxPeers } : {}),
  };
}
