-- Applies one change to a unit and appends it to the event stream, atomically.
-- Invariant kept here: available >= 0, held >= 0, available + held <= capacity; every
-- accepted change takes the next seq and is the stream entry with id "<seq>-0".
-- `stale` changes no count and keeps the unit's updated_at/by/source/note: it only puts on
-- the stream that the unit's count is now older than its program promised.
-- Called only through inventory/scripts.py (`Scripts.change`), the one place that knows
-- these positions; the names are those of `inventory.keys.Keys` and `scripts.Change`.
-- KEYS: 1 unit (hash), 2 seq, 3 stream, 4 epoch (absent while the live state is being
--       rebuilt), 5 units (set of unit ids)
-- ARGV: 1 op (create|set|attest|capacity|stale), 2 stream_max_events, 3 at (ISO time),
--       4 by, 5 source, 6 only_organization ('' = any), 7 available, 8 capacity,
--       9 waitlist, 10 expected_discharges as JSON (7-10: '' keeps the current value),
--       11 note, 12 program_id, 13 organization_id (12-13 only for create), 14 unit_id
-- Returns: {seq, available, held, waitlist, capacity, expected_discharges (JSON),
--           program_id, organization_id, updated_at, updated_by, source, note}
-- Errors: NOTREADY, EXISTS, NOUNIT, FORBIDDEN, NEGATIVE, CONFLICT <available> <held>
--         <capacity>
local op, max_events, at, by, source = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local only_org, new_available, new_capacity = ARGV[6], ARGV[7], ARGV[8]
local new_waitlist, new_discharges, note = ARGV[9], ARGV[10], ARGV[11]
local program_id, org_id, unit_id = ARGV[12], ARGV[13], ARGV[14]

if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
local exists = redis.call('EXISTS', KEYS[1]) == 1
if op == 'create' then
  if exists then return redis.error_reply('EXISTS') end
elseif not exists then
  return redis.error_reply('NOUNIT')
end
local cur = {0, 0, 0, 0, '[]', program_id, org_id, at, by, source, note}
if exists then
  cur = redis.call('HMGET', KEYS[1], 'available', 'held', 'waitlist', 'capacity',
                   'discharges', 'program', 'org', 'updated_at', 'updated_by', 'source',
                   'note')
end
local event_at, actor = at, by
if op == 'stale' then at, by, source, note = cur[8], cur[9], cur[10], cur[11] end
if only_org ~= '' and cur[7] ~= only_org then return redis.error_reply('FORBIDDEN') end

local function pick(arg, current)
  if arg == '' then return tonumber(current) end
  return tonumber(arg)
end
local available = pick(new_available, cur[1])
local held = tonumber(cur[2])
local waitlist = pick(new_waitlist, cur[3])
local capacity = pick(new_capacity, cur[4])
local discharges = cur[5]
if new_discharges ~= '' then discharges = new_discharges end
if available < 0 or waitlist < 0 or capacity < 0 then
  return redis.error_reply('NEGATIVE')
end
if available + held > capacity then
  return redis.error_reply('CONFLICT ' .. available .. ' ' .. held .. ' ' .. capacity)
end

local seq = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'available', available, 'held', held, 'waitlist', waitlist,
           'capacity', capacity, 'discharges', discharges, 'updated_at', at,
           'updated_by', by, 'source', source, 'seq', seq, 'note', note,
           'program', cur[6], 'org', cur[7])
if op == 'create' then redis.call('SADD', KEYS[5], unit_id) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', max_events, seq .. '-0',
           'op', op, 'unit', unit_id, 'program', cur[6],
           'available', available, 'held', held, 'waitlist', waitlist, 'capacity', capacity,
           'discharges', discharges, 'at', at, 'by', by, 'source', source,
           'note', note, 'hold', '', 'actor', actor, 'event_at', event_at)
return {seq, available, held, waitlist, capacity, discharges, cur[6], cur[7], at, by,
        source, note}
