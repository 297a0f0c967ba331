-- Sliding-window log: one sorted set per subject (KEYS), members scored by arrival time in ms.
-- A request is admitted only when every subject has room, and is then logged in all of them,
-- so a refused request spends nobody's quota and a flood cannot keep a window from draining.
-- The clock is Redis's own, so every server instance shares one timeline.
--
-- ARGV: limit, window in ms, a member unique to this request.
-- Returns: admitted (1 or 0), then per key its count including this request when admitted,
-- and the ms until it next frees a slot (the entry at index count - limit, or the oldest one,
-- leaves the window; 0 for an empty key).
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local counts = {}
local admitted = 1
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  counts[i] = redis.call('ZCARD', key)
  if counts[i] >= limit then
    admitted = 0
  end
end

local result = { admitted }
for i, key in ipairs(KEYS) do
  if admitted == 1 then
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('PEXPIRE', key, window)
    counts[i] = counts[i] + 1
  end
  local reset = 0
  if counts[i] > 0 then
    local index = math.max(counts[i] - limit, 0)
    local entry = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
    reset = tonumber(entry[2]) + window - now
  end
  table.insert(result, counts[i])
  table.insert(result, reset)
end
return result
