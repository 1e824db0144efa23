local cur = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if ARGV[1] == 'absent' and cur > 0 then return {0, cur} end
if ARGV[1] == 'version' and cur ~= tonumber(ARGV[2]) then return {0, cur} end
local v = cur + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[3])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100, '*', 'v', v)
return {1, v}
