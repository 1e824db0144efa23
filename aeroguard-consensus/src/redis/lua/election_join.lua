local t = now()
local seq = redis.call('INCR', KEYS[5])
local member = ARGV[1] .. '~' .. string.format('%012d', seq)
redis.call('ZADD', KEYS[1], seq, member)
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), member)
return member
