-- Applies one change to a unit and appends it to the event stream, atomically.
-- Invariant kept here: available >= 0, held >= 0, available + held <= capacity; every
-- accepted change takes the next seq and is the stream entry with id "<seq>-0".
-- KEYS: 1 unit hash, 2 seq counter, 3 event stream, 4 ready marker, 5 set of unit ids
-- `stale` changes no count and keeps the unit's updated_at/by/source: it only puts on the
-- stream that the unit's count is now older than its program promised.
-- ARGV: 1 op (create|set|attest|capacity|stale), 2 stream max length, 3 at (ISO time), 4 by,
--       5 source, 6 organization the caller is bound to ('' = any), 7 available,
--       8 capacity, 9 waitlist, 10 expected discharges as JSON (7-10: '' keeps the current
--       value), 11 note, 12 program id, 13 organization id (12-13 only for create),
--       14 unit id
if redis.call('EXISTS', KEYS[4]) == 0 then
  return redis.error_reply('NOTREADY live state is being rebuilt')
end
local op = ARGV[1]
local exists = redis.call('EXISTS', KEYS[1]) == 1
if op == 'create' then
  if exists then return redis.error_reply('EXISTS') end
elseif not exists then
  return redis.error_reply('NOUNIT')
end
local cur = {0, 0, 0, 0, '[]', ARGV[12], ARGV[13], ARGV[3], ARGV[4], ARGV[5], ARGV[11]}
if exists then
  cur = redis.call('HMGET', KEYS[1], 'available', 'held', 'waitlist', 'capacity',
                   'discharges', 'program', 'org', 'updated_at', 'updated_by', 'source',
                   'note')
end
local at, by, source, note = ARGV[3], ARGV[4], ARGV[5], ARGV[11]
if op == 'stale' then at, by, source, note = cur[8], cur[9], cur[10], cur[11] end
if ARGV[6] ~= '' and cur[7] ~= ARGV[6] then return redis.error_reply('FORBIDDEN') end

local function pick(arg, current)
  if arg == '' then return tonumber(current) end
  return tonumber(arg)
end
local available = pick(ARGV[7], cur[1])
local held = tonumber(cur[2])
local waitlist = pick(ARGV[9], cur[3])
local capacity = pick(ARGV[8], cur[4])
local discharges = cur[5]
if ARGV[10] ~= '' then discharges = ARGV[10] end
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
if op == 'create' then redis.call('SADD', KEYS[5], ARGV[14]) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0',
           'op', op, 'unit', ARGV[14], 'program', cur[6],
           'available', available, 'held', held, 'waitlist', waitlist, 'capacity', capacity,
           'discharges', discharges, 'at', at, 'by', by, 'source', source,
           'note', note, 'hold', '', 'actor', ARGV[4], 'event_at', ARGV[3])
return {seq, available, held, waitlist, capacity, discharges, cur[6], cur[7], at, by,
        source, note}
