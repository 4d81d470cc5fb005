-- Puts one unit's recorded state back into the live state when the live unit is older: a
-- change applied just before Redis lost its keys and recorded only after the rebuild read
-- SQL (inventory/rebuild_fence.py). The unit's counts and active holds become the recorded
-- ones; the change takes the next seq and goes on the stream as op `restore`, so
-- subscribers see it like any other. Nothing happens when the live unit already has the
-- recorded change or a later one: its seq is at least the recorded seq, or it was put back
-- here from a recorded seq at least as high and has not changed since (two changes applied
-- before the rebuild and recorded after it may be put back in either order).
-- Called only through inventory/scripts.py (`Scripts.catch_up`).
-- KEYS: 1 unit (hash), 2 seq, 3 stream, 4 epoch (absent while the live state is being
--       rebuilt), 5 the unit's hold ids (set), 6 hold expiry (zset), 7 directory version,
--       8 units (set of unit ids), then one hash per hold id listed in ARGV: first the
--       unit's current holds (read before the call: a change to them also raises the
--       unit's seq, which is checked again here), then the recorded ones
-- ARGV: 1 recorded seq, 2 stream_max_events, 3 unit_id, 4 the recorded state as JSON:
--       {available, held, waitlist, capacity, discharges (JSON text), updated_at,
--       updated_by, source, note, program, org}, 5 the live seq read with the current
--       holds, 6 how many current holds, then the recorded holds as id, expires (ms) pairs
-- Returns: the new seq; 0 when nothing changed because the unit has this change or a later
--          one; -1 when nothing changed because the unit changed since its holds were read
--          (the caller reads them again and calls again)
-- Errors: NOTREADY
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
-- A unit put back by this script holds a recorded change under a newer seq: what it holds
-- is as new as `caught_up_from` (the recorded seq) until another change gives it a new seq.
local h = redis.call('HMGET', KEYS[1], 'seq', 'caught_up_seq', 'caught_up_from')
local live = tonumber(h[1] or '0')
local holds_change = live
if h[2] and tonumber(h[2]) == live then holds_change = tonumber(h[3]) end
if holds_change >= tonumber(ARGV[1]) then return 0 end
if live ~= tonumber(ARGV[5]) then return -1 end

local current = tonumber(ARGV[6])
for i = 1, current do
  redis.call('DEL', KEYS[8 + i])
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('ZREM', KEYS[6], id)
end
redis.call('DEL', KEYS[5])
local unit_id = ARGV[3]
for i = 7, #ARGV, 2 do
  local key = KEYS[8 + current + (i - 5) / 2]
  redis.call('SADD', KEYS[5], ARGV[i])
  redis.call('ZADD', KEYS[6], ARGV[i + 1], ARGV[i])
  redis.call('HSET', key, 'unit', unit_id, 'expires', ARGV[i + 1])
end

local s = cjson.decode(ARGV[4])
local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'available', s.available, 'held', s.held,
           'waitlist', s.waitlist, 'capacity', s.capacity, 'discharges', s.discharges,
           'updated_at', s.updated_at, 'updated_by', s.updated_by, 'source', s.source,
           'seq', seq, 'note', s.note, 'program', s.program, 'org', s.org,
           'caught_up_seq', seq, 'caught_up_from', ARGV[1])
redis.call('SADD', KEYS[8], unit_id)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'e', cjson.encode({
  op = 'restore', unit = unit_id, program = s.program, available = s.available,
  held = s.held, waitlist = s.waitlist, capacity = s.capacity, discharges = s.discharges,
  at = s.updated_at, by = s.updated_by, source = s.source, note = s.note, hold = '',
  actor = 'system:catch-up', event_at = s.updated_at,
  dir = redis.call('GET', KEYS[7]) or '0'}))
return seq
