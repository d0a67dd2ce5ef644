//! The Lua scripts that make a save or a refresh one atomic round trip.

/// Compare-and-swap in one round trip. `ARGV[1]`: the expected version (8 bytes), or empty
/// to create. `ARGV[2]`: the new value, `version | expires at | data`. `ARGV[3]`:
/// milliseconds to live. With an owner, `KEYS[2]` is the owner's index, which gets the
/// session (`ARGV[4]`) until it expires (`ARGV[5]`, Unix ms; `ARGV[6]`: now) in the same
/// step. Returns 1 saved (with an owner, followed by the index's members it dropped as
/// expired), 0 conflict, -1 missing.
pub(super) const SAVE: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
else
  if not current then return -1 end
  if string.sub(current, 1, 8) ~= ARGV[1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if KEYS[2] then return index(KEYS[2], ARGV[4], ARGV[5], ARGV[6]) end
return 1
";

/// A create within an owner's session limit, in one round trip to the owner's slot:
/// `KEYS[1]` the session, `KEYS[2]` the owner's index; `ARGV[1]` the value, `ARGV[2]`
/// milliseconds to live, `ARGV[3]` the session in the index, `ARGV[4]` its expiry and
/// `ARGV[5]` now (Unix ms), `ARGV[6]` the limit. Returns 1 created (followed by the index's
/// members it dropped as expired), 0 taken (a live session has this id), -2 full (the owner
/// has the limit's live sessions or more).
pub(super) const CREATE_OWNED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[5], '+inf') >= tonumber(ARGV[6]) then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return index(KEYS[2], ARGV[3], ARGV[4], ARGV[5])
";

/// A new expiry for a live session, in the value and as its TTL. `ARGV[1]`: expires at,
/// Unix ms, as the value's 8 bytes; `ARGV[2]`: the same as a number. With an owner,
/// `KEYS[2]` is the owner's index, `ARGV[3]` the session in it and `ARGV[4]` now. Returns
/// 1 (with an owner, followed by the index's members it dropped as expired), or 0 if there
/// is no such session.
pub(super) const TOUCH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SETRANGE', KEYS[1], 8, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
if KEYS[2] then return index(KEYS[2], ARGV[3], ARGV[2], ARGV[4]) end
return 1
";

/// Puts a session in its owner's index (a sorted set scored by expiry, in the session's
/// slot), drops the sessions expired by `now` from it, and makes it expire a day after its
/// last session (the day in which a read or write of it can still name the sessions that
/// expired, for the layer's `Expired` events): the index never holds more than the owner's
/// sessions of the last day, and an owner who never comes back leaves nothing. Returns 1
/// followed by the members dropped.
pub(super) const INDEX: &str = r"
local function index(owner, session, expires, now)
  redis.call('ZADD', owner, expires, session)
  local answer = redis.call('ZRANGEBYSCORE', owner, '-inf', now)
  if #answer > 0 then redis.call('ZREMRANGEBYSCORE', owner, '-inf', now) end
  local last = redis.call('ZRANGE', owner, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', owner, last[2] + 86400000) end
  table.insert(answer, 1, 1)
  return answer
end
";

/// An owner's index read: `KEYS[1]` the index, `ARGV[1]` now (Unix ms). Returns the
/// members that have not expired, then the ones that have, which it drops (for the layer's
/// `Expired` events): two arrays.
pub(super) const LIST: &str = r"
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return {live, gone}
";
