-- Ends an active hold: `admit` (the bed is now occupied: held - 1, available unchanged),
-- `release` or `expire` (the bed is free again: held - 1, available + 1). The sum
-- available + held never grows, so the capacity bound still holds; the hold leaves the
-- unit's active holds in the same step, so `held` still counts them.
-- Called only through inventory/scripts.py (`Scripts.end_hold`), the one place that knows
-- these positions; the names are those of `inventory.keys.Keys` and `scripts.HoldEnd`.
-- KEYS: 1 unit (hash), 2 seq, 3 stream, 4 epoch (absent while the live state is being
--       rebuilt), 5 unit_holds (set), 6 hold_expiry (sorted set), 7 hold (hash)
-- ARGV: 1 hold_id, 2 op (admit|release|expire), 3 at in ms (`expire` only acts when the
--       hold is due by then), 4 at (ISO time), 5 actor, 6 stream_max_events, 7 unit_id
-- Returns: {seq, available, held, waitlist, capacity}
-- Errors: NOTREADY, NOHOLD, NOTDUE
local hold_id, op, now_ms, at, actor = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local max_events, unit_id = ARGV[6], ARGV[7]

if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
if redis.call('SISMEMBER', KEYS[5], hold_id) == 0 then return redis.error_reply('NOHOLD') end
if op == 'expire' then
  local due = tonumber(redis.call('ZSCORE', KEYS[6], hold_id) or '0')
  if due > tonumber(now_ms) then return redis.error_reply('NOTDUE') end
end
local u = redis.call('HMGET', KEYS[1], 'available', 'held', 'waitlist', 'capacity',
                     'discharges', 'updated_at', 'updated_by', 'source', 'note', 'program')
local available, held = tonumber(u[1]), tonumber(u[2]) - 1
if op ~= 'admit' then available = available + 1 end
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'available', available, 'held', held, 'seq', seq)
redis.call('SREM', KEYS[5], hold_id)
redis.call('ZREM', KEYS[6], hold_id)
redis.call('DEL', KEYS[7])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', max_events, seq .. '-0', 'e', cjson.encode({
  op = op, unit = unit_id, program = u[10], available = available, held = held,
  waitlist = u[3], capacity = u[4], discharges = u[5], at = u[6], by = u[7],
  source = u[8], note = u[9], hold = hold_id, actor = actor, event_at = at}))
return {seq, available, held, tonumber(u[3]), tonumber(u[4])}
