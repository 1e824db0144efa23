//! The server-side scripts: every read-check-write a recipe needs happens in one script, atomically.
//!
//! Deadlines use the server's clock (`TIME`), so clients' clocks never need to agree.

use std::sync::LazyLock;

use redis::Script;

/// `now()` in milliseconds of the server's clock.
const NOW: &str = r"
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{NOW}\n{body}"))
}

/// KEYS: session. ARGV: ttl. 1 if the session lives (and is extended), 0 if it is gone.
pub static SESSION_BEAT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 1 then return 1 end
return 0",
    )
});

mod election;
pub use election::*;

/// Registrations past their deadline leave, with a `leave` event (registry KEYS 1 live, 2 data, 3 owner,
/// 4 events).
const REGISTRY_PRUNE: &str = r"
local function event(op, node)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000, '*', 'op', op, 'node', node)
end
local function prune(t)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. t)
  for _, n in ipairs(dead) do
    redis.call('ZREM', KEYS[1], n)
    redis.call('HDEL', KEYS[2], n)
    redis.call('HDEL', KEYS[3], n)
    event('leave', n)
  end
end
";

fn registry_script(body: &str) -> Script {
    Script::new(&format!("{NOW}\n{REGISTRY_PRUNE}\n{body}"))
}

/// KEYS: live, data, owner, events. ARGV: node, owner, payload, ttl, previous owner (may take over).
/// 2 if (re)created, 1 if extended, 0 if another owner holds the node's registration.
pub static REGISTRY_PUT: LazyLock<Script> = LazyLock::new(|| {
    registry_script(
        r"
local t = now()
prune(t)
local live = redis.call('ZSCORE', KEYS[1], ARGV[1])
local cur = redis.call('HGET', KEYS[3], ARGV[1])
if live and cur ~= ARGV[2] and cur ~= ARGV[5] then return 0 end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[4]), ARGV[1])
if live and cur == ARGV[2] then return 1 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
if not live then event('join', ARGV[1]) end
return 2",
    )
});

/// KEYS: live, data, owner, events. ARGV: node, owner. Removes the registration if the owner still holds it.
pub static REGISTRY_DELETE: LazyLock<Script> = LazyLock::new(|| {
    registry_script(
        r"
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
event('leave', ARGV[1])
return 1",
    )
});

/// KEYS: live, data, owner, events. `{last event id, ms until the next deadline or -1, node, payload, ...}`.
pub static REGISTRY_LIST: LazyLock<Script> = LazyLock::new(|| {
    registry_script(
        r"
local t = now()
prune(t)
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)[1]
local out = {last and last[1] or '0-0', -1}
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local wait = tonumber(members[i + 1]) - t
  if out[2] < 0 or wait < out[2] then out[2] = wait end
  table.insert(out, members[i])
  table.insert(out, redis.call('HGET', KEYS[2], members[i]) or 'null')
end
return out",
    )
});

/// KEYS: value hash, changes stream. ARGV: mode (any | absent | version), expected version, data.
/// `{1, new version}` or `{0, current version}` on a conflict.
pub static CONFIG_SET: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[1] == 'absent' and cur > 0 then return {0, cur} end
if ARGV[1] == 'version' and cur ~= tonumber(ARGV[2]) then return {0, cur} end
local v = cur + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100, '*', 'v', v)
return {1, v}",
    )
});

/// KEYS: stream, dead-letter stream. ARGV: group, consumer, min idle ms, count, cursor, max deliveries (0: no
/// limit), whether to scan (`1`; `0` reads new entries only: the scan is the costly part, so callers run it
/// when a reclaim can be due). Reclaims entries idle longer than the limit (crashed or released), scanning the
/// pending list from `cursor` (each `XAUTOCLAIM` looks at most ten entries per wanted one, so a scan that restarted at `0-0` every
/// time never got past many live claims), else reads new ones: `{next cursor, id, payload, id, payload, ...}`.
/// A reclaimed entry delivered more than the limit (`XPENDING` counts deliveries) moves to the dead-letter
/// stream instead, with its id and count.
pub static QUEUE_TAKE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local out = {'0-0'}
local cursor = ARGV[5]
local limit = tonumber(ARGV[6])
-- Scan on until something is reclaimed, the pending list is done, or about 10,000 entries were looked at.
local rounds = 0
if ARGV[7] == '1' then rounds = math.max(1, math.floor(1000 / tonumber(ARGV[4]))) end
for _ = 1, rounds do
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', ARGV[4])
  cursor = claimed[1]
  for _, e in ipairs(claimed[2]) do
    if e[2] then
      local n = 0
      if limit > 0 then
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)[1]
        if p then n = p[4] end
      end
      if limit > 0 and n > limit then
        redis.call('XADD', KEYS[2], '*', 'd', e[2][2], 'from', e[1], 'deliveries', n)
        redis.call('XACK', KEYS[1], ARGV[1], e[1])
        redis.call('XDEL', KEYS[1], e[1])
      else
        table.insert(out, e[1])
        table.insert(out, e[2][2])
      end
    end
  end
  if #out > 1 or cursor == '0-0' then break end
