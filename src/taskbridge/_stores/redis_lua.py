"""The Lua scripts behind :class:`~taskbridge._stores.redis.RedisStore`, one per state change.

Every script but ``QUERY`` starts with ``PRELUDE`` and takes the namespace as ``ARGV[1]``; they
use only commands and arguments Redis 6.2 has.
"""

from __future__ import annotations

from taskbridge._stores.redis_wire import RAW_FIELDS

PRELUDE = """
local ns = ARGV[1]
local function k(...) return table.concat({ns, ...}, ':') end
-- A record as one JSON object (RedisStore parses it in one call, redis_wire.decode_document):
-- its hash's fields, whose values are JSON texts but for the raw ones, written as strings.
local RAW = {""" + ", ".join(f"{name} = true" for name in sorted(RAW_FIELDS)) + """}
local function whole(rec)
  local flat, parts = redis.call('HGETALL', rec), {}
  for i = 1, #flat, 2 do
    local value = flat[i + 1]
    if RAW[flat[i]] then value = cjson.encode(value) end
    parts[#parts + 1] = '"' .. flat[i] .. '":' .. value
  end
  return '{' .. table.concat(parts, ',') .. '}'
end
local function release(id, key)
  if key then
    local claim = k('idem', key)
    if redis.call('GET', claim) == id then redis.call('DEL', claim) end
  end
end
-- Re-file a record in the status-dependent indexes after its status (or retried_as, or
-- discarded_at) changed. FAILED records wait for purge in an index of their own (their ttl
-- may differ).
local function place(id, old)
  local f = redis.call('HMGET', k('rec', id),
    'status', 'enqueued_at', 'finished_at', 'heartbeat_at', 'retried_as', 'discarded_at',
    'task_name', 'queue')
  -- Out of the indexes the old status filed it in (and only those: each is a sorted set of
  -- up to every record in the store, and this runs on every transition).
  if old then
    redis.call('ZREM', k('idx', 'status', old), id)
    redis.call('ZREM', k('idx', 'ts', f[7], old), id)
    redis.call('ZREM', k('idx', 'qs', f[8], old), id)
    if old == 'RUNNING' then
      redis.call('ZREM', k('idx', 'heartbeat'), id)
    elseif old == 'FAILED' then
      redis.call('ZREM', k('idx', 'dead'), id)
      redis.call('ZREM', k('idx', 'finished', 'FAILED'), id)
      redis.call('ZREM', k('idx', 'finished'), id)  -- where earlier versions filed it
    elseif old == 'SUCCEEDED' or old == 'CANCELED' then
      redis.call('ZREM', k('idx', 'finished'), id)
    end
  end
  redis.call('ZADD', k('idx', 'ts', f[7], f[1]), f[2], id)
  redis.call('ZADD', k('idx', 'qs', f[8], f[1]), f[2], id)
  local s = f[1]
  redis.call('ZADD', k('idx', 'status', s), f[2], id)
  if s == 'FAILED' and not f[5] and not f[6] then redis.call('ZADD', k('idx', 'dead'), f[2], id) end
  if s == 'FAILED' then
    redis.call('ZADD', k('idx', 'finished', 'FAILED'), f[3] or '0', id)
  elseif s == 'SUCCEEDED' or s == 'CANCELED' then
    redis.call('ZADD', k('idx', 'finished'), f[3] or '0', id)
  end
  if s == 'SUCCEEDED' or s == 'FAILED' or s == 'CANCELED' then
    -- Hand the final record to a Result.wait() about to block on this execution, if one said
    -- so (RedisStore.get_and_watch, then wait_for_final): it wakes with it, no read after.
    if redis.call('EXISTS', k('waiting', id)) == 1 then
      redis.call('RPUSH', k('done', id), whole(k('rec', id)))
      redis.call('EXPIRE', k('done', id), 60)
    end
  elseif s == 'RUNNING' then
    redis.call('ZADD', k('idx', 'heartbeat'), f[4] or '0', id)
  end
end
local function drop(id)
  local f = redis.call('HMGET', k('rec', id), 'status', 'task_name', 'queue', 'idempotency_key')
  for _, index in ipairs({k('idx', 'all'), k('idx', 'status', f[1]), k('idx', 'task', f[2]),
      k('idx', 'queue', f[3]), k('idx', 'ts', f[2], f[1]), k('idx', 'qs', f[3], f[1]),
      k('idx', 'dead'), k('idx', 'finished'),
      k('idx', 'finished', 'FAILED'), k('idx', 'heartbeat')}) do
    redis.call('ZREM', index, id)
  end
  release(id, f[4])
  redis.call('DEL', k('rec', id), k('done', id), k('waiting', id))
  if redis.call('EXISTS', k('idx', 'all')) == 0 then redis.call('DEL', k('idx', 'version')) end
end
-- Attempt history entries are fields 'attempt:<n>' (set when attempt n starts) and
-- 'attempt:<n>:end' (when it ends); attempt numbers are consecutive, so keeping the latest
-- ``size`` once attempt n is in means deleting n - size and the ones before it.
local function trim_attempts(id, n, size)
  for j = n - size, 1, -1 do
    if redis.call('HDEL', k('rec', id), 'attempt:' .. j, 'attempt:' .. j .. ':end') == 0 then
      break
    end
  end
end
-- A record's fields as (name, value, ...) from redis_wire.pack's three arguments: names and
-- byte lengths space-separated, the values concatenated.
local function unpack_fields(names, lengths, blob)
  local fields, sizes, at = {}, {}, 1
  for size in string.gmatch(lengths, '%d+') do sizes[#sizes + 1] = tonumber(size) end
  for name in string.gmatch(names, '%S+') do
    local size = sizes[#fields / 2 + 1]
    fields[#fields + 1] = name
    fields[#fields + 1] = string.sub(blob, at, at + size - 1)
    at = at + size
  end
  return fields
end
-- Set JSON fields from (name, value) argument pairs; an empty value means None.
local function assign(id, from)
  local set, unset = {}, {}
  for i = from, #ARGV, 2 do
    if ARGV[i + 1] == '' then unset[#unset + 1] = ARGV[i]
    else set[#set + 1] = ARGV[i]; set[#set + 1] = ARGV[i + 1] end
  end
  if #set > 0 then redis.call('HSET', k('rec', id), unpack(set)) end
  if #unset > 0 then redis.call('HDEL', k('rec', id), unpack(unset)) end
end
-- Raw commands are encoded as: count, then per command its length and arguments.
-- Redis does not undo a script's writes when a command fails, so key types are checked first.
local KINDS = {HSET = 'hash', HMSET = 'hash', RPUSH = 'list', LPUSH = 'list', ZADD = 'zset',
  SADD = 'set'}
local function check(i)
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local want = KINDS[string.upper(ARGV[i + 1])]
    if want then
      local have = redis.call('TYPE', ARGV[i + 2])['ok']
      if have ~= 'none' and have ~= want then
        return ARGV[i + 1] .. ' ' .. ARGV[i + 2] .. ': the key holds a ' .. have ..
          ', not a ' .. want .. '; nothing was written'
      end
    end
    i = i + 1 + tonumber(ARGV[i])
  end
  return nil
end
local function skip(i)
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do i = i + 1 + tonumber(ARGV[i]) end
  return i
end
local function run(i)
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local len = tonumber(ARGV[i])
    redis.call(unpack(ARGV, i + 1, i + len))
    i = i + 1 + len
  end
end
"""

