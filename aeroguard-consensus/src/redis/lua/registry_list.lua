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
return out
