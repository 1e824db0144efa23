-- Read-only (EVAL_RO): the candidates whose liveness deadline has not passed, without removing the others.
local t = now()
local out = {redis.call('GET', KEYS[3]) or ''}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local d = redis.call('ZSCORE', KEYS[2], m)
  if d and tonumber(d) >= t then table.insert(out, m) end
end
return out