# ARGV after the namespace: now, ttl, count, then per record: id, idempotency key or '',
# its fields (three arguments: redis_wire.pack), commands. Decides every record first (an
# earlier record of the batch holds its key for later ones), checks commands, and only then
# writes.
CREATE = """
local now, ttl, i = tonumber(ARGV[2]), tonumber(ARGV[3]), 5
local plan, claimed = {}, {}
local function live(key)
  local owner = redis.call('GET', k('idem', key))
  if not owner then return false end
  local f = redis.call('HMGET', k('rec', owner), 'status', 'finished_at')
  if not f[1] or f[1] == 'FAILED' or f[1] == 'CANCELED'
      or (f[1] == 'SUCCEEDED' and (tonumber(f[2]) or 0) + ttl <= now) then
    return false
  end
  return owner
end
for r = 1, tonumber(ARGV[4]) do
  local e = {id = ARGV[i], key = ARGV[i + 1], fields = i + 2, commands = i + 5}
  e.owner = e.key ~= '' and (claimed[e.key] or live(e.key))
  if not e.owner then
    local problem = check(e.commands)
    if problem then return redis.error_reply(problem) end
    if e.key ~= '' then claimed[e.key] = e.id end
  end
  i = skip(e.commands)
  plan[r] = e
end
-- A store's first record: its indexes are complete from the start (see REINDEX).
if redis.call('EXISTS', k('idx', 'all')) == 0 then redis.call('SET', k('idx', 'version'), '2') end
for _, e in ipairs(plan) do
  if not e.owner then
    local id = e.id
    redis.call('HSET', k('rec', id),
      unpack(unpack_fields(ARGV[e.fields], ARGV[e.fields + 1], ARGV[e.fields + 2])))
    local f = redis.call('HMGET', k('rec', id), 'enqueued_at', 'task_name', 'queue')
    redis.call('ZADD', k('idx', 'all'), f[1], id)
    redis.call('ZADD', k('idx', 'task', f[2]), f[1], id)
    redis.call('ZADD', k('idx', 'queue', f[3]), f[1], id)
    place(id, false)
    if e.key ~= '' then redis.call('SET', k('idem', e.key), id) end
    run(e.commands)
  end
end
local out = {}
for r, e in ipairs(plan) do
  if e.owner then out[r] = whole(k('rec', e.owner)) else out[r] = '' end
end
return out
"""

