/**
 * Lua scripts: every multi-key change is one atomic round trip. Scripts return JSON (cjson) so results
 * keep their shape through the REST protocol. Time comes from the caller (ARGV now), so tests can fake it.
 *
 * Tokens are counted as *live* leases (expiry in the future). An expired lease stops counting at once, even
 * before a sweep reclaims it; so a late release of an expired lease can never free the token of whoever got
 * it next, and a lease id is fenced by the number it was issued with.
 */

// Pool key layout for scripts that touch several pools: 4 keys and 4 args per pool.
//   KEYS: leases zset, fence counter, capacity, lease hash    ARGV: pool, leaseId, ttlMs, default capacity
const poolHelpers = `
local function live_count(zkey, now)
  return redis.call('ZCOUNT', zkey, '(' .. now, '+inf')
end
local function capacity_of(capkey, default)
  local c = tonumber(redis.call('GET', capkey))
  if c == nil then return tonumber(default) end
  return c
end
-- Returns nil when every pool has room, else the name of the first full pool.
local function full_pool(k, a, n, now, idempotent)
  for i = 1, n do
    local z, cap = KEYS[k + (i-1)*4 + 1], KEYS[k + (i-1)*4 + 3]
    local pool, leaseId, default = ARGV[a + (i-1)*4 + 1], ARGV[a + (i-1)*4 + 2], ARGV[a + (i-1)*4 + 4]
    local score = idempotent and tonumber(redis.call('ZSCORE', z, leaseId)) or nil
    if not (score and score > now) and live_count(z, now) >= capacity_of(cap, default) then
      return pool
    end
  end
  return nil
end
local function take_leases(k, a, n, now, dumpId, target)
  local leases = {}
  for i = 1, n do
    local z, fencekey, hash = KEYS[k + (i-1)*4 + 1], KEYS[k + (i-1)*4 + 2], KEYS[k + (i-1)*4 + 4]
    local pool, leaseId, ttl = ARGV[a + (i-1)*4 + 1], ARGV[a + (i-1)*4 + 2], tonumber(ARGV[a + (i-1)*4 + 3])
    local score = tonumber(redis.call('ZSCORE', z, leaseId))
    local fence, expiresAt
    if score and score > now then
      -- the same acquire retried by the client: hand back the lease it already got
      fence, expiresAt = tonumber(redis.call('HGET', hash, 'fence')), score
    else
      fence, expiresAt = redis.call('INCR', fencekey), now + ttl
      redis.call('ZADD', z, expiresAt, leaseId)
      redis.call('HSET', hash, 'pool', pool, 'dumpId', dumpId, 'target', target, 'fence', fence, 'acquiredAt', now)
    end
    leases[i] = { pool = pool, leaseId = leaseId, fence = fence, expiresAt = expiresAt }
  end
  return leases
end
`;

/** KEYS: 4 per pool. ARGV: now, n, dumpId, target, then 4 per pool. */
export const acquireScript = `${poolHelpers}
local now, n, dumpId, target = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local full = full_pool(0, 4, n, now, true)
if full then return cjson.encode({ ok = false, pool = full }) end
return cjson.encode({ ok = true, leases = take_leases(0, 4, n, now, dumpId, target) })
`;

/**
 * Pops the queue head only if every pool has room, and takes its leases in the same step. A served pop is
 * remembered under the answer key (named by the request's first lease id) for ten minutes: the client
 * resends a request whose answer it lost, and that resend must get the same head, not pop the next one.
 * KEYS: queue, then 4 per pool, then the answer key. ARGV: now, n, request prefix, queued-container prefix,
 * then 4 per pool.
 */
export const popIfAvailableScript = `${poolHelpers}
local now, n, requestPrefix, containerPrefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local answerKey = KEYS[2 + n * 4]
local answered = redis.call('GET', answerKey)
if answered then return answered end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not head then return cjson.encode({ ok = false, empty = true }) end
local full = full_pool(1, 4, n, now, false)
if full then return cjson.encode({ ok = false, pool = full, head = head }) end
local requestKey = requestPrefix .. head
local request = redis.call('HMGET', requestKey, 'payload', 'uid', 'container', 'target')
redis.call('ZREM', KEYS[1], head)
redis.call('DEL', requestKey)
if request[2] and request[3] then
  local containerKey = containerPrefix .. request[2] .. ':' .. request[3]
  if redis.call('GET', containerKey) == head then redis.call('DEL', containerKey) end
end
local leases = take_leases(1, 4, n, now, head, request[4] or '')
local answer = cjson.encode({ ok = true, dumpId = head, payload = request[1], leases = leases })
redis.call('SET', answerKey, answer, 'PX', 600000)
return answer
`;

