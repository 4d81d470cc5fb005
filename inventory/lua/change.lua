-- Applies changes to units, each atomically and on its own, and appends each accepted one to
-- the event stream (one call for a batch: a census, a feed; one for a single change).
-- Invariant kept here: available >= 0, held >= 0, available + held <= capacity; every
-- accepted change takes the next seq and is the stream entry with id "<seq>-0". A refused
-- change changes nothing; the changes after it are still applied.
-- `stale` changes no count and keeps the unit's updated_at/by/source/note: it only puts on
-- the stream that the unit's count is now older than its program promised.
-- Called only through inventory/scripts.py (`Scripts.change`, `Scripts.changes`), the one
-- place that knows these positions; the names are those of `inventory.keys.Keys` and
-- `scripts.Change`.
-- KEYS: 1 seq, 2 stream, 3 epoch (absent while the live state is being rebuilt),
--       4 units (set of unit ids), then one unit hash per change (5, 6, ...)
-- ARGV: 1 stream_max_events, then 13 per change: op (create|set|attest|capacity|stale),
--       at (ISO time), by, source, only_organization ('' = any), available, capacity,
--       waitlist, expected_discharges as JSON (available..discharges: '' keeps the current
--       value), note, program_id, organization_id (these two only for create), unit_id
-- Returns: one reply per change, in order: {seq, available, held, waitlist, capacity,
--          expected_discharges (JSON), program_id, organization_id, updated_at, updated_by,
--          source, note}, or a refusal as a string: EXISTS, NOUNIT, FORBIDDEN, NEGATIVE,
--          CONFLICT <available> <held> <capacity>
-- Errors (the whole call, nothing changed): NOTREADY
local max_events = ARGV[1]
local PER = 13

if redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end

local function pick(arg, current)
  if arg == '' then return tonumber(current) end
  return tonumber(arg)
end

local function apply(key, a)
  local op, at, by, source, only_org = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3],
                                       ARGV[a + 4]
  local new_available, new_capacity, new_waitlist = ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]
  local new_discharges, note = ARGV[a + 8], ARGV[a + 9]
  local program_id, org_id, unit_id = ARGV[a + 10], ARGV[a + 11], ARGV[a + 12]
  local exists = redis.call('EXISTS', key) == 1
  if op == 'create' then
    if exists then return 'EXISTS' end
  elseif not exists then
    return 'NOUNIT'
  end
  local cur = {0, 0, 0, 0, '[]', program_id, org_id, at, by, source, note}
  if exists then
    cur = redis.call('HMGET', key, 'available', 'held', 'waitlist', 'capacity',
                     'discharges', 'program', 'org', 'updated_at', 'updated_by', 'source',
                     'note')
  end
  local event_at, actor = at, by
  if op == 'stale' then at, by, source, note = cur[8], cur[9], cur[10], cur[11] end
  if only_org ~= '' and cur[7] ~= only_org then return 'FORBIDDEN' end

  local available = pick(new_available, cur[1])
  local held = tonumber(cur[2])
  local waitlist = pick(new_waitlist, cur[3])
  local capacity = pick(new_capacity, cur[4])
  local discharges = cur[5]
  if new_discharges ~= '' then discharges = new_discharges end
  if available < 0 or waitlist < 0 or capacity < 0 then return 'NEGATIVE' end
  if available + held > capacity then
    return 'CONFLICT ' .. available .. ' ' .. held .. ' ' .. capacity
  end

  local seq = redis.call('INCR', KEYS[1])
  redis.call('HSET', key, 'available', available, 'held', held, 'waitlist', waitlist,
             'capacity', capacity, 'discharges', discharges, 'updated_at', at,
             'updated_by', by, 'source', source, 'seq', seq, 'note', note,
             'program', cur[6], 'org', cur[7])
  if op == 'create' then redis.call('SADD', KEYS[4], unit_id) end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', max_events, seq .. '-0',
             'op', op, 'unit', unit_id, 'program', cur[6],
             'available', available, 'held', held, 'waitlist', waitlist,
             'capacity', capacity, 'discharges', discharges, 'at', at, 'by', by,
             'source', source, 'note', note, 'hold', '', 'actor', actor,
             'event_at', event_at)
  return {seq, available, held, waitlist, capacity, discharges, cur[6], cur[7], at, by,
          source, note}
end

local replies = {}
for i = 5, #KEYS do
  replies[#replies + 1] = apply(KEYS[i], 2 + (i - 5) * PER)
end
return replies
