import type { Result } from 'ioredis';

/**
 * The Lua scripts of `RedisSessions`. Each touches the keys of one room only (they share its
 * `{roomId}` hash tag, so on a Redis Cluster they run on the room's shard) and publishes its marker
 * on the room's channel in the same step: every relay is ordered before or after a marker, never
 * across it. Keys are built from ARGV `roomKeys` (`<prefix>room:{<room>}:`) plus a suffix.
 */

const PUBLISH = `
local function publish(channel, message, sharded)
  if sharded == '1' then redis.call('SPUBLISH', channel, message) else redis.call('PUBLISH', channel, message) end
end
`;

// KEYS[1] detached set; ARGV: channel, max messages, max bytes, roomKeys, sharded, ttl ms, then
// per relay (in order) the event as published, from, to ('' for everyone) → peer ids whose buffer
// just overflowed (each once)
export const RELAY_SCRIPT = `${PUBLISH}
local overflowed = {}
local detached = {}
if redis.call('SCARD', KEYS[1]) > 0 then detached = redis.call('SMEMBERS', KEYS[1]) end
for i = 7, #ARGV, 3 do
  local event, from, to = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  for _, peer in ipairs(detached) do
    if peer ~= from and (to == '' or to == peer) then
      local s = ARGV[4] .. 'session:' .. peer
      if redis.call('HGET', s, 'overflow') == '0' then
        local away = ARGV[4] .. 'away:' .. peer
        local n = redis.call('RPUSH', away, event)
        redis.call('PEXPIRE', away, ARGV[6])
        local bytes = redis.call('HINCRBY', s, 'bytes', #event)
        if n > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3]) then
          redis.call('HSET', s, 'overflow', '1')
          redis.call('DEL', away)
          overflowed[#overflowed + 1] = peer
        end
      end
    end
  end
  publish(ARGV[1], event, ARGV[5])
end
return overflowed
`;

// KEYS[1] members, KEYS[2] detached set, KEYS[3] session; ARGV: peer, roomKeys, epoch, deadline,
// ttl ms, channel, marker JSON, sharded → 1 when detached, 0 when not a member (or not attached)
export const DETACH_SCRIPT = `${PUBLISH}
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member or redis.call('HGET', KEYS[3], 'state') ~= 'a' then return 0 end
local ok, m = pcall(cjson.decode, member)
if ok then
  m.instance = ''
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(m))
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('DEL', ARGV[2] .. 'away:' .. ARGV[1], ARGV[2] .. 'history:' .. ARGV[1])
redis.call('HSET', KEYS[3], 'state', 'd', 'epoch', ARGV[3], 'deadline', ARGV[4], 'sealed', '0',
  'overflow', '0', 'bytes', '0', 'last', '0')
redis.call('PEXPIRE', KEYS[3], ARGV[5])
publish(ARGV[6], ARGV[7], ARGV[8])
return 1
`;

// KEYS[1] session, KEYS[2] history list; ARGV: last seq, ttl ms, then [seq, payload] JSON entries
export const SEAL_SCRIPT = `
if redis.call('HGET', KEYS[1], 'state') ~= 'd' then return 0 end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
if #ARGV > 2 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
redis.call('HSET', KEYS[1], 'sealed', '1', 'last', ARGV[1])
return 1
`;

// KEYS[1] members, KEYS[2] detached set, KEYS[3] session; ARGV: peer, roomKeys, user JSON, token
// hash, next token hash, instance, force, channel, marker JSON, sharded
// → {'refused', reason} or {'ok', sealed, epoch, last, member JSON, history, away}
export const CLAIM_SCRIPT = `${PUBLISH}
local s = redis.call('HMGET', KEYS[3], 'state', 'user', 'token', 'sealed', 'overflow', 'epoch', 'last')
if not s[1] then
  return {'refused', redis.call('GET', ARGV[2] .. 'ended:' .. ARGV[1]) or 'resume_unknown'}
end
if s[2] ~= ARGV[3] then return {'refused', 'resume_wrong_user'} end
if s[3] ~= ARGV[4] then return {'refused', 'resume_token_used'} end
if s[5] == '1' then return {'refused', 'resume_overflow'} end
if s[1] == 'a' then return {'refused', 'attached'} end
if s[4] ~= '1' and ARGV[7] ~= '1' then return {'refused', 'unsealed'} end
local member = redis.call('HGET', KEYS[1], ARGV[1])
if not member then return {'refused', 'resume_expired'} end
local ok, m = pcall(cjson.decode, member)
if ok then
  m.instance = ARGV[6]
  member = cjson.encode(m)
  redis.call('HSET', KEYS[1], ARGV[1], member)
end
redis.call('SREM', KEYS[2], ARGV[1])
local h, a = ARGV[2] .. 'history:' .. ARGV[1], ARGV[2] .. 'away:' .. ARGV[1]
local history, away = redis.call('LRANGE', h, 0, -1), redis.call('LRANGE', a, 0, -1)
redis.call('DEL', h, a)
redis.call('PERSIST', KEYS[3])
redis.call('HSET', KEYS[3], 'state', 'a', 'token', ARGV[5], 'sealed', '0', 'bytes', '0')
publish(ARGV[8], ARGV[9], ARGV[10])
return {'ok', s[4] or '0', s[6] or '', s[7] or '0', member, history, away}
`;

// KEYS[1] detached set, KEYS[2] session; ARGV: peer, roomKeys, now, tombstone seconds
// → the reason the session ended (to the one caller that ended it), 'gone' when it is not detached
// any more (resumed, left), or false when its grace has not passed
export const EXPIRE_SCRIPT = `
local s = redis.call('HMGET', KEYS[2], 'state', 'deadline', 'overflow')
if s[1] ~= 'd' then return 'gone' end
local reason
if s[3] == '1' then reason = 'resume_overflow'
elseif tonumber(s[2]) <= tonumber(ARGV[3]) then reason = 'resume_expired'
else return false end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], ARGV[2] .. 'history:' .. ARGV[1], ARGV[2] .. 'away:' .. ARGV[1])
redis.call('SET', ARGV[2] .. 'ended:' .. ARGV[1], reason, 'EX', ARGV[4])
return reason
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    sessionRelay(detached: string, ...args: (string | number | Buffer)[]): Result<string[], Context>;
    sessionDetach(
      members: string,
      detached: string,
      session: string,
      ...args: (string | number | Buffer)[]
    ): Result<number, Context>;
    sessionSeal(session: string, history: string, ...args: (string | number)[]): Result<number, Context>;
    sessionClaim(
      members: string,
      detached: string,
      session: string,
      ...args: (string | number | Buffer)[]
    ): Result<[string, ...unknown[]], Context>;
    sessionExpire(
      detached: string,
      session: string,
      ...args: (string | number)[]
    ): Result<string | null, Context>;
  }
}
