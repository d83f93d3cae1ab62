import type { RoomSnapshot, RoomSummary } from '../signaling/broker.js';

// Reads of rooms and the token deny list, as the RedisBroker answers them.

import type { RoomId } from '../signaling/room-id.js';
import type { RedisCommands } from './redis-link.js';
import { parseMember, roomExtras } from './redis-room-records.js';

/** A room's members hash and meta hash keys. */
export type RoomKeys = readonly [membersKey: string, metaKey: string];

/** Every active room of the fleet (the set at `roomsKey`) with its member count and start time. */
export async function readRooms(
  redis: RedisCommands,
  roomsKey: string,
  keysOf: (roomId: RoomId) => RoomKeys,
): Promise<readonly RoomSummary[]> {
  const ids = (await redis.smembers(roomsKey)) as RoomId[];
  const summaries = await Promise.all(
    ids.map(async (roomId) => {
      const [members, meta] = keysOf(roomId);
      const [count, createdAt] = await Promise.all([redis.hlen(members), redis.hget(meta, 'created_at')]);
      return { roomId, peerCount: count, createdAt: Number(createdAt ?? 0) };
    }),
  );
  return summaries.filter((s) => s.peerCount > 0);
}

/** One room as it is now, or null when it has no members. */
export async function readRoom(
  redis: RedisCommands,
  roomId: RoomId,
  [membersKey, metaKey]: RoomKeys,
): Promise<RoomSnapshot | null> {
  const [members, [createdAt, cap, metadata]] = await Promise.all([
    redis.hvals(membersKey),
    redis.hmget(metaKey, 'created_at', 'max_peers', 'metadata'),
  ]);
  if (members.length === 0) return null;
  const extras = roomExtras(cap ?? '', metadata ?? '');
  return { ...extras, roomId, createdAt: Number(createdAt ?? 0), members: members.map(parseMember) };
}

/** Puts a token id on the fleet's deny list (the key `deniedKey`) for `ttlMs`; nothing when expired. */
export async function denyToken(redis: RedisCommands, deniedKey: string, ttlMs: number): Promise<void> {
  if (ttlMs > 0) await redis.set(deniedKey, '1', 'PX', Math.ceil(ttlMs));
}

/** True while the token id's deny-list key exists. */
export async function isTokenDenied(redis: RedisCommands, deniedKey: string): Promise<boolean> {
  return (await redis.exists(deniedKey)) === 1;
}
