import type { MemberInfo, RoomSnapshot } from './broker.js';
import type { ResumeRefusal } from './errors.js';
import type { EncodedRelay, PeerId } from './protocol.js';
import type { RoomId } from './room-id.js';

/** How much a detached peer's buffer holds before the session ends (`RESUME_BUFFER_*`). */
export interface SessionLimits {
  readonly maxMessages: number;
  readonly maxBytes: number;
}

/** `RESUME_BUFFER_MESSAGES` and `RESUME_BUFFER_BYTES` by default. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = Object.freeze({
  maxMessages: 100,
  maxBytes: 256 * 1024,
});

/** A relay as one recipient's stream numbered it. */
export interface SequencedRelay {
  readonly seq: number;
  readonly payload: EncodedRelay;
}

/** A session as it is opened at join (or rotated at resume). */
export interface SessionRecord {
  readonly member: MemberInfo;
  /** sha256 of the current resume token; the token itself is never stored. */
  readonly tokenHash: string;
}

/** What a resuming connection presents. */
export interface SessionClaim {
  readonly tokenHash: string;
  /** The hash of the token `joined` will hand out next (rotation). */
  readonly nextTokenHash: string;
  readonly username: string | null;
  /** Accept a session whose history was never sealed (its old instance died): a gap is reported. */
  readonly force: boolean;
}

/** Result of a claim: the session's stream to replay, or why not (yet). */
export type ClaimOutcome =
  | {
      readonly ok: true;
      readonly member: MemberInfo;
      /** False when the old instance never sealed the history (it died): `history` is empty. */
      readonly sealed: boolean;
      readonly epoch: string;
      /** The last `seq` the old connection's stream assigned. */
      readonly lastSeq: number;
      /** What was delivered (or queued) to the old connection, oldest first, bounded. */
      readonly history: readonly SequencedRelay[];
      /** What was addressed to the peer while it was detached, in publish order, not yet numbered. */
      readonly away: readonly EncodedRelay[];
      readonly room: RoomSnapshot;
    }
  | {
      readonly ok: false;
      /** `attached`: the old connection is still open somewhere; `unsealed`: its history is on its way. */
      readonly reason: ResumeRefusal | 'attached' | 'unsealed';
    };

/** A session the sweep ended; its member has been removed and `left` published to the room. */
export interface EndedSession {
  readonly roomId: RoomId;
  readonly peerId: PeerId;
  readonly reason: ResumeRefusal;
}

/**
 * Where sessions outlive their connections: part of each `Broker`, because a relay published while a
 * recipient is detached must be buffered atomically with the publish (a relay is either delivered to
 * the live connection or kept for the resume, never neither, never both).
 * Life of a session: `open` (attached) → `detach` (publishes the `detached` marker; relays for the
 * peer are buffered from then on) → `seal` (the old instance hands over what it numbered before the
 * marker) → `claim` (atomically stops the buffering, rotates the token, publishes the `resumed`
 * marker, hands back the stream) or the sweep ends it (grace passed or buffer overflowed: the member
 * leaves and `left` is published). Ended sessions leave a tombstone for a while, so a late client is
 * told why. Resume works on any instance that shares the broker.
 */
export interface SessionStore {
  readonly limits: SessionLimits;
  /** Records the session of a member that just joined (or resumed). */
  open(roomId: RoomId, record: SessionRecord): Promise<void>;
  /** The peer's connection dropped: keep it a member until `deadline`, buffer what is sent to it. */
  detach(roomId: RoomId, peerId: PeerId, epoch: string, deadline: number): Promise<boolean>;
  /** Hands over the old connection's numbered history; the session is resumable from then on. */
  seal(roomId: RoomId, peerId: PeerId, history: readonly SequencedRelay[], lastSeq: number): Promise<void>;
  /** Takes the session over for a resuming connection (see `ClaimOutcome`). */
  claim(roomId: RoomId, peerId: PeerId, claim: SessionClaim): Promise<ClaimOutcome>;
  /** Forgets the session of a member that left for good. */
  close(roomId: RoomId, peerId: PeerId): Promise<void>;
  /** Ends every detached session whose grace has passed or whose buffer overflowed. */
  sweep(now: number): Promise<readonly EndedSession[]>;
}