RUN = """
local problem = check(2)
if problem then return redis.error_reply(problem) end
run(2)
"""

DISCARD = """
for i = 2, #ARGV do
  if redis.call('HGET', k('rec', ARGV[i]), 'status') == 'PENDING' then drop(ARGV[i]) end
end
"""

# ARGV after the namespace: id, attempt, now, worker, the attempt's start entry (JSON),
# the history size.
START = """
local id, rec, n = ARGV[2], k('rec', ARGV[2]), tonumber(ARGV[3])
local f = redis.call('HMGET', rec, 'status', 'attempts', 'cancel_requested')
if (f[1] ~= 'PENDING' and f[1] ~= 'RETRYING') or tonumber(f[2]) ~= n - 1
    or f[3] == 'true' then
  return false
end
redis.call('HSET', rec, 'status', 'RUNNING', 'attempts', ARGV[3], 'started_at', ARGV[4],
  'heartbeat_at', ARGV[4], 'worker', ARGV[5], 'attempt:' .. ARGV[3], ARGV[6])
trim_attempts(id, n, tonumber(ARGV[7]))
place(id, f[1])
return whole(rec)
"""

# ARGV after the namespace: id, attempt, status, the attempt's end entry (JSON), the history
# size, the envelope to keep without its arguments (or ''), the envelope's args and kwargs
# (JSON), then (name, value) pairs to assign. The envelope is kept without its arguments when
# they are the record's own (the same JSON text), so they are stored once.
FINISH = """
local id, rec, status, n = ARGV[2], k('rec', ARGV[2]), ARGV[4], tonumber(ARGV[3])
local f = redis.call('HMGET', rec, 'status', 'attempts', 'idempotency_key', 'args', 'kwargs')
if f[1] ~= 'RUNNING' or tonumber(f[2]) ~= n then return false end
redis.call('HSET', rec, 'status', status, 'attempt:' .. ARGV[3] .. ':end', ARGV[5])
trim_attempts(id, n, tonumber(ARGV[6]))
local envelope = ARGV[7]
if envelope ~= '' then
  if f[4] ~= ARGV[8] or f[5] ~= ARGV[9] then
    envelope = '{"args":' .. ARGV[8] .. ',"kwargs":' .. ARGV[9] .. ',' .. string.sub(envelope, 2)
  end
  redis.call('HSET', rec, 'envelope', envelope)
elseif status == 'RETRYING' then
  redis.call('HDEL', rec, 'envelope')
end
assign(id, 10)
place(id, 'RUNNING')
if status == 'FAILED' or status == 'CANCELED' then release(id, f[3]) end
return whole(rec)
"""

HEARTBEAT = """
local id, rec = ARGV[2], k('rec', ARGV[2])
local f = redis.call('HMGET', rec, 'status', 'attempts', 'cancel_requested')
if f[1] ~= 'RUNNING' or tonumber(f[2]) ~= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', rec, 'heartbeat_at', ARGV[4])
redis.call('ZADD', k('idx', 'heartbeat'), ARGV[4], id)
if f[3] == 'true' then return 1 end
return 0
"""

# ARGV after the namespace: id, the latest progress (JSON), its log entry (JSON), the log size.
# Log entries are fields 'progress:<seq>', seq counting up in 'progress_seq'.
PROGRESS = """
local rec = k('rec', ARGV[2])
if redis.call('EXISTS', rec) == 0 then return end
local seq = redis.call('HINCRBY', rec, 'progress_seq', 1)
redis.call('HSET', rec, 'progress', ARGV[3], 'progress:' .. seq, ARGV[4])
redis.call('HDEL', rec, 'progress:' .. (seq - tonumber(ARGV[5])))
"""

