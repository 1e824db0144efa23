-- The epoch tokens carry is the base (set by a re-base, 0 until then) plus the Sentinels' failover epoch.
local base = tonumber(redis.call('GET', KEYS[3]) or '0')
local e = base + tonumber(ARGV[1])
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(cur) > e then return {0, tonumber(cur), base} end
if cur and tonumber(cur) == e then return {1, e, base} end
redis.call('SET', KEYS[1], string.format('%d', e))
-- First sight of epoch 0 is a master never failed over; any other first sight may follow a failover that lost
-- this key with the rest.
if cur or e > 0 then
  local q = now() + tonumber(ARGV[2])
  if q > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], q) end
end
return {1, e, base}
