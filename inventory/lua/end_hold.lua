-- Ends an active hold: `admit` (the bed is now occupied: held - 1, available unchanged),
-- `release` or `expire` (the bed is free again: held - 1, available + 1). The sum
-- available + held never grows, so the capacity bound still holds.
-- KEYS: 1 unit hash, 2 seq counter, 3 event stream, 4 ready marker, 5 unit's active holds,
--       6 hold expiries, 7 hold hash
-- ARGV: 1 hold id, 2 op (admit|release|expire), 3 now (ms; expire only acts when due),
--       4 at (ISO time), 5 actor, 6 stream max length, 7 unit id
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
if redis.call('SISMEMBER', KEYS[5], ARGV[1]) == 0 then return redis.error_reply('NOHOLD') end
local op = ARGV[2]
if op == 'expire' then
  local due = tonumber(redis.call('ZSCORE', KEYS[6], ARGV[1]) or '0')
  if due > tonumber(ARGV[3]) then return redis.error_reply('NOTDUE') end
end
local u = redis.call('HMGET', KEYS[1], 'available', 'held', 'waitlist', 'capacity',
                     'discharges', 'updated_at', 'updated_by', 'source', 'note', 'program')
local available, held = tonumber(u[1]), tonumber(u[2]) - 1
if op ~= 'admit' then available = available + 1 end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'available', available, 'held', held, 'seq', seq)
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('DEL', KEYS[7])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], seq .. '-0',
           'op', op, 'unit', ARGV[7], 'program', u[10], 'available', available,
           'held', held, 'waitlist', u[3], 'capacity', u[4], 'discharges', u[5],
           'at', u[6], 'by', u[7], 'source', u[8], 'note', u[9], 'hold', ARGV[1],
           'actor', ARGV[5], 'event_at', ARGV[4])
return {seq, available, held, tonumber(u[3]), tonumber(u[4])}