CANCEL = """
local id, rec = ARGV[2], k('rec', ARGV[2])
local f = redis.call('HMGET', rec, 'status', 'idempotency_key')
if not f[1] then return false end
if f[1] == 'PENDING' or f[1] == 'RETRYING' then
  redis.call('HSET', rec, 'status', 'CANCELED', 'finished_at', ARGV[3])
  place(id, f[1])
  release(id, f[2])
elseif f[1] == 'RUNNING' then
  redis.call('HSET', rec, 'cancel_requested', 'true')
end
return whole(rec)
"""

MARK_RETRIED = """
local id, rec = ARGV[2], k('rec', ARGV[2])
local f = redis.call('HMGET', rec, 'status', 'retried_as')
if f[1] ~= 'FAILED' or f[2] then return false end
redis.call('HSET', rec, 'retried_as', ARGV[3])
place(id, 'FAILED')
return whole(rec)
"""

DISMISS = """
local id, rec = ARGV[2], k('rec', ARGV[2])
local f = redis.call('HMGET', rec, 'status', 'retried_as', 'discarded_at')
if f[1] ~= 'FAILED' or f[2] or f[3] then return false end
redis.call('HSET', rec, 'discarded_at', ARGV[3])
place(id, 'FAILED')
return whole(rec)
"""

# ARGV after the namespace: now, result ttl, FAILED ttl, how many records to look at. Oldest
# finished first; addition is monotonic, so the first record kept ends an index's turn.
# Returns how many records were deleted, and 1 when it stopped at the limit (more may be due).
# FAILED records filed with the others by earlier versions move to their own index.
PURGE = """
local now, budget, n = tonumber(ARGV[2]), tonumber(ARGV[5]), 0
local function sweep(index, ttl, moving)
  while budget > 0 do
    local found = redis.call('ZRANGE', index, 0, 0, 'WITHSCORES')
    if #found == 0 or tonumber(found[2]) + ttl > now then return end
    budget = budget - 1
    if moving and redis.call('HGET', k('rec', found[1]), 'status') == 'FAILED' then
      redis.call('ZREM', index, found[1])
      redis.call('ZADD', k('idx', 'finished', 'FAILED'), found[2], found[1])
    else
      drop(found[1])
      n = n + 1
    end
  end
end
sweep(k('idx', 'finished'), tonumber(ARGV[3]), true)
sweep(k('idx', 'finished', 'FAILED'), tonumber(ARGV[4]), false)
if budget <= 0 then return {n, 1} end
return {n, 0}
"""

# ARGV after the namespace: key, holder, now, expires_at, milliseconds until Redis may delete
# the lease (its ttl and a margin: expiry is decided by ``now``, Redis only cleans up).
LEASE = """
local key = k('lease', ARGV[2])
local f = redis.call('HMGET', key, 'holder', 'expires_at')
if f[1] and f[1] ~= ARGV[3] and tonumber(f[2]) > tonumber(ARGV[4]) then return 0 end
redis.call('HSET', key, 'holder', ARGV[3], 'expires_at', ARGV[5])
redis.call('PEXPIRE', key, ARGV[6])
return 1
"""

RELEASE_LEASE = """
local key = k('lease', ARGV[2])
if redis.call('HGET', key, 'holder') == ARGV[3] then redis.call('DEL', key) end
"""

# ARGV after the namespace: record ids. Files them in the task-and-status and queue-and-status
# indexes by their current status (a store written before those indexes existed); a record
# gone meanwhile is skipped, and one that changes later is moved by ``place``.
REINDEX = """
for i = 2, #ARGV do
  local id = ARGV[i]
  local f = redis.call('HMGET', k('rec', id), 'status', 'enqueued_at', 'task_name', 'queue')
  if f[1] then
    redis.call('ZADD', k('idx', 'ts', f[3], f[1]), f[2], id)
    redis.call('ZADD', k('idx', 'qs', f[4], f[1]), f[2], id)
  end
end
"""

SCRIPTS = {
    "create": CREATE,
    "run": RUN,
    "discard": DISCARD,
    "start": START,
    "finish": FINISH,
    "heartbeat": HEARTBEAT,
    "progress": PROGRESS,
    "cancel": CANCEL,
    "mark_retried": MARK_RETRIED,
    "dismiss": DISMISS,
    "purge": PURGE,
    "lease": LEASE,
    "release_lease": RELEASE_LEASE,
    "reindex": REINDEX,
}
