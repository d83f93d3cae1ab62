import type { Broker, JoinOptions } from './broker.js';
import type { PeerId, RelayableMessage } from './protocol.js';
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

/** How one join is bounded: the room cap to apply (default `maxPeersPerRoom`) and the broker's options. */
export interface HubJoinOptions extends JoinOptions {
  readonly maxPeers?: number;
}

/** Result of `SignalingHub.join`. */
export type JoinResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'room_full' | 'id_taken' | 'unavailable' };