/** KEYS: 2 per lease (leases zset, lease hash). ARGV: now, n, then leaseId, fence per lease. */
export const releaseScript = `
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local results = {}
for i = 1, n do
  local z, hash = KEYS[(i-1)*2 + 1], KEYS[(i-1)*2 + 2]
  local leaseId, fence = ARGV[2 + (i-1)*2 + 1], tonumber(ARGV[2 + (i-1)*2 + 2])
  local score = tonumber(redis.call('ZSCORE', z, leaseId))
  local held = tonumber(redis.call('HGET', hash, 'fence'))
  local outcome
  if not score and not held then
    outcome = 'unknown'
  elseif held and held ~= fence then
    outcome = 'fenced'
  else
    redis.call('ZREM', z, leaseId)
    redis.call('DEL', hash)
    if score and score > now then outcome = 'released' else outcome = 'expired' end
  end
  results[i] = outcome
end
return cjson.encode(results)
`;

/** KEYS: leases zset, lease hash. ARGV: now, leaseId, fence, ttlMs. Returns the new expiry or 0. */
export const renewScript = `
local now, leaseId, fence, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local score = tonumber(redis.call('ZSCORE', KEYS[1], leaseId))
local held = tonumber(redis.call('HGET', KEYS[2], 'fence'))
if not score or score <= now or held ~= fence then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + ttl, leaseId)
return now + ttl
`;

const leaseRows = `
local function lease_rows(z, poolPrefix, ids, scores)
  local rows = {}
  for i, id in ipairs(ids) do
    local h = redis.call('HMGET', poolPrefix .. 'lease:' .. id, 'dumpId', 'target', 'fence', 'acquiredAt', 'pool')
    rows[i] = { leaseId = id, expiresAt = tonumber(scores[i]), dumpId = h[1] or '', target = h[2] or '',
                fence = tonumber(h[3]) or 0, acquiredAt = tonumber(h[4]) or 0 }
  end
  return rows
end
`;

/** KEYS: leases zset. ARGV: now, pool key prefix. Removes and returns every expired lease. */
export const reclaimScript = `${leaseRows}
local now, poolPrefix = tonumber(ARGV[1]), ARGV[2]
local flat = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES')
local ids, scores = {}, {}
for i = 1, #flat, 2 do ids[#ids + 1] = flat[i]; scores[#scores + 1] = flat[i + 1] end
local rows = lease_rows(KEYS[1], poolPrefix, ids, scores)
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('DEL', poolPrefix .. 'lease:' .. id)
end
if #rows == 0 then return '[]' end
return cjson.encode(rows)
`;

/** KEYS: leases zset. ARGV: pool key prefix. Every lease, live or expired, with its holder. */
export const holdersScript = `${leaseRows}
local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local ids, scores = {}, {}
for i = 1, #flat, 2 do ids[#ids + 1] = flat[i]; scores[#scores + 1] = flat[i + 1] end
if #ids == 0 then return '[]' end
return cjson.encode(lease_rows(KEYS[1], ARGV[1], ids, scores))
`;

/**
 * Idempotent by dump id, and once per container: a container already waiting keeps its place.
 * KEYS: queue, queue seq, request hash, queued-container key. ARGV: dumpId, payload, uid, container, target.
 */
export const enqueueScript = `
local dumpId, payload, uid, container, target = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local existing = redis.call('GET', KEYS[4]) or (redis.call('ZSCORE', KEYS[1], dumpId) and dumpId)
if existing then
  local rank = redis.call('ZRANK', KEYS[1], existing)
  if rank then return cjson.encode({ added = false, dumpId = existing, position = rank + 1 }) end
end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], seq, dumpId)
redis.call('HSET', KEYS[3], 'payload', payload, 'uid', uid, 'container', container, 'target', target)
redis.call('SET', KEYS[4], dumpId)
return cjson.encode({ added = true, dumpId = dumpId, position = redis.call('ZRANK', KEYS[1], dumpId) + 1 })
`;

