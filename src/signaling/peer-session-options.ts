import type { Broker, JoinOptions } from './broker.js';
import type { Peer } from './peer.js';
import type { PeerId } from './protocol.js';
import type { RelayArena } from './relay-arena.js';
import type { IceGrant } from './session-protocol.js';
import type { SignalingHub } from './signaling-hub.js';

/** What `PeerSessions` needs; time, ids and waiting are passed in so tests control them. */
export interface PeerSessionsDeps {
  readonly hub: SignalingHub;
  readonly broker: Pick<Broker, 'sessions' | 'publish'>;
  /** How long a dropped peer stays resumable (`RESUME_GRACE_SECONDS`); 0 turns resume off. */
  readonly graceMs: number;
  /** Where delivered relays are kept for a resume (one ring for the process). */
  readonly arena?: RelayArena;
  readonly now: () => number;
  readonly randomId: () => string;
  readonly sleep: (ms: number) => Promise<void>;
  /** The ICE servers `joined` carries for this user (TURN credentials name the user). */
  readonly iceServers?: (user: string) => IceGrant;
  readonly onError?: (error: unknown, context: string) => void;
}

/** A resume as the client asks for it: `?resume=<token>&last_seq=<n>`. */
export interface ResumeRequest {
  readonly token: string;
  readonly lastSeq: number;
}

/** How a fresh join is made: the peer id to give (else a random one) and the room cap it may create. */
export interface FreshJoin extends JoinOptions {
  readonly peerId?: PeerId;
}

/** The joined peer: a `SessionPeer` when resume is on, else the connection's own `Peer`. */
export type OpenResult =
  | { readonly ok: true; readonly peer: Peer }
  | { readonly ok: false; readonly reason: 'room_full' | 'unavailable' };
