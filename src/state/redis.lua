-- Counts one message in the shared store and returns what was seen, in one
-- round trip. Mirrors the in-memory records (state/sender.rs and
-- state/campaign.rs): the same two-bin windows in event time, except that a
-- text's distinct senders and recipients are HyperLogLogs per bin.
--
-- KEYS[1] the sender's record (one packed string: the same fields as in
-- memory, then the recent contacts' tags), KEYS[2] the (brand, person) conversation,
-- KEYS[3..] the text's bands (each the base of a hash and up to three
-- HyperLogLogs per bin).
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
local sid = ''
if ARGV[2] == '1' then sid = ARGV[11] end
local rid = ARGV[12]

-- A band's bin is a hash (`m` messages; the first message's sender `s`,
-- recipient `r` and whether it was new `n`; `h` once the HyperLogLogs
-- `:s`, `:r` and `:n` hold them). Most texts are sent once: they cost one
-- small key per band, and the HyperLogLogs are made only when the band
-- sees a second message in the window. A key gets its expiry when created
-- (PFADD answers 1 then, and whenever it adds someone new), not on every
-- message.
local function hll_add(key, s, r, new)
  if s ~= '' then
    if redis.call('PFADD', key .. ':s', s) == 1 then redis.call('EXPIRE', key .. ':s', ttl) end
    if new and redis.call('PFADD', key .. ':n', s) == 1 then
      redis.call('EXPIRE', key .. ':n', ttl)
    end
  end
  if r ~= '' and redis.call('PFADD', key .. ':r', r) == 1 then
    redis.call('EXPIRE', key .. ':r', ttl)
  end
end

local function materialize(key)
  local f = redis.call('HMGET', key, 'h', 's', 'r', 'n')
  if f[1] or not f[2] then return end
  hll_add(key, f[2], f[3], f[4] == '1')
  redis.call('HSET', key, 'h', 1)
end

local best, best_m = nil, -1
for i = 3, #KEYS do
  local cur = KEYS[i] .. ':' .. bin
  local prev = KEYS[i] .. ':' .. (bin - 1)
  local m = redis.call('HINCRBY', cur, 'm', 1)
  if m == 1 then
    redis.call('HSET', cur, 's', sid, 'r', rid, 'n', new_sender and 1 or 0)
    redis.call('EXPIRE', cur, ttl)
  end
  local pm = tonumber(redis.call('HGET', prev, 'm') or '0')
  if m + pm >= 2 then
    materialize(cur)
    if m > 1 then hll_add(cur, sid, rid, new_sender) end
    if pm == 1 then materialize(prev) end
  end
  if m + pm > best_m then best, best_m = i, m + pm end
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
  if best_m == 1 then
    -- The text's only message is this one.
    if sid ~= '' then out[15] = 1 end
    if rid ~= '' then out[16] = 1 end
    if sid ~= '' and new_sender then out[17] = 1 end
  else
    local cur = KEYS[best] .. ':' .. bin
    local prev = KEYS[best] .. ':' .. (bin - 1)
    out[15] = redis.call('PFCOUNT', cur .. ':s', prev .. ':s')
    out[16] = redis.call('PFCOUNT', cur .. ':r', prev .. ':r')
    out[17] = redis.call('PFCOUNT', cur .. ':n', prev .. ':n')
  end
end
return out
