import type { Broker, JoinOptions, JoinOutcome, MemberInfo } from './broker.js';
import type { PeerId, RelayableMessage, ServerMessage } from './protocol.js';
import type { RoomId } from './room-id.js';
import type { RoomObserver } from './room-observer.js';

/** What the hub needs from its surroundings; time is passed in so tests control it. */
export interface SignalingHubDeps {
  readonly broker: Broker;
  readonly maxPeersPerRoom: number;
  readonly now: () => number;
  /** Called when the broker fails during a join, leave or relay; the hub itself never throws on it. */
  readonly onBrokerError?: (error: unknown, context: string) => void;
  /** Told of every join and leave through this instance (webhooks). */
  readonly observer?: RoomObserver;
  /**
   * Called once for each message the hub accepted for relay, before it is published; must not throw
   * and should only count (it runs on the hot path).
   */
  readonly onRelay?: (
    roomId: RoomId,
    from: PeerId,
    to: PeerId | undefined,
    type: RelayableMessage['type'],
  ) => void;
}

/**
 * How `join` admits a peer: by default a fresh join under the room cap (`maxPeers`, default
 * `maxPeersPerRoom`; `createMaxPeers` for a room it creates), announced to the room.
 */
export interface HubJoinOptions extends JoinOptions {
  readonly maxPeers?: number;
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

/** Result of `SignalingHub.join`; `refused` only comes from a custom `admit`. */
export type JoinResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'room_full' | 'id_taken' | 'unavailable' | 'refused' };
