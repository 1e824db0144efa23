-- One ZADD per 500 points (not one per point): the script costs what a pipelined ZADD of as many members does.
local i, n = 3, #ARGV
while i <= n do
  local j = math.min(i + 999, n)
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, j))
  i = j + 1
end
return {1, tok, ARGV[2], 0, 0, 0}
