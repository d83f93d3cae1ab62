import type { MemberInfo } from './broker.js';
import { CloseCode } from './errors.js';
import type { RoomId } from './room-id.js';

/**
 * Why a peer left its room: `left` (it closed normally), `dropped` (the connection broke, or its
 * instance died), `kicked` (the Admin API removed it or closed the room), `timeout` (no sign of life
 * for `WEBSOCKET_TIMEOUT`).
 */
export type LeaveReason = 'left' | 'dropped' | 'kicked' | 'timeout';

/**
 * Told of each peer that joins or leaves through this instance, once, after the fact. Callbacks must
 * not throw and must not block: they run on the join and leave paths (webhooks only enqueue).
 */
export interface RoomObserver {
  peerJoined(roomId: RoomId, member: MemberInfo): void;
  peerLeft(roomId: RoomId, member: MemberInfo, reason: LeaveReason): void;
}

/** The leave reason of a connection closed with `code`, or that the liveness monitor timed out. */
export function leaveReasonOf(code: number, timedOut: boolean): LeaveReason {
  if (timedOut) return 'timeout';
  if (code === CloseCode.Kicked) return 'kicked';
  // 1000 normal, 1001 going away (a page closed, or the server draining), 1005 no code given.
  return code === 1000 || code === 1001 || code === 1005 ? 'left' : 'dropped';
}
