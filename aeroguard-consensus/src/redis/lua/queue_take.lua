local out = {'0-0'}
local cursor = ARGV[5]
local limit = tonumber(ARGV[6])
-- Scan on until something is reclaimed, the pending list is done, or about 10,000 entries were looked at.
local rounds = 0
if ARGV[7] == '1' then rounds = math.max(1, math.floor(1000 / tonumber(ARGV[4]))) end
for _ = 1, rounds do
  local claimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], cursor, 'COUNT', ARGV[4])
  cursor = claimed[1]
  for _, e in ipairs(claimed[2]) do
    if e[2] then
      local n = 0
      if limit > 0 then
        local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)[1]
        if p then n = p[4] end
      end
      if limit > 0 and n > limit then
        redis.call('XADD', KEYS[2], '*', 'd', e[2][2], 'from', e[1], 'deliveries', n)
        redis.call('XACK', KEYS[1], ARGV[1], e[1])
        redis.call('XDEL', KEYS[1], e[1])
      else
        table.insert(out, e[1])
        table.insert(out, e[2][2])
      end
    end
  end
  if #out > 1 or cursor == '0-0' then break end
end
out[1] = cursor
if #out > 1 then return out end
local fresh = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[4], 'STREAMS', KEYS[1], '>')
if fresh then
  for _, e in ipairs(fresh[1][2]) do
    table.insert(out, e[1])
    table.insert(out, e[2][2])
  end
end
return out
