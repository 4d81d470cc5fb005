-- Applies changes to units, each atomically and on its own, and appends each accepted one to
-- the event stream (one call for a batch: a census, a feed; one for a single change).
-- Invariant kept here: available >= 0, held >= 0, available + held <= capacity; every
-- accepted change takes the next seq and is the stream entry with id "<seq>-0". A refused
-- change changes nothing; the changes after it are still applied.
-- `stale` changes no count and keeps the unit's updated_at/by/source/note: it only puts on
-- the stream that the unit's count is now older than its program promised.
-- Called only through inventory/scripts.py (`Scripts.changes`), the one
-- place that knows these positions; the names are those of `inventory.keys.Keys` and
-- `scripts.Change`.
-- KEYS: 1 seq, 2 stream, 3 epoch (absent while the live state is being rebuilt),
--       4 units (set of unit ids), 5 directory version (its value goes on each stream
--       entry as `dir`, so a reader whose directory cache is at that version labels the
--       event without asking Redis), then two per change (6, 7, ...): the unit's hash and
--       the write budget it is charged to (any key when it has none)
-- ARGV: 1 stream_max_events, 2 the changes as one JSON array (one argument rather than 16
--       per change: packing thousands of arguments was the client's largest cost in a
--       batch), each an array of 16: op (create|set|attest|capacity|stale), at (ISO time),
--       by, source, only_organization ('' = any), available, capacity, waitlist,
--       expected_discharges as JSON text (available..discharges: '' keeps the current
--       value), note, program_id, organization_id (these two only for create), unit_id,
--       then the budget: limit ('' = none), window (seconds), now (Unix seconds, as text:
--       it is stored as the library writes it)
-- The budget is the moving window of the `limits` library (its acquire_moving_window.lua,
-- on the key it would use), so writes counted here and writes counted by the library share
-- one budget: a list of hit times, newest first, at most `limit` long. A change over its
-- budget is refused and not counted; any other change counts, applied or refused.
-- Returns: one reply per change, in order: {seq, available, held, waitlist, capacity,
--          expected_discharges (JSON), program_id, organization_id, updated_at, updated_by,
--          source, note}, or a refusal as a string: EXISTS, NOUNIT, FORBIDDEN, NEGATIVE,
--          CONFLICT <available> <held> <capacity>, LIMITED <seconds until a hit ages out>
-- Errors (the whole call, nothing changed): NOTREADY
local max_events = ARGV[1]
local changes = cjson.decode(ARGV[2])
local FIRST_UNIT = 6

if redis.call('EXISTS', KEYS[3]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
local directory_version = redis.call('GET', KEYS[5]) or '0'

local function pick(arg, current)
  if arg == '' then return tonumber(current) end
  return tonumber(arg)
end

-- Charge one hit to the budget at `key`; the seconds to wait when it is spent, else nil.
local function charge(key, c)
  local limit = c[14]
  if limit == '' then return nil end
  limit = tonumber(limit)
  local window, now = tonumber(c[15]), tonumber(c[16])
  local oldest = redis.call('LINDEX', key, limit - 1)
  if oldest and tonumber(oldest) >= now - window then
    return math.max(1, math.ceil(tonumber(oldest) + window - now))
  end
  redis.call('LPUSH', key, c[16])
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('EXPIRE', key, window)
  return nil
end

local function apply(key, c)
  local op, at, by, source, only_org = c[1], c[2], c[3], c[4], c[5]
  local new_available, new_capacity, new_waitlist = c[6], c[7], c[8]
  local new_discharges, note = c[9], c[10]
  local program_id, org_id, unit_id = c[11], c[12], c[13]
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
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', max_events, seq .. '-0', 'e', cjson.encode({
    op = op, unit = unit_id, program = cur[6], available = available, held = held,
    waitlist = waitlist, capacity = capacity, discharges = discharges, at = at, by = by,
    source = source, note = note, hold = '', actor = actor, event_at = event_at,
    dir = directory_version}))
  return {seq, available, held, waitlist, capacity, discharges, cur[6], cur[7], at, by,
          source, note}
end

local replies = {}
for n, c in ipairs(changes) do
  local i = FIRST_UNIT + 2 * (n - 1)
  local wait = charge(KEYS[i + 1], c)
  if wait then
    replies[#replies + 1] = 'LIMITED ' .. wait
  else
    replies[#replies + 1] = apply(KEYS[i], c)
  end
end
return replies
