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
return 2
