local function prune(t)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. t)
  for _, m in ipairs(dead) do
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZREM', KEYS[2], m)
  end
end
