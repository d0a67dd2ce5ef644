//! The Lua scripts that make a save or a refresh one atomic round trip.

/// Compare-and-swap in one round trip. `KEYS[2]`: the session's claim (see below).
/// `ARGV[1]`: the expected version (8 bytes), or empty to create. `ARGV[2]`: the new value,
/// `version | expires at | data`. `ARGV[3]`: milliseconds to live. `ARGV[4]`: who saves
/// (the store's claimant token). With an owner, `KEYS[3]` is the owner's index, which gets
/// the session (`ARGV[5]`) until it expires (`ARGV[6]`, Unix ms; `ARGV[7]`: now) in the
/// same step, and with an outbox `KEYS[4]`, what changed in the index as the owner's
/// (`ARGV[8]`). Returns 1 saved (with an owner, followed by the index's members it dropped
/// as expired), 0 conflict (a replace's followed by the value stored now, so that the loser
/// retries without reading it again), -1 missing.
///
/// The claim keeps processes writing one session fair. A replace that loses claims the
/// session's next write for its store (`by`, for `CLAIM_MS`), and another store's replace
/// is refused while the claim lasts; the first store refused is `next`, and the claim
/// passes to it when the claimed write is made. Without it the process that just won
/// sends its next save before the loser's retry arrives, and wins again, for as long as
/// it has saves queued: under contention writes now alternate between processes.
pub(super) const SAVE: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
else
  if not current then return -1 end
  local claim = redis.call('HMGET', KEYS[2], 'by', 'next')
  local by, next = claim[1], claim[2]
  if string.sub(current, 1, 8) ~= ARGV[1] or (by and by ~= ARGV[4]) then
    if not by then
      redis.call('HSET', KEYS[2], 'by', ARGV[4])
      redis.call('PEXPIRE', KEYS[2], CLAIM_MS)
    elseif by ~= ARGV[4] and not next then
      redis.call('HSET', KEYS[2], 'next', ARGV[4])
    end
    return {0, current}
  end
  if by then
    redis.call('DEL', KEYS[2])
    if next then
      redis.call('HSET', KEYS[2], 'by', next)
      redis.call('PEXPIRE', KEYS[2], CLAIM_MS)
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if KEYS[3] then return index(KEYS[3], ARGV[5], ARGV[6], ARGV[7], KEYS[4], ARGV[8]) end
return 1
";

/// How long a claim lasts, in milliseconds: a loser's retry normally comes within a round
/// trip; a claim left by a request that gave up holds the others back no longer than this.
pub(super) const CLAIM_MS: u32 = 20;

/// The suffix of a session's claim key (after its key, so in its slot; `~` is not in an
/// id's alphabet, so a scan of sessions never takes a claim for one).
pub(super) const CLAIM_SUFFIX: &str = "~claim";

/// A create within an owner's session limit, in one round trip to the owner's slot:
/// `KEYS[1]` the session, `KEYS[2]` the owner's index; `ARGV[1]` the value, `ARGV[2]`
/// milliseconds to live, `ARGV[3]` the session in the index, `ARGV[4]` its expiry and
/// `ARGV[5]` now (Unix ms), `ARGV[6]` the limit; with an outbox `KEYS[3]` and the owner
/// `ARGV[7]`. Returns 1 created (followed by the index's
/// members it dropped as expired), 0 taken (a live session has this id), -2 full (the owner
/// has the limit's live sessions or more).
pub(super) const CREATE_OWNED: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[5], '+inf') >= tonumber(ARGV[6]) then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return index(KEYS[2], ARGV[3], ARGV[4], ARGV[5], KEYS[3], ARGV[7])
";

/// A new expiry for a live session, in the value and as its TTL. `ARGV[1]`: expires at,
/// Unix ms, as the value's 8 bytes; `ARGV[2]`: the same as a number. With an owner,
/// `KEYS[2]` is the owner's index, `ARGV[3]` the session in it and `ARGV[4]` now (with an
/// outbox `KEYS[3]`, the owner `ARGV[5]`). Returns
/// 1 (with an owner, followed by the index's members it dropped as expired), or 0 if there
/// is no such session.
pub(super) const TOUCH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SETRANGE', KEYS[1], 8, ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
if KEYS[2] then return index(KEYS[2], ARGV[3], ARGV[2], ARGV[4], KEYS[3], ARGV[5]) end
return 1
";

/// Puts a session in its owner's index (a sorted set scored by expiry, in the session's
/// slot), drops the sessions expired by `now` from it, and makes it expire a day after its
/// last session (the day in which a read or write of it can still name the sessions that
/// expired, for the layer's `Expired` events): the index never holds more than the owner's
/// sessions of the last day, and an owner who never comes back leaves nothing. With an
/// `outbox`, records the session as created (new in the index) and the dropped ones as
/// expired, as `who`'s. Returns 1 followed by the members dropped.
pub(super) const INDEX: &str = r"
local function index(owner, session, expires, now, outbox, who)
  local added = redis.call('ZADD', owner, expires, session)
  local answer = redis.call('ZRANGEBYSCORE', owner, '-inf', now)
  if #answer > 0 then redis.call('ZREMRANGEBYSCORE', owner, '-inf', now) end
  local last = redis.call('ZRANGE', owner, -1, -1, 'WITHSCORES')
  if last[2] then redis.call('PEXPIREAT', owner, last[2] + 86400000) end
  if outbox then
    if added == 1 then record(outbox, 'created', session, who, now) end
    for _, gone in ipairs(answer) do record(outbox, 'expired', gone, who, now) end
  end
  table.insert(answer, 1, 1)
  return answer
end
";

/// Appends one change to the outbox stream: its kind, the session (its storage key in
/// base64url), its owner and the time (Unix ms).
pub(super) const RECORD: &str = r"
local function record(outbox, kind, session, who, now)
  redis.call('XADD', outbox, '*', 'kind', kind, 'key', session, 'owner', who, 'at', now)
end
";

/// An owner's index read: `KEYS[1]` the index, `ARGV[1]` now (Unix ms); with an outbox
/// `KEYS[2]`, the owner `ARGV[2]`. Returns the members that have not expired, then the ones
/// that have, which it drops (for the layer's `Expired` events, and the outbox's): two
/// arrays.
pub(super) const LIST: &str = r"
local live = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
if KEYS[2] then
  for _, session in ipairs(gone) do record(KEYS[2], 'expired', session, ARGV[2], ARGV[1]) end
end
return {live, gone}
";

/// Deletes sessions of one owner with their index entries, and records each that left the
/// index in the outbox, in one step: `KEYS[1]` the index, `KEYS[2]` the outbox, `KEYS[3..]`
/// the sessions; `ARGV[1]` the owner, `ARGV[2]` now (Unix ms), `ARGV[3..]` the sessions'
/// index members, in the order of their keys. Returns how many records it deleted.
pub(super) const DELETE_RECORDED: &str = r"
local deleted = 0
for i = 3, #KEYS do
  deleted = deleted + redis.call('DEL', KEYS[i])
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    record(KEYS[2], 'deleted', ARGV[i], ARGV[1], ARGV[2])
  end
end
return deleted
";
