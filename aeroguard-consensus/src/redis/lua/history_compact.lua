local step = tonumber(ARGV[6])
local dropped = 0
local folded = 0
local old = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[3])
if old > 0 then
  -- Points sort by time: the oldest `n` are ranks 0 .. n-1.
  dropped = math.min(old, step)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, dropped - 1)
  return {1, tok, ARGV[2], dropped, 0, 1}
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])
local before = tonumber(ARGV[4])
if before >= 0 then
  local width = tonumber(ARGV[5])
  local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. before, 'WITHSCORES', 'LIMIT', 0, step)
  local acc = {}
  local order = {}
  for i = 1, #old, 2 do
    local p = cjson.decode(old[i])
    local start = math.floor(tonumber(old[i + 1]) / width) * width
    local b = acc[start]
    if not b then
      b = {min = p.value, max = p.value, sum = 0, count = 0}
      acc[start] = b
      table.insert(order, start)
    end
    b.min = math.min(b.min, p.value)
    b.max = math.max(b.max, p.value)
    b.sum = b.sum + p.value
    b.count = b.count + 1
    folded = folded + 1
  end
  for _, start in ipairs(order) do
    local b = acc[start]
    local existing = redis.call('ZRANGEBYSCORE', KEYS[3], start, start)
    for _, e in ipairs(existing) do
      local q = cjson.decode(e)
      b.min = math.min(b.min, q.min)
      b.max = math.max(b.max, q.max)
      b.sum = b.sum + q.mean * q.count
      b.count = b.count + q.count
      redis.call('ZREM', KEYS[3], e)
    end
    local member = cjson.encode({start = start, width_ms = width, min = b.min, max = b.max,
      mean = b.sum / b.count, count = b.count})
    redis.call('ZADD', KEYS[3], start, member)
  end
  -- The folded points are the oldest `folded`: ranks 0 .. folded-1.
  if folded > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, folded - 1) end
  if folded == step then return {1, tok, ARGV[2], 0, folded, 1} end
end
return {1, tok, ARGV[2], dropped, folded, 0}
