prune(now())
local out = {redis.call('GET', KEYS[3]) or ''}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do table.insert(out, m) end
return out
