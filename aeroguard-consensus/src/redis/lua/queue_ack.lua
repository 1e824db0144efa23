local held = {}
-- Everything the consumer holds in the range (it may hold more than it acks now).
local mine = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[4], 1000000, ARGV[2])
for _, p in ipairs(mine) do held[p[1]] = true end
local ids = {}
for i = 5, #ARGV do
  if not held[ARGV[i]] then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
    return {0, ARGV[i], (p[1] and p[1][2]) or ''}
  end
  table.insert(ids, ARGV[i])
end
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local first = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1)[1]
if not first then
  return {1, redis.call('XTRIM', KEYS[1], 'MINID', ARGV[4]) + redis.call('XDEL', KEYS[1], ARGV[4])}
end
local removed = redis.call('XTRIM', KEYS[1], 'MINID', first[1])
local fms, fseq = parse(first[1])
local above = {}
for _, id in ipairs(ids) do
  local ms, seq = parse(id)
  if ms > fms or (ms == fms and seq > fseq) then table.insert(above, id) end
end
if #above > 0 then removed = removed + redis.call('XDEL', KEYS[1], unpack(above)) end
return {1, removed}
