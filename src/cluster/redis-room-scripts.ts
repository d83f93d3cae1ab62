import type { Result } from 'ioredis';
import type { RedisCommands } from './redis-link.js';

/**
 * The Lua scripts that change room membership in Redis. Each touches only the keys of one room,
 * which share a hash tag (`{roomId}`), so each runs atomically on one Redis or one Cluster shard and
 * the room cap holds across the fleet however many instances join at once.
 */

// KEYS[1] members hash, KEYS[2] meta hash; ARGV: peerId, member JSON, max, now, cap of a new room
// (0: none) → false when full, else {1 when the room was created, created_at, member JSONs, the
// room's own cap or '', metadata or ''}. A room's own cap (a token's max_peers) binds later joins.
export const JOIN_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'taken' end
local count = redis.call('HLEN', KEYS[1])
local cap = tonumber(ARGV[3])
local own = tonumber(redis.call('HGET', KEYS[2], 'max_peers') or '0')
if count > 0 and own > 0 and own < cap then cap = own end
if count >= cap then return false end
local created = 0
if count == 0 then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[4])
  redis.call('HDEL', KEYS[2], 'max_peers')
  if tonumber(ARGV[5]) > 0 then redis.call('HSET', KEYS[2], 'max_peers', ARGV[5]) end
  redis.call('PERSIST', KEYS[2])
  created = 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local meta = redis.call('HMGET', KEYS[2], 'created_at', 'max_peers', 'metadata')
return {created, meta[1], redis.call('HVALS', KEYS[1]), meta[2] or '', meta[3] or ''}
`;

// KEYS as for join; ARGV: metadata, seconds to keep it while the room has no members → 1
export const METADATA_SCRIPT = `
redis.call('HSET', KEYS[2], 'metadata', ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
`;

// KEYS as for join; ARGV: peerId → {1 when the member was there, 1 when the room is now empty,
// the removed member's JSON or ''}
export const LEAVE_SCRIPT = `
local member = redis.call('HGET', KEYS[1], ARGV[1]) or ''
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {removed, 1, member}
end
return {removed, 0, member}
`;

// KEYS as for join; ARGV: instance id, now, then peerId, member JSON pairs: the members this
// instance really holds in the room. Drops the instance's other members, adds the missing ones
// (whatever the cap: they are connected). → {removed peer ids, added peer ids, 1 when the room
// started, 1 when it finished}
export const RECONCILE_SCRIPT = `
local before = redis.call('HLEN', KEYS[1])
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
local after = redis.call('HLEN', KEYS[1])
if after == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
elseif redis.call('HEXISTS', KEYS[2], 'created_at') == 0 then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[2])
  redis.call('PERSIST', KEYS[2])
end
local started = 0
local finished = 0
if before == 0 and after > 0 then started = 1 end
if before > 0 and after == 0 then finished = 1 end
return {removed, added, started, finished}
`;

/** Defines the room scripts as commands (`signalingJoin`, …) on `redis`. */
export function defineRoomScripts(redis: RedisCommands): void {
  redis.defineCommand('signalingJoin', { numberOfKeys: 2, lua: JOIN_SCRIPT });
  redis.defineCommand('signalingLeave', { numberOfKeys: 2, lua: LEAVE_SCRIPT });
  redis.defineCommand('signalingReconcile', { numberOfKeys: 2, lua: RECONCILE_SCRIPT });
  redis.defineCommand('signalingMetadata', { numberOfKeys: 2, lua: METADATA_SCRIPT });
}

declare module 'ioredis' {
  // ioredis' documented way to type commands added with `defineCommand`.
  interface RedisCommander<Context> {
    /** JOIN_SCRIPT: [created, created_at, member JSONs, own cap, metadata], null when full, 'taken' for a known id. */
    signalingJoin(
      membersKey: string,
      metaKey: string,
      peerId: string,
      memberJson: string,
      maxPeers: number,
      now: number,
      createMaxPeers: number,
    ): Result<[number, string, string[], string, string] | null | 'taken', Context>;
    /** LEAVE_SCRIPT: [removed, emptied, member JSON]. */
    signalingLeave(
      membersKey: string,
      metaKey: string,
      peerId: string,
    ): Result<[number, number, string], Context>;
    /** METADATA_SCRIPT. */
    signalingMetadata(
      membersKey: string,
      metaKey: string,
      metadata: string,
      ttl: number,
    ): Result<number, Context>;
    /** RECONCILE_SCRIPT: [removed peer ids, added peer ids, started, finished]. */
    signalingReconcile(
      membersKey: string,
      metaKey: string,
      instanceId: string,
      now: number,
      ...pairs: string[]
    ): Result<[string[], string[], number, number], Context>;
  }
}
