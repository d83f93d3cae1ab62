import type { JoinOutcome, MemberInfo } from './broker.js';
import type { ServerMessage } from './protocol.js';

/** Result of `SignalingHub.join`; `refused` only comes from a custom `admit`. */
export type JoinResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'room_full' | 'unavailable' | 'refused' };

/** How `join` admits a peer: by default a fresh join under the room cap, announced to the room. */
export interface JoinOptions {
  /** Admits the member instead of `broker.join` (a resume claims its session). */
  readonly admit?: (
    member: MemberInfo,
  ) => Promise<JoinOutcome | { readonly ok: false; readonly reason: 'refused' }>;
  /**
   * False for a peer the room already has (a resume): no `peer_joined`, and the peer is listed
   * before admission so it sees every event from then on (it decides itself what it already has).
   */
  readonly announce?: boolean;
  /** Runs after admission, before `joined` is sent (records the session); a failure rolls the join back. */
  readonly admitted?: (member: MemberInfo) => Promise<void>;
  /** Fields added to `joined`, read once admission succeeded. */
  readonly extras?: () => Partial<Extract<ServerMessage, { type: 'joined' }>>;
}
