-- Grants one hold on a unit if a bed is free: available - 1, held + 1, atomically.
-- No bed is ever granted twice: the check and the decrement are one step; the hold joins
-- the unit's active holds in the same step, so `held` always counts them.
-- Called only through inventory/scripts.py (`Scripts.grant_hold`), the one place that
-- knows these positions; the names are those of `inventory.keys.Keys` and
-- `scripts.HoldGrant`.
-- KEYS: 1 unit (hash), 2 seq, 3 stream, 4 epoch (absent while the live state is being
--       rebuilt), 5 unit_holds (set), 6 hold_expiry (sorted set, score = expiry in ms),
--       7 hold (hash)
-- ARGV: 1 hold_id, 2 expires_at (ms since the epoch), 3 at (ISO time), 4 actor,
--       5 stream_max_events, 6 unit_id
-- Returns: {seq, available, held, waitlist, capacity}
-- Errors: NOTREADY, NOUNIT, NOBED <held> <waitlist>
local hold_id, expires_ms, at, actor = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max_events, unit_id = ARGV[5], ARGV[6]

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
redis.call('SADD', KEYS[5], hold_id)
redis.call('ZADD', KEYS[6], expires_ms, hold_id)
redis.call('HSET', KEYS[7], 'unit', unit_id, 'expires', expires_ms)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', max_events, seq .. '-0', 'e', cjson.encode({
  op = 'hold', unit = unit_id, program = u[10], available = available, held = held,
  waitlist = u[3], capacity = u[4], discharges = u[5], at = u[6], by = u[7],
  source = u[8], note = u[9], hold = hold_id, actor = actor, event_at = at}))
return {seq, available, held, tonumber(u[3]), tonumber(u[4])}
