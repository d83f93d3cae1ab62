/** Room ids: 1 to 64 of `A-Z a-z 0-9 _ - .`, and not `.` or `..` (CONTRACT.md). */
export type RoomId = string & { readonly __brand: 'RoomId' };

/** The characters and length a room id may have (`.` and `..` are refused besides). */
export const ROOM_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Returns the room id if `candidate` (already percent-decoded) is valid, otherwise null. */
export function parseRoomId(candidate: string): RoomId | null {
  if (!ROOM_ID_PATTERN.test(candidate) || candidate === '.' || candidate === '..') return null;
  return candidate as RoomId;
}
