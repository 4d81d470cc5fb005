-- Grants one hold on a unit if a bed is free: available - 1, held + 1, atomically.
-- No bed is ever granted twice: the check and the decrement are one step.
-- KEYS: 1 unit hash, 2 seq counter, 3 event stream, 4 ready marker, 5 unit's active holds
--       (set), 6 hold expiries (sorted set, score = expiry in ms), 7 hold hash
-- ARGV: 1 hold id, 2 expiry (ms since epoch), 3 at (ISO time), 4 actor, 5 stream max length,
--       6 unit id
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('NOUNIT') end
local u = redis.call('HMGET', KEYS[1], 'available', 'held', 'waitlist', 'capacity',
                     'discharges', 'updated_at', 'updated_by', 'source', 'note', 'program')
local available, held = tonumber(u[1]), tonumber(u[2])
if available < 1 then return redis.error_reply('NOBED ' .. held .. ' ' .. u[3]) end
available = available - 1
held = held + 1
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'available', available, 'held', held, 'seq', seq)
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[7], 'unit', ARGV[6], 'expires', ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], seq .. '-0',
           'op', 'hold', 'unit', ARGV[6], 'program', u[10], 'available', available,
           'held', held, 'waitlist', u[3], 'capacity', u[4], 'discharges', u[5],
           'at', u[6], 'by', u[7], 'source', u[8], 'note', u[9], 'hold', ARGV[1],
           'actor', ARGV[4], 'event_at', ARGV[3])
return {seq, available, held, tonumber(u[3]), tonumber(u[4])}
