import type { Result } from 'ioredis';

/**
 * The Lua scripts that change room membership in Redis. Each runs atomically, so the room cap holds
 * across the fleet however many instances join at once.
 */

// KEYS[1] members hash, KEYS[2] meta hash, KEYS[3] rooms set; ARGV: peerId, member JSON, max, now, roomId
export const JOIN_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'taken' end
local count = redis.call('HLEN', KEYS[1])
if count >= tonumber(ARGV[3]) then return false end
if count == 0 then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[4])
  redis.call('SADD', KEYS[3], ARGV[5])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {redis.call('HGET', KEYS[2], 'created_at'), redis.call('HVALS', KEYS[1])}
`;

// KEYS as for join; ARGV: peerId, roomId
export const LEAVE_SCRIPT = `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[2])
end
return removed
`;

declare module 'ioredis' {
  // ioredis' documented way to type commands added with `defineCommand`.
  interface RedisCommander<Context> {
    /** JOIN_SCRIPT: [created_at, member JSONs], null when the room is full, 'taken' for a known id. */
    signalingJoin(
      membersKey: string,
      metaKey: string,
      roomsKey: string,
      peerId: string,
      memberJson: string,
      maxPeers: number,
      now: number,
      roomId: string,
    ): Result<[string, string[]] | null | 'taken', Context>;
    /** LEAVE_SCRIPT: 1 when the member was there. */
    signalingLeave(
      membersKey: string,
      metaKey: string,
      roomsKey: string,
      peerId: string,
      roomId: string,
    ): Result<number, Context>;
  }
}
