-- Counts one message in the shared store and returns what was seen, in one
-- round trip. Mirrors the in-memory records (state/sender.rs and
-- state/campaign.rs): the same two-bin windows in event time, except that a
-- text's distinct senders and recipients are HyperLogLogs per bin.
--
-- KEYS[1] the sender's record (one packed string: the same fields as in
-- memory, then the recent contacts' tags), KEYS[2] the (brand, person) conversation,
-- KEYS[3..] the text's bands (each the base of four keys per bin).
-- ARGV: 1 t (s), 2 has sender (0/1), 3 fan-out bin, 4 fan-out bit (-1: no
-- recipient), 5 contact tag (0: none), 6 sender TTL (s), 7 new by profile
-- (-1 unknown, 0, 1), 8 conversation window (s), 9 campaign bin, 10 campaign
-- TTL (s), 11 sender id, 12 recipient id ('' none), 13 look up the
-- conversation (0/1).
local t = tonumber(ARGV[1])
-- last, first, fan-out bin, minute and hour bins, then the fan-out bitmaps'
-- low and high words per bin (signed: Lua's bit library is 32-bit signed).
local RECORD = '<I4I4I4HHHHi4i4i4i4'
local out = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

if ARGV[13] == '1' then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  if last > 0 and t - last < tonumber(ARGV[8]) then out[1] = 1 end
end

local function roll(b0, b1, shift)
  if shift == 1 then return 0, b0 elseif shift > 1 then return 0, 0 end
  return b0, b1
end

local function count_add(b0, b1, shift)
  b0, b1 = roll(b0, b1, shift)
  if shift < 0 then b1 = math.min(b1 + 1, 65535) else b0 = math.min(b0 + 1, 65535) end
  return b0, b1
end

local new_in_stream = false
if ARGV[2] == '1' then
  local k = KEYS[1]
  local packed = redis.call('GET', k)
  local fbin = tonumber(ARGV[3])
  local l, f, fb = t, t, fbin
  local m0, m1, h0, h1, a0, a1, b0, b1 = 0, 0, 0, 0, 0, 0, 0, 0
  local contacts = ''
  if packed then
    local at
    l, f, fb, m0, m1, h0, h1, a0, a1, b0, b1, at = struct.unpack(RECORD, packed)
    contacts = string.sub(packed, at)
  end
  m0, m1 = count_add(m0, m1, math.floor(t / 60) - math.floor(l / 60))
  h0, h1 = count_add(h0, h1, math.floor(t / 3600) - math.floor(l / 3600))
  local shift = fbin - fb
  fb = math.max(fb, fbin)
  a0, a1 = roll(a0, a1, shift)
  b0, b1 = roll(b0, b1, shift)
  local fbit = tonumber(ARGV[4])
  local first_contact = 0
  if fbit >= 0 then
    local word = bit.lshift(1, fbit % 32)
    if shift < 0 then
      if fbit < 32 then a1 = bit.bor(a1, word) else b1 = bit.bor(b1, word) end
    else
      if fbit < 32 then a0 = bit.bor(a0, word) else b0 = bit.bor(b0, word) end
    end
    local tag = ARGV[5]
    if not string.find(',' .. contacts .. ',', ',' .. tag .. ',', 1, true) then
      first_contact = 1
      local list = {}
      for c in string.gmatch(contacts, '[^,]+') do list[#list + 1] = c end
      list[#list + 1] = tag
      while #list > 8 do table.remove(list, 1) end
      contacts = table.concat(list, ',')
    end
  end
  l = math.max(l, t)
  f = math.min(f, t)
  redis.call('SET', k, struct.pack(RECORD, l, f, fb, m0, m1, h0, h1, a0, a1, b0, b1) .. contacts,
    'EX', ARGV[6])
  new_in_stream = l - f < 3600
  out[2] = 1
  out[3] = m0; out[4] = m1; out[5] = h0; out[6] = h1; out[7] = l
  out[8] = bit.bor(a0, a1); out[9] = bit.bor(b0, b1)
  out[10] = first_contact
  if new_in_stream then out[11] = 1 end
end

local new_sender = new_in_stream
if ARGV[7] == '1' then new_sender = true elseif ARGV[7] == '0' then new_sender = false end
if new_sender then out[12] = 1 end

local bin = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])
local best, best_m = nil, -1
for i = 3, #KEYS do
  local cur = KEYS[i] .. ':' .. bin
  local prev = KEYS[i] .. ':' .. (bin - 1)
  -- A bin's keys are set to expire when created (PFADD answers 1 then, and
  -- whenever it adds someone new), not on every message.
  local m = redis.call('INCR', cur .. ':m')
  if m == 1 then redis.call('EXPIRE', cur .. ':m', ttl) end
  if ARGV[2] == '1' then
    if redis.call('PFADD', cur .. ':s', ARGV[11]) == 1 then redis.call('EXPIRE', cur .. ':s', ttl) end
    if new_sender and redis.call('PFADD', cur .. ':n', ARGV[11]) == 1 then
      redis.call('EXPIRE', cur .. ':n', ttl)
    end
  end
  if ARGV[12] ~= '' and redis.call('PFADD', cur .. ':r', ARGV[12]) == 1 then
    redis.call('EXPIRE', cur .. ':r', ttl)
  end
  m = m + tonumber(redis.call('GET', prev .. ':m') or '0')
  if m > best_m then best, best_m = i, m end
end
-- Only a sender that is new or writes to several inboxes can be flagged
-- for spreading a text (rate::Participant::may_spread: at least 1.5
-- recipients, which two bits of the fan-out bitmap make): for everyone
-- else, most customers, the counts are not read. A count merges two
-- HyperLogLogs, which for a text that many people send is the costliest
-- step of the script.
local function two_bits(x)
  local n = 0
  while x ~= 0 and n < 2 do x = bit.band(x, x - 1); n = n + 1 end
  return n
end
local spreading = new_sender or two_bits(out[8]) + two_bits(out[9]) >= 2
if best then
  out[13] = 1
  out[14] = best_m
end
if best and spreading then
  local cur = KEYS[best] .. ':' .. bin
  local prev = KEYS[best] .. ':' .. (bin - 1)
  out[15] = redis.call('PFCOUNT', cur .. ':s', prev .. ':s')
  out[16] = redis.call('PFCOUNT', cur .. ':r', prev .. ':r')
  out[17] = redis.call('PFCOUNT', cur .. ':n', prev .. ':n')
end
return out
