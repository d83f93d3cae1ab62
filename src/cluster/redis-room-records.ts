import type { MemberInfo } from '../signaling/broker.js';
import type { PeerId } from '../signaling/protocol.js';
import type { RoomId } from '../signaling/room-id.js';

/** A member as stored in Redis: who it is plus which instance holds its socket. */
export interface StoredMember extends MemberInfo {
  readonly instance: string;
}

/** An entry of an instance's member index: `roomId peerId` (room ids hold no space). */
export function indexEntry(roomId: RoomId, peerId: PeerId): string {
  return `${roomId} ${peerId}`;
}

export function splitEntry(entry: string): [RoomId, PeerId] {
  const space = entry.indexOf(' ');
  return [entry.slice(0, space) as RoomId, entry.slice(space + 1)];
}

/** A room's own cap and metadata as the scripts answer them ('' when absent). */
export function roomExtras(cap: string, metadata: string): { maxPeers?: number; metadata?: string } {
  return { ...(cap !== '' ? { maxPeers: Number(cap) } : {}), ...(metadata !== '' ? { metadata } : {}) };
}

export function parseMember(json: string): MemberInfo {
  const { peerId, username, joinedAt } = JSON.parse(json) as StoredMember;
  return { peerId, username, joinedAt };
}