end
out[1] = cursor
if #out > 1 then return out end
local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if fresh then
  for _, e in ipairs(fresh[1][2]) do
    table.insert(out, e[1])
    table.insert(out, e[2][2])
  end
end
return out",
    )
});

/// KEYS: stream. ARGV: group, idle ms, consumer. Removes the group's consumers that hold nothing and have been
/// idle longer than the limit, except `consumer` (each session reads as a consumer of its own, so without this
/// the group grows by one consumer per session forever). Deleting a consumer with nothing pending loses
/// nothing: one that reads again is created again. The number removed.
pub static QUEUE_REAP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['pending'] == 0 and info['idle'] > tonumber(ARGV[2]) and info['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    removed = removed + 1
  end
end
return removed",
    )
});

/// KEYS: stream. ARGV: group, consumer, idle ms, ids... Sets the idle time of the consumer's own entries
/// (0 to keep a claim alive, huge to release it to the next taker).
pub static QUEUE_TOUCH: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local n = 0
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if p and p[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
    n = n + 1
  end
end
return n",
    )
});

/// KEYS: stream. ARGV: group, consumer, lowest id, highest id, ids... Acknowledges and removes the entries if
/// the consumer holds every one of them: `{1, removed}`; otherwise nothing changes and the first entry it does
/// not hold (another consumer has it, or nobody: acked already) is named with its holder: `{0, id, holder}`.
/// One `XPENDING` over the batch's range, filtered by consumer, finds what the consumer holds.
///
/// Removal is by trimming where it can be: every entry below the group's oldest pending one has been delivered
/// (deliveries go in stream order) and acknowledged, so one `XTRIM MINID` drops them all, whole stream nodes at
/// a time. Acked entries above the oldest pending one (acked out of order) are deleted one by one (`XDEL`), so
/// the stream's length stays the number of entries not yet acknowledged. With nothing pending, everything up
/// to the batch's highest id goes. This holds because the stream has one consumer group (`GROUP`) whose
/// delivered id only moves forward (nothing calls `XGROUP SETID`); a second group would need the oldest pending
/// entry over both.
pub static QUEUE_ACK: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local held = {}
-- Everything the consumer holds in the range (it may hold more than it acks now).
local mine = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[4], 1000000, ARGV[2])
for _, p in ipairs(mine) do held[p[1]] = true end
local ids = {}
for i = 5, #ARGV do
  if not held[ARGV[i]] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
    return {0, ARGV[i], (p[1] and p[1][2]) or ''}
  end
  table.insert(ids, ARGV[i])
end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local first = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1)[1]
if not first then
  return {1, redis.call('XTRIM', KEYS[1], 'MINID', ARGV[4]) + redis.call('XDEL', KEYS[1], ARGV[4])}
end
local removed = redis.call('XTRIM', KEYS[1], 'MINID', first[1])
local fms, fseq = parse(first[1])
local above = {}
for _, id in ipairs(ids) do
  local ms, seq = parse(id)
  if ms > fms or (ms == fms and seq > fseq) then table.insert(above, id) end
end
if #above > 0 then removed = removed + redis.call('XDEL', KEYS[1], unpack(above)) end
return {1, removed}",
    )
});

