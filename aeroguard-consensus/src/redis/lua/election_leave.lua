-- ARGV[3], when given, names wake-up lists under each candidate's own node: ARGV[2] .. node .. ARGV[3] .. member.
local function wake(m)
  if ARGV[3] then return ARGV[2] .. (string.match(m, '^(.*)~%d+$') or '') .. ARGV[3] .. m end
  return ARGV[2] .. m
end
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
    local w = wake(nxt)
    redis.call('LPUSH', w, '1')
    redis.call('PEXPIRE', w, 60000)
  end
end
redis.call('DEL', wake(ARGV[1]))
return 1
