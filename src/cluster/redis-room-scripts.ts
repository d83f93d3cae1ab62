import type { Result } from 'ioredis';

/**
 * The Lua scripts that change room membership in Redis. Each touches only the keys of one room,
 * which share a hash tag (`{roomId}`), so each runs atomically on one Redis or one Cluster shard and
 * the room cap holds across the fleet however many instances join at once.
 */

// KEYS[1] members hash, KEYS[2] meta hash; ARGV: peerId, member JSON, max, now
// → false when full, else {1 when the room was created, created_at, member JSONs}
export const JOIN_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'taken' end
local count = redis.call('HLEN', KEYS[1])
if count >= tonumber(ARGV[3]) then return false end
local created = 0
if count == 0 then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[4])
  created = 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {created, redis.call('HGET', KEYS[2], 'created_at'), redis.call('HVALS', KEYS[1])}
`;

// KEYS as for join; ARGV: peerId → {1 when the member was there, 1 when the room is now empty}
export const LEAVE_SCRIPT = `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {removed, 1}
end
return {removed, 0}
`;

// KEYS as for join; ARGV: instance id, now, then peerId, member JSON pairs: the members this
// instance really holds in the room. Drops the instance's other members, adds the missing ones
// (whatever the cap: they are connected). → {removed peer ids, added peer ids}
export const RECONCILE_SCRIPT = `
local held = {}
for i = 3, #ARGV, 2 do held[ARGV[i]] = ARGV[i + 1] end
local removed = {}
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local ok, member = pcall(cjson.decode, fields[i + 1])
  if ok and member.instance == ARGV[1] and held[fields[i]] == nil then
    redis.call('HDEL', KEYS[1], fields[i])
    removed[#removed + 1] = fields[i]
  end
end
local added = {}
for i = 3, #ARGV, 2 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then added[#added + 1] = ARGV[i] end
end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
elseif redis.call('HEXISTS', KEYS[2], 'created_at') == 0 then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[2])
end
return {removed, added}
`;

declare module 'ioredis' {
  // ioredis' documented way to type commands added with `defineCommand`.
  interface RedisCommander<Context> {
    /** JOIN_SCRIPT: [created, created_at, member JSONs], null when the room is full, 'taken' for a known id. */
    signalingJoin(
      membersKey: string,
      metaKey: string,
      peerId: string,
      memberJson: string,
      maxPeers: number,
      now: number,
    ): Result<[number, string, string[]] | null | 'taken', Context>;
    /** LEAVE_SCRIPT: [removed, emptied]. */
    signalingLeave(membersKey: string, metaKey: string, peerId: string): Result<[number, number], Context>;
    /** RECONCILE_SCRIPT: [removed peer ids, added peer ids]. */
    signalingReconcile(
      membersKey: string,
      metaKey: string,
      instanceId: string,
      now: number,
      ...pairs: string[]
    ): Result<[string[], string[]], Context>;
  }
}
