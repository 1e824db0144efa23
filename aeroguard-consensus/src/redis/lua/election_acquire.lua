local t = now()
prune(t)
local r = tonumber(redis.call('GET', KEYS[8]) or '0')
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {-1, 0, r} end
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[2]), ARGV[1])
local holder = redis.call('GET', KEYS[3])
if holder == ARGV[1] then
  -- Already granted (the reply to an earlier attempt was lost): same term, same token.
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  return {tonumber(redis.call('GET', KEYS[5]) or redis.call('GET', KEYS[4]) or '0'), 0, r}
end
if holder then return {0, redis.call('PTTL', KEYS[3]), r} end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if rank > 0 then
  local pred = redis.call('ZRANGE', KEYS[1], rank - 1, rank - 1)[1]
  return {0, tonumber(redis.call('ZSCORE', KEYS[2], pred)) - t, r}
end
local quiet = tonumber(redis.call('GET', KEYS[7]) or '0')
if t < quiet then return {0, quiet - t, r} end
if r > 0 and tonumber(redis.call('GET', KEYS[9]) or '-1') ~= r and tonumber(ARGV[3]) ~= r then
  return {0, -2, r}
end
local epoch = tonumber(redis.call('GET', KEYS[6]) or '0')
local n = tonumber(redis.call('GET', KEYS[4]) or '0') + 1
if epoch >= __MAX_EPOCH__ or n >= __MAX_COUNT__ then
  return redis.error_reply('ERR fencing tokens exhausted for this election: epoch ' .. epoch .. ', counter ' .. n)
end
redis.call('SET', KEYS[4], n)
local token = epoch * __MAX_COUNT__ + n
redis.call('SET', KEYS[5], string.format('%d', token))
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return {token, 0, redis.call('INCR', KEYS[8])}
