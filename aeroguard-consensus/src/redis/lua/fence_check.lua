local fence = redis.call('GET', KEYS[2]) or '0'
local hi = tonumber(string.match(fence, '^%d+')) or 0
local holder = string.match(fence, '^%d+ (.+)$') or ''
local tok = tonumber(ARGV[1])
if tok < hi then return {0, hi, holder, 0, 0, 0} end
if tok == hi and holder ~= '' and holder ~= ARGV[2] then return {2, hi, holder, 0, 0, 0} end
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. ARGV[2])