/** KEYS: queue, request hash, queued-container key. ARGV: dumpId. */
export const dequeueScript = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return removed
`;

/**
 * KEYS: restarts hash. ARGV: restartCount, ttl seconds, observer (the event that reports it, or '').
 * Records the highest count; returns the previous or -1. The observer that raised the count gets the same
 * answer again, so a retried event still sees its restart.
 */
export const observeRestartScript = `
local count, ttl, by = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local stored = redis.call('HMGET', KEYS[1], 'count', 'previous', 'by')
local previous = tonumber(stored[1])
if by ~= '' and previous == count and stored[3] == by then return tonumber(stored[2]) end
if not previous or count > previous then
  redis.call('HSET', KEYS[1], 'count', count, 'previous', previous or -1, 'by', by)
  redis.call('EXPIRE', KEYS[1], ttl)
end
return previous or -1
`;

/**
 * Binds a container to the dump serving it, unless another dump holds a live lease for it.
 * KEYS: in-flight hash, dump pool leases zset. ARGV: now, dumpId, leaseId, ttlMs. Returns '' or the other dump.
 */
export const bindContainerScript = `
local now, dumpId, leaseId = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local held = redis.call('HMGET', KEYS[1], 'dumpId', 'leaseId')
if held[1] and held[1] ~= dumpId then
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], held[2]))
  if expiry and expiry > now then return held[1] end
end
redis.call('HSET', KEYS[1], 'dumpId', dumpId, 'leaseId', leaseId)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return ''
`;

/**
 * Whether the leases an event names prove its right to act on a dump: each lease is held by this dump with
 * the fence it was granted (and still live, when `live`), one of them is the dump pool's, and the container
 * is bound to this dump through it (when `bound`: a dead letter may no longer say which container).
 * Proven live leases are renewed to now + their ttl when it is above 0 (a holder at work keeps its lease).
 * Returns '' or why not. KEYS: in-flight hash, then leases zset and lease hash per lease.
 * ARGV: now, dumpId, live, n, bound, then leaseId, fence, pool, ttl per lease.
 */
export const proveLeasesScript = `
local now, dumpId, live, n, bound = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1', tonumber(ARGV[4]), ARGV[5] == '1'
local dumpLease
for i = 1, n do
  local z, hash = KEYS[1 + (i-1)*2 + 1], KEYS[1 + (i-1)*2 + 2]
  local leaseId, fence, pool = ARGV[5 + (i-1)*4 + 1], ARGV[5 + (i-1)*4 + 2], ARGV[5 + (i-1)*4 + 3]
  local held = redis.call('HMGET', hash, 'dumpId', 'fence')
  if not held[1] then return 'lease ' .. leaseId .. ' is not held' end
  if held[1] ~= dumpId then return 'lease ' .. leaseId .. ' is held for another dump' end
  if held[2] ~= fence then return 'lease ' .. leaseId .. ' was granted with another fence' end
  if live then
    local expiry = tonumber(redis.call('ZSCORE', z, leaseId))
    if not expiry or expiry <= now then return 'lease ' .. leaseId .. ' has expired' end
  end
  if pool == 'dump' then dumpLease = leaseId end
end
if not dumpLease then return 'no dump lease' end
if bound then
  local binding = redis.call('HMGET', KEYS[1], 'dumpId', 'leaseId')
  if binding[1] ~= dumpId or binding[2] ~= dumpLease then return 'the container is bound to another dump' end
end
if live then
  for i = 1, n do
    local z, leaseId, ttl = KEYS[1 + (i-1)*2 + 1], ARGV[5 + (i-1)*4 + 1], tonumber(ARGV[5 + (i-1)*4 + 4])
    local expiry = tonumber(redis.call('ZSCORE', z, leaseId))
    if ttl > 0 and expiry < now + ttl then redis.call('ZADD', z, 'XX', now + ttl, leaseId) end
  end
end
return ''
`;

/**
 * Claims an event once. The claim holds a token of the caller's, so a resent claim (its answer lost on
 * the way) is recognised as the same claim, while any other caller sees a duplicate.
 * KEYS: seen key. ARGV: token, ttl seconds. Returns 1 for the claimant, 0 for a duplicate.
 */
export const claimEventScript = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
`;

/**
 * KEYS: upload hash. ARGV: segments, checkpoint JSON, retention ms. A stale instance never moves a
 * checkpoint back; a saved state lives on for the retention after its last save.
 */
export const saveCheckpointScript = `
local stored = tonumber(redis.call('HGET', KEYS[1], 'segments'))
if stored and stored > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'segments', ARGV[1], 'checkpoint', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;
