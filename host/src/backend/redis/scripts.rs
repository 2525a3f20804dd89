//! The Lua scripts of the operations that must be atomic: each runs whole
//! on the server, whichever host sends it, so two kvhost hosts sharing a
//! store cannot interleave inside one.
//!
//! Every script sees time as the host's clock gives it (`now`, Unix ms), so
//! that an entry is invisible from the moment its expiry passes on that
//! clock; Redis also expires it by its own (`PXAT` is set from the same
//! clock). A key found expired is deleted on the way.

use std::sync::LazyLock;

use redis::Script;

/// `live(key, now)`: whether `key` holds a live entry; an expired one is deleted.
const LIVE: &str = r"
local function live(key, now)
  local at = redis.call('PEXPIRETIME', key)
  if at == -2 then return false end
  if at ~= -1 and at <= now then
    redis.call('DEL', key)
    return false
  end
  return true
end
";

/// `write(key, value, expires_at)`: set the value, with an absolute expiry
/// (Unix ms) or none (`''`), which also clears an earlier one.
const WRITE: &str = r"
local function write(key, value, expires_at)
  if expires_at == '' then
    redis.call('SET', key, value)
  else
    redis.call('SET', key, value, 'PXAT', expires_at)
  end
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{LIVE}{WRITE}{body}"))
}

/// KEYS: data key, index. ARGV: now, member. Whether a live entry was removed.
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local existed = live(KEYS[1], tonumber(ARGV[1]))
if existed then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[2])
if existed then return 1 else return 0 end
",
    )
});

/// KEYS: data key, index. ARGV: now, member, value, expires_at, version
/// (16 hex digits; `''` = only if absent). 1 if written, 0 if the condition
/// did not hold.
pub(super) static PUT_IF: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local is_live = live(KEYS[1], tonumber(ARGV[1]))
if ARGV[5] == '' then
  if is_live then return 0 end
else
  if not is_live then return 0 end
  local current = redis.call('GET', KEYS[1])
  if string.sub(redis.sha1hex(current), 1, 16) ~= ARGV[5] then return 0 end
end
write(KEYS[1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return 1
",
    )
});

/// KEYS: data key, index. ARGV: now, member, delta. The new value, as the
/// decimal text Redis keeps (a Lua number would round past 2^53).
pub(super) static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
live(KEYS[1], tonumber(ARGV[1]))
redis.call('INCRBY', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[2])
return redis.call('GET', KEYS[1])
",
    )
});

/// KEYS: index. ARGV: now, key prefix, members... How many live entries
/// were removed.
pub(super) static DELETE_MANY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now, prefix, removed = tonumber(ARGV[1]), ARGV[2], 0
for i = 3, #ARGV do
  local key = prefix .. ARGV[i]
  if live(key, now) then
    redis.call('DEL', key)
    removed = removed + 1
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return removed
",
    )
});

/// KEYS: index. ARGV: now, key prefix, min, max (`ZRANGEBYLEX` bounds),
/// limit. Up to `limit` live members between the bounds, in byte order;
/// members whose entry is gone are dropped from the index on the way.
pub(super) static LIST: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now, prefix, min, max, limit = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {}
while #out < limit do
  local want = limit - #out
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, max, 'LIMIT', 0, want)
  for _, member in ipairs(batch) do
    if live(prefix .. member, now) then
      table.insert(out, member)
    else
      redis.call('ZREM', KEYS[1], member)
    end
  end
  if #batch < want then break end
  min = '(' .. batch[#batch]
end
return out
",
    )
});

/// KEYS: index. ARGV: now, key prefix, min (`ZRANGEBYLEX` bound), batch.
/// Removes the expired entries among the next `batch` members: {how many,
/// the last member looked at (`''` if none), how many were looked at}.
pub(super) static CLEANUP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local now, prefix = tonumber(ARGV[1]), ARGV[2]
local members = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[3], '+', 'LIMIT', 0, tonumber(ARGV[4]))
local removed = 0
for _, member in ipairs(members) do
  if not live(prefix .. member, now) then
    redis.call('ZREM', KEYS[1], member)
    removed = removed + 1
  end
end
return {removed, members[#members] or '', #members}
",
    )
});
