import type { MemberInfo } from './broker.js';
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
