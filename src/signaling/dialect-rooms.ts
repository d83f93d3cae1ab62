import type { RoomId } from './room-id.js';

/**
 * Rooms of the other wire formats live in the same hub and broker as ours, under a namespace of
 * their own: `peerjs:<key>` for a PeerJS key, `y-webrtc:<topic>` for a y-webrtc topic. The colon
 * keeps them out of reach of native clients and the room API, whose room ids (`parseRoomId`) never
 * contain one, so no client of one dialect can join or read a room of another.
 */
export type DialectNamespace = 'peerjs' | 'y-webrtc';

/** The internal room of `name` (a PeerJS key, a y-webrtc topic) in `namespace`. */
export function dialectRoomId(namespace: DialectNamespace, name: string): RoomId {
  return `${namespace}:${name}` as RoomId;
}