/// The fence check every fenced history script starts with. The fence key holds `"<token> <owner>"` (a
/// value of the older format, the token alone, has no owner). ARGV[1] is the token, ARGV[2] the owner. Returns
/// early with `{0, highest, holder, 0, 0}` for a lower token and `{2, highest, holder, 0, 0}` for the same token
/// from another owner; otherwise records the writer as the fence's owner.
const FENCE_CHECK: &str = r"
local fence = redis.call('GET', KEYS[2]) or '0'
local hi = tonumber(string.match(fence, '^%d+')) or 0
local holder = string.match(fence, '^%d+ (.+)$') or ''
local tok = tonumber(ARGV[1])
if tok < hi then return {0, hi, holder, 0, 0, 0} end
if tok == hi and holder ~= '' and holder ~= ARGV[2] then return {2, hi, holder, 0, 0, 0} end
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. ARGV[2])
";

/// KEYS: points, fence. ARGV: token, owner, then score/member pairs. `{1, token, owner, 0, 0, 0}` if written,
/// else the fence check's refusal.
pub static HISTORY_APPEND: LazyLock<Script> = LazyLock::new(|| {
    script(
        &[
            FENCE_CHECK,
            r"
-- One ZADD per 500 points (not one per point): the script costs what a pipelined ZADD of as many members does.
local i, n = 3, #ARGV
while i <= n do
  local j = math.min(i + 999, n)
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
return {1, tok, ARGV[2], 0, 0, 0}",
        ]
        .concat(),
    )
});

/// How many raw points one compaction step drops or folds at most: a step is one script, and Redis runs nothing
/// else meanwhile (folding a whole range in one script blocked the server for as long as the range was big).
pub const COMPACT_STEP: u32 = 2_000;

/// KEYS: points, fence, buckets. ARGV: token, owner, drop before (ms), downsample before (ms, bucket-aligned,
/// or -1), bucket width (ms), step size. One bounded step: drops up to `step` raw points older than the retention
/// (then buckets as old), else folds up to `step` raw points older than the downsampling age into min/max/mean
/// buckets (merging into a bucket an earlier step started, so a bucket split across steps comes out whole).
/// `{1, token, owner, dropped, folded, more}` with `more` 1 while work remains, or the fence check's refusal.
pub static HISTORY_COMPACT: LazyLock<Script> = LazyLock::new(|| {
    script(
        &[
            FENCE_CHECK,
            r"
local step = tonumber(ARGV[6])
local dropped = 0
local folded = 0
local old = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[3])
if old > 0 then
  -- Points sort by time: the oldest `n` are ranks 0 .. n-1.
  dropped = math.min(old, step)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, dropped - 1)
  return {1, tok, ARGV[2], dropped, 0, 1}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])
local before = tonumber(ARGV[4])
if before >= 0 then
  local width = tonumber(ARGV[5])
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. before, 'WITHSCORES', 'LIMIT', 0, step)
  local acc = {}
  local order = {}
  for i = 1, #old, 2 do
    local p = cjson.decode(old[i])
    local start = math.floor(tonumber(old[i + 1]) / width) * width
    local b = acc[start]
    if not b then
      b = {min = p.value, max = p.value, sum = 0, count = 0}
      acc[start] = b
      table.insert(order, start)
    end
    b.min = math.min(b.min, p.value)
    b.max = math.max(b.max, p.value)
    b.sum = b.sum + p.value
    b.count = b.count + 1
    folded = folded + 1
  end
  for _, start in ipairs(order) do
    local b = acc[start]
    local existing = redis.call('ZRANGEBYSCORE', KEYS[3], start, start)
    for _, e in ipairs(existing) do
      local q = cjson.decode(e)
      b.min = math.min(b.min, q.min)
      b.max = math.max(b.max, q.max)
      b.sum = b.sum + q.mean * q.count
      b.count = b.count + q.count
      redis.call('ZREM', KEYS[3], e)
    end
    local member = cjson.encode({start = start, width_ms = width, min = b.min, max = b.max,
      mean = b.sum / b.count, count = b.count})
    redis.call('ZADD', KEYS[3], start, member)
  end
  -- The folded points are the oldest `folded`: ranks 0 .. folded-1.
  if folded > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, folded - 1) end
  if folded == step then return {1, tok, ARGV[2], 0, folded, 1} end
end
return {1, tok, ARGV[2], dropped, folded, 0}",
        ]
        .concat(),
    )
});
