//! The Lua scripts of the operations that must be atomic: each runs whole
//! on the server, whichever host sends it, so two kvhost hosts sharing a
//! store cannot interleave inside one.
//!
//! Every script takes the same first three arguments: `now` (Unix ms, as the
//! host's clock gives it, so that an entry is invisible from the moment its
//! expiry passes on that clock; Redis also expires it by its own, `PXAT` is
//! set from the same clock), the store's watch channel and its key prefix.
//! Each change a script makes is published on the channel by the script
//! itself (see [`super::publish`]), so watchers on every host see it in the
//! order the server ran it. A key found expired is deleted on the way, and
//! that is published too.

use std::sync::LazyLock;

use redis::Script;

/// The arguments every script starts with, and how it publishes.
/// `changed(key, value)`: `key` (the full Redis key) now holds `value`;
/// `gone(key)`: `key` was removed. The message formats are those of
/// [`super::publish`].
const COMMON: &str = r"
local now, channel, prefix = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local function changed(key, value)
  redis.call('PUBLISH', channel, 's' .. string.sub(key, #prefix + 1) .. '\0' .. value)
end
local function gone(key)
  redis.call('PUBLISH', channel, 'd' .. string.sub(key, #prefix + 1))
end
";

/// `live(key)`: whether `key` holds a live entry; an expired one is deleted
/// and reported gone (second result: whether that happened).
/// `unindex(index, member, reported)`: drop a member whose entry is not
/// live from the listing index. If it was still indexed and its removal was
/// not reported yet, something other than kvhost removed the entry (Redis
/// expired or evicted it, or another client deleted it): report it gone now,
/// once, whichever host finds it.
const LIVE: &str = r"
local function live(key)
  local at = redis.call('PEXPIRETIME', key)
  if at == -2 then return false, false end
  if at ~= -1 and at <= now then
    redis.call('DEL', key)
    gone(key)
    return false, true
  end
  return true, false
end
local function unindex(index, member, reported)
  if redis.call('ZREM', index, member) == 1 and not reported then gone(prefix .. member) end
end
";

/// `write(key, value, expires_at)`: set the value, with an absolute expiry
/// (Unix ms) or none (`''`), which also clears an earlier one, and publish it.
const WRITE: &str = r"
local function write(key, value, expires_at)
  if expires_at == '' then
    redis.call('SET', key, value)
  else
    redis.call('SET', key, value, 'PXAT', expires_at)
  end
  changed(key, value)
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{COMMON}{LIVE}{WRITE}{body}"))
}

/// Every script, to load at start.
pub(super) fn all() -> [&'static Script; 7] {
    [&DELETE, &PUT_IF, &INCREMENT, &DELETE_MANY, &LIST, &CLEANUP, &CLEAR]
}

/// KEYS: data key, index. ARGV: now, channel, prefix, member. Whether a
/// live entry was removed.
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local existed, reported = live(KEYS[1])
if existed then
  redis.call('DEL', KEYS[1])
  gone(KEYS[1])
  reported = true
end
unindex(KEYS[2], ARGV[4], reported)
if existed then return 1 else return 0 end
",
    )
});

/// KEYS: data key, index. ARGV: now, channel, prefix, member, value,
/// expires_at, version (16 hex digits; `''` = only if absent). 1 if
/// written, 0 if the condition did not hold.
pub(super) static PUT_IF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local is_live = live(KEYS[1])
if ARGV[7] == '' then
  if is_live then return 0 end
else
  if not is_live then return 0 end
  local current = redis.call('GET', KEYS[1])
  if string.sub(redis.sha1hex(current), 1, 16) ~= ARGV[7] then return 0 end
end
write(KEYS[1], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
return 1
",
    )
});

/// KEYS: data key, index. ARGV: now, channel, prefix, member, delta. The
/// new value, as the decimal text Redis keeps (a Lua number would round
/// past 2^53).
pub(super) static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
live(KEYS[1])
redis.call('INCRBY', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
local value = redis.call('GET', KEYS[1])
changed(KEYS[1], value)
return value
",
    )
});

/// KEYS: index. ARGV: now, channel, prefix, members... How many live
/// entries were removed.
pub(super) static DELETE_MANY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local removed = 0
for i = 4, #ARGV do
  local key = prefix .. ARGV[i]
  local existed, reported = live(key)
  if existed then
    redis.call('DEL', key)
    gone(key)
    reported = true
    removed = removed + 1
  end
  unindex(KEYS[1], ARGV[i], reported)
end
return removed
",
    )
});

/// KEYS: index. ARGV: now, channel, prefix, min, max (`ZRANGEBYLEX`
/// bounds), limit. Up to `limit` live members between the bounds, in byte
/// order; members whose entry is gone are dropped from the index on the way.
pub(super) static LIST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local min, max, limit = ARGV[4], ARGV[5], tonumber(ARGV[6])
local out = {}
while #out < limit do
  local want = limit - #out
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, max, 'LIMIT', 0, want)
  for _, member in ipairs(batch) do
    local is_live, reported = live(prefix .. member)
    if is_live then
      table.insert(out, member)
    else
      unindex(KEYS[1], member, reported)
    end
  end
  if #batch < want then break end
  min = '(' .. batch[#batch]
end
return out
",
    )
});

/// KEYS: index. ARGV: now, channel, prefix, min (`ZRANGEBYLEX` bound),
/// batch. Removes the expired entries among the next `batch` members: {how
/// many, the last member looked at (`''` if none), how many were looked at}.
pub(super) static CLEANUP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[4], '+', 'LIMIT', 0, tonumber(ARGV[5]))
local removed = 0
for _, member in ipairs(members) do
  local is_live, reported = live(prefix .. member)
  if not is_live then
    unindex(KEYS[1], member, reported)
    removed = removed + 1
  end
end
return {removed, members[#members] or '', #members}
",
    )
});

/// KEYS: keys under the prefix, as `SCAN` found them. ARGV: now, channel,
/// prefix. Unlinks each, and reports each that was still there, except the
/// store's own (the index: a store key never holds NUL).
pub(super) static CLEAR: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
for _, key in ipairs(KEYS) do
  if redis.call('UNLINK', key) == 1 and not string.find(key, '\0', 1, true) then gone(key) end
end
return 0
",
    )
});
