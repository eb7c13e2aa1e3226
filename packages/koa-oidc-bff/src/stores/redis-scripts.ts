/**
 * Lua scripts of the Redis store. Each runs atomically on the server, which is what makes
 * `update` and `touch` unable to resurrect a session destroyed in between (they check existence
 * and write in one step) and keeps the per-user and per-IdP-session indexes in step with the
 * sessions.
 *
 * Key layout under the store's prefix P:
 * - `P s:<id>`  hash: `sub`, `sid`, `ca` created, `ls` last seen, `ie` idle expiry, `ae` absolute
 *   expiry (ms), `ua`, and one field `d:<key>` (JSON) per top-level key of the session data, so an
 *   update replaces single keys without decoding JSON in Lua. Expires with PEXPIRE at min(ie, ae).
 * - `P t:<id>`  string: the session's token record (JSON), same expiry as `P s:<id>`; read only
 *   where tokens are needed, so the hash every request reads stays small.
 * - `P u:<sub>` and `P i:<sid>`  sorted sets of session ids scored by absolute expiry; the set
 *   itself expires with its longest-lived member.
 * - `P c:<key>` claims (SET NX EX), `P l:<key>` locks (SET NX PX, value = owner token).
 * - `P x:<id>` tombstones of ended sessions (SET EX, value `1`): one key each, no script.
 *
 * The destroy scripts build index key names from the prefix: fine on a single Redis (with or
 * without replicas or Sentinel), not on Redis Cluster.
 */

/** KEYS: session, sub index, sid index (or the session key again when there is no sid), tokens. ARGV: id, ttl ms, absolute expiry, now, index ttl ms, tokens JSON ('' for none), field, value, ... */
export const CREATE = `
redis.call('DEL', KEYS[1], KEYS[4])
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if ARGV[6] ~= '' then redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[2]) end
local function index(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[4])
  redis.call('ZADD', key, ARGV[3], ARGV[1])
  if redis.call('PTTL', key) < tonumber(ARGV[5]) then redis.call('PEXPIRE', key, ARGV[5]) end
end
index(KEYS[2])
if KEYS[3] ~= KEYS[1] then index(KEYS[3]) end
return 1
`;

/** KEYS: session. ARGV: number of fields to set n, then n field/value pairs, then fields to delete. Returns 0 when the session is gone. */
export const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
if n > 0 then redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n)) end
if #ARGV > 1 + 2 * n then redis.call('HDEL', KEYS[1], unpack(ARGV, 2 + 2 * n)) end
return 1
`;

/** KEYS: session, tokens. ARGV: lastSeenAt, idleExpiresAt (ms). Moves the expiry of both; never creates, never moves back. */
export const TOUCH = `
local meta = redis.call('HMGET', KEYS[1], 'ls', 'ae')
local ls, ae = tonumber(meta[1]), tonumber(meta[2])
if not ls or not ae or ls >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'ls', ARGV[1], 'ie', ARGV[2])
local ttl = math.min(tonumber(ARGV[2]), ae) - tonumber(ARGV[1])
if ttl < 1 then ttl = 1 end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`;

/** KEYS: session, tokens. ARGV: tokens JSON. Writes only while the session exists, with its remaining lifetime; returns 0 otherwise. */
export const SET_TOKENS = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return 1
`;

/** Shared by the destroy scripts: deletes session `id` and its index entries; returns 1 when it existed. */
const DESTROY_ONE = `
local function destroy(prefix, id)
  local key = prefix .. 's:' .. id
  local meta = redis.call('HMGET', key, 'sub', 'sid')
  local n = redis.call('DEL', key)
  redis.call('DEL', prefix .. 't:' .. id)
  if meta[1] then redis.call('ZREM', prefix .. 'u:' .. meta[1], id) end
  if meta[2] then redis.call('ZREM', prefix .. 'i:' .. meta[2], id) end
  return n
end
`;

/** ARGV: prefix, id. */
export const DESTROY = `${DESTROY_ONE}
return destroy(ARGV[1], ARGV[2])
`;

/** KEYS: an index (u:<sub> or i:<sid>). ARGV: prefix, id to keep ('' for none). Returns how many sessions were removed. */
export const DESTROY_INDEXED = `${DESTROY_ONE}
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    n = n + destroy(ARGV[1], id)
    redis.call('ZREM', KEYS[1], id)
  end
end
return n
`;

/** KEYS: lock. ARGV: owner token. Deletes the lock only while we still own it. */
export const UNLOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
