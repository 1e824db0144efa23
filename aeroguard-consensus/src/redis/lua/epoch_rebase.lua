-- Sentinels redeployed with fresh configs count failover epochs from 0 again: the epoch tokens carry continues
-- one above the stored one, the base absorbing the difference, and a quiet period starts as after a failover.
local seen = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local base = tonumber(redis.call('GET', KEYS[3]) or '0')
if base + seen >= cur then return {0, cur, base} end
local e = cur + 1
if e >= tonumber(ARGV[3]) then
  return redis.error_reply('ERR the failover epoch would pass ' .. ARGV[3] .. ': fencing tokens are exhausted')
end
if ARGV[4] ~= '1' then return {1, e, e - seen} end
redis.call('SET', KEYS[3], string.format('%d', e - seen))
redis.call('SET', KEYS[1], string.format('%d', e))
local q = now() + tonumber(ARGV[2])
if q > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], q) end
return {1, e, e - seen}
