local function event(op, node)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000, '*', 'op', op, 'node', node)
end
local function prune(t)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. t)
  for _, n in ipairs(dead) do
    redis.call('ZREM', KEYS[1], n)
    redis.call('HDEL', KEYS[2], n)
    redis.call('HDEL', KEYS[3], n)
    event('leave', n)
  end
end
