/**
 * Lua scripts of the Redis Cluster store. Every script touches the keys of one hash slot only: the
 * keys it is given (KEYS) and, where a session's user index is found from the session record, a
 * key built from the same `P{tag}` hash tag, so it is in the same slot by construction. The scripts
 * shared with the single-Redis store (UPDATE, TOUCH, SET_TOKENS, UNLOCK, and CREATE with no sid
 * index) are single-slot already and are reused from redis-scripts.ts.
 */

/**
 * KEYS: the sid index (`P i:<sid>`). ARGV: session id, absolute expiry (ms), now (ms), index ttl (ms).
 * Adds the id, drops entries past their absolute expiry, keeps the index as long as its longest-lived member.
 */
export const SID_INDEX_ADD = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
`;

/**
 * KEYS: session (`P{T}s:<id>`), tokens (`P{T}t:<id>`). ARGV: `P{T}` (the session's tagged prefix), id.
 * Deletes the session, its tokens and its entry in its user's index (`P{T}u:<sub>`, same slot).
 * Returns {1, sid or ''} when the session existed, {0} otherwise.
 */
export const DESTROY_TAGGED = `
local meta = redis.call('HMGET', KEYS[1], 'sub', 'sid')
local n = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
if meta[1] then redis.call('ZREM', ARGV[1] .. 'u:' .. meta[1], ARGV[2]) end
if n == 0 then return {0} end
return {1, meta[2] or ''}
`;

/**
 * KEYS: a user index (`P{T}u:<sub>`). ARGV: `P{T}`, id to keep ('' for none).
 * Deletes every other session of the index with its tokens. Returns {count, id1, sid1, id2, sid2, ...}
 * for the removed sessions that had a sid, so the caller can drop them from their sid indexes.
 */
export const DESTROY_BY_SUB = `
local out = {0}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    local key = ARGV[1] .. 's:' .. id
    local sid = redis.call('HGET', key, 'sid')
    out[1] = out[1] + redis.call('DEL', key)
    redis.call('DEL', ARGV[1] .. 't:' .. id)
    redis.call('ZREM', KEYS[1], id)
    if sid then
      table.insert(out, id)
      table.insert(out, sid)
    end
  end
end
return out
`;
