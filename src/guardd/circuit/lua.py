"""The Redis scripts: each runs atomically on the server, so no two replicas interleave inside one."""

from __future__ import annotations

# KEYS: state hash, OPEN timer, upstream index set.
# ARGV: expected generation (-1: any), state, reason, kind, open_ms, after_open (0/1),
#       publish (0/1), channel, upstream, minimum generation.
# The OPEN's end is the timer key's PX expiry: Redis's clock, never a replica's.
CAS = """
local cur = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local expected = tonumber(ARGV[1])
if expected >= 0 and cur ~= expected then return {0, 0} end
if ARGV[6] == '1' then
  if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return {0, 0} end
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then return {0, ttl} end
end
local t = redis.call('TIME')
local now = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local gen = math.max(cur + 1, tonumber(ARGV[10]))
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'gen', gen, 'reason', ARGV[3], 'kind', ARGV[4],
           'changed_at', now, 'open_ms', ARGV[5])
if ARGV[2] == 'open' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[5]) else redis.call('DEL', KEYS[2]) end
redis.call('SADD', KEYS[3], ARGV[9])
local msg = cjson.encode({upstream=ARGV[9], state=ARGV[2], gen=gen, reason=ARGV[3], kind=ARGV[4],
                          changed_at=now, open_ms=ARGV[5]})
if ARGV[7] == '1' then redis.call('PUBLISH', ARGV[8], msg) end
return {1, msg}
"""

# KEYS: the upstream's replica set. ARGV: window key prefix, replica id, this replica's window, TTL ms.
# A replica that stops refreshing its window drops out of the fleet's counts when the key expires.
FLEET_TALLY = """
redis.call('SET', ARGV[1] .. ARGV[2], ARGV[3], 'PX', ARGV[4])
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) * 10)
local out = {}
for _, replica in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local window = redis.call('GET', ARGV[1] .. replica)
  if window then table.insert(out, window) else redis.call('SREM', KEYS[1], replica) end
end
return out
"""

# ARGV: slot key prefix, number of slots, claim TTL ms. The first free slot is this caller's; SET NX has one winner.
CLAIM_PROBE = """
for i = 1, tonumber(ARGV[2]) do
  if redis.call('SET', ARGV[1] .. i, '1', 'NX', 'PX', ARGV[3]) then return i end
end
return 0
"""
