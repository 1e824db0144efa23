//! The election's scripts: join, acquire (with the failover epoch and the wait-out of an unreleased lease),
//! renew, leave, list; and the epoch raise every connection makes.

use std::sync::LazyLock;

use redis::Script;

use super::{NOW, script};

/// Candidates whose liveness deadline passed leave the queue (election KEYS 1 queue, 2 alive).
const ELECTION_PRUNE: &str = r"
local function prune(t)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. t)
  for _, m in ipairs(dead) do
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZREM', KEYS[2], m)
  end
end
";

fn election_script(body: &str) -> Script {
    Script::new(&format!("{NOW}\n{ELECTION_PRUNE}\n{body}"))
}

/// KEYS: queue, alive, lease, token, seq. ARGV: node, ttl. Joins the queue; returns the member name.
pub static ELECTION_JOIN: LazyLock<Script> = LazyLock::new(|| {
    election_script(
        r"
local t = now()
local seq = redis.call('INCR', KEYS[5])
local member = ARGV[1] .. '~' .. string.format('%012d', seq)
redis.call('ZADD', KEYS[1], seq, member)
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), member)
return member",
    )
});

/// KEYS: epoch, quiet. ARGV: the failover epoch Sentinel reports for this master, the quiet period (ms).
/// Raises the master's epoch to Sentinel's; a raise (a failover happened since the last) starts a quiet period
/// in which no lease is granted: a leader cut off with the old master may still trust its lease for up to `T`
/// after the old master stopped taking writes. `{1, epoch}`, or `{0, stored}` when the master has seen a newer
/// epoch than the caller's Sentinels (the caller resolves again).
pub static EPOCH_RAISE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local e = tonumber(ARGV[1])
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > e then return {0, tonumber(cur)} end
if cur and tonumber(cur) == e then return {1, e} end
redis.call('SET', KEYS[1], ARGV[1])
-- First sight of epoch 0 is a master never failed over; any other first sight may follow a failover that lost
-- this key with the rest.
if cur or e > 0 then
  local q = now() + tonumber(ARGV[2])
  if q > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], q) end
end
return {1, e}",
    )
});

/// The largest epoch and counter a token can carry: `epoch * 2^32 + counter` stays below 2^53, where Lua's
/// numbers (doubles) are still exact integers.
const TOKEN_LIMITS: (u64, u64) = (1 << 21, 1 << 32);

/// KEYS: queue, alive, lease, token counter, term, epoch, quiet, renewals, released. ARGV: member, ttl, the
/// renewal count the candidate has seen unchanged for a whole lease on its own clock (-1: none).
/// `{token, 0, renewals}` when elected; `{0, wait_ms, renewals}` when another leads, a predecessor waits ahead
/// (the wait is until that one's lease or liveness runs out) or the quiet period after a failover runs;
/// `{0, -2, renewals}` when the lease ran out without being released and the candidate has not yet seen the
/// renewal count stand still for a lease; `{-1, 0, renewals}` when the member is no longer queued.
///
/// The token is `epoch * 2^32 + counter`: the counter is incremented on every grant, and the failover epoch
/// raised since a failover that lost the counter's last increments keeps the tokens rising.
///
/// Why the wait-out: a lease's expiry is a wall-clock deadline on the server, so a server whose clock steps
/// forward expires it early, while its holder trusts it by its own clock. A lease that ends unreleased is granted
/// only to a candidate that saw its last renewal (the count every grant and renewal raises) and then a whole
/// lease `T` pass on its own clock without another: by then the holder, which trusts `9T/10` past a renewal it
/// sent before that renewal ran, has stopped.
pub static ELECTION_ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    election_script(&format!(
        r"
local t = now()
prune(t)
local r = tonumber(redis.call('GET', KEYS[8]) or '0')
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {{-1, 0, r}} end
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), ARGV[1])
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[1] then
  -- Already granted (the reply to an earlier attempt was lost): same term, same token.
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  return {{tonumber(redis.call('GET', KEYS[5]) or redis.call('GET', KEYS[4]) or '0'), 0, r}}
end
if holder then return {{0, redis.call('PTTL', KEYS[3]), r}} end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if rank > 0 then
  local pred = redis.call('ZRANGE', KEYS[1], rank - 1, rank - 1)[1]
  return {{0, tonumber(redis.call('ZSCORE', KEYS[2], pred)) - t, r}}
end
local quiet = tonumber(redis.call('GET', KEYS[7]) or '0')
if t < quiet then return {{0, quiet - t, r}} end
if r > 0 and tonumber(redis.call('GET', KEYS[9]) or '-1') ~= r and tonumber(ARGV[3]) ~= r then
  return {{0, -2, r}}
end
local epoch = tonumber(redis.call('GET', KEYS[6]) or '0')
local n = tonumber(redis.call('GET', KEYS[4]) or '0') + 1
if epoch >= {max_epoch} or n >= {max_count} then
  return redis.error_reply('ERR fencing tokens exhausted for this election: epoch ' .. epoch .. ', counter ' .. n)
end
redis.call('SET', KEYS[4], n)
local token = epoch * {max_count} + n
redis.call('SET', KEYS[5], string.format('%d', token))
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return {{token, 0, redis.call('INCR', KEYS[8])}}",
        max_epoch = TOKEN_LIMITS.0,
        max_count = TOKEN_LIMITS.1,
    ))
});

/// KEYS: queue, alive, lease, renewals. ARGV: member, ttl. Compare-and-extend: 1 if the lease is still the
/// member's (and now extended, the renewal count raised), 0 if not.
pub static ELECTION_RENEW: LazyLock<Script> = LazyLock::new(|| {
    election_script(
        r"
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
redis.call('INCR', KEYS[4])
redis.call('ZADD', KEYS[2], 'XX', now() + tonumber(ARGV[2]), ARGV[1])
return 1",
    )
});

/// KEYS: queue, alive, lease, renewals, released. ARGV: member, wake-list prefix. Leaves the election
/// (resigning the lease if held: a released lease needs no waiting out) and wakes the successor.
pub static ELECTION_LEAVE: LazyLock<Script> = LazyLock::new(|| {
    election_script(
        r"
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('DEL', KEYS[3])
  redis.call('SET', KEYS[5], redis.call('GET', KEYS[4]) or '0')
end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if rank then
  local nxt = redis.call('ZRANGE', KEYS[1], rank + 1, rank + 1)[1]
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  if nxt then
    local w = ARGV[2] .. nxt
    redis.call('LPUSH', w, '1')
    redis.call('PEXPIRE', w, 60000)
  end
end
redis.call('DEL', ARGV[2] .. ARGV[1])
return 1",
    )
});

/// KEYS: queue, alive, lease. The lease holder (or '') then the live candidates in order.
pub static ELECTION_CONTENDERS: LazyLock<Script> = LazyLock::new(|| {
    election_script(
        r"
prune(now())
local out = {redis.call('GET', KEYS[3]) or ''}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do table.insert(out, m) end
return out",
    )
});
