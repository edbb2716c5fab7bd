"""One Redis round trip before a provider call, none after a successful one.

Before every provider call four shared decisions are needed, each atomic
across worker processes: the single-flight lock on the text (nobody else is
translating it), the circuit breaker (closed, or we hold the half-open
probe), the daily character budget (reserved, not merely checked) and a
rate-limit slot (GCRA on Redis's clock). :func:`call_claim` takes them all in
one Lua script, so a cache miss costs one round trip instead of four; a
refusal by any of them takes nothing from the others.

Why the lock outlives the call: a worker looks the text up in the cache,
misses, then claims the lock. If another worker stored the text in between,
the claim must not succeed, or the text would be sent twice. So the lock
records when its holder's call must be over (``token:end``, on Redis's
clock) and stays ``DONE_SECONDS`` past that: a claim before the end finds it
held, a claim after it finds the text done, and either way the worker reads
the row instead of calling. A claim that gets the lock within
``RECHECK_SECONDS`` of its cache miss therefore needs no second cache query
(an older miss is looked up again), and a successful call needs no Redis
round trip afterwards. A failed or empty call frees the lock at once
(:func:`call_finish`), so the next caller may try; a done lock whose row is
missing (deleted by an admin) is taken over after a short grace.

The budget lives in Redis for the reservation (atomic with the rest) and in
the database for durability (:mod:`.budget`): a missing Redis counter is
seeded from the day's ``ProviderUsage`` row.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings

from newsdesk.redisconn import redis_client

from .breaker import _keys as breaker_keys
from .budget import budget_daily_limit, budget_key, budget_seed
from .providers import ProviderError
from .ratelimit import parse_per_provider
from .redisstate import redis_key

log = logging.getLogger(__name__)

# A cache miss younger than this needs no second lookup after the lock is taken.
RECHECK_SECONDS = 60.0
# How long the "done" marker outlives the call; far above RECHECK_SECONDS plus
# the time between marking and writing the row (milliseconds).
DONE_SECONDS = 600.0

# KEYS: 1 breaker open, 2 breaker tripped, 3 probe, 4 rate, 5 breaker fails, 6 budget, 7 lock
# ARGV: 1 rate interval ms, 2 longest rate wait ms, 3 probe ms, 4 characters,
#       5 daily limit (0: none), 6 lock token ('': no lock), 7 lock ms (the holder's
#       longest call), 8 take over a finished lock, 9 how long a finished lock stays
# The lock's value is "token:end" (Redis clock, ms): before its end the holder may
# still be calling; after it, until the key expires, the text counts as done.
# Returns {code, n, dirty}: 0 open, 1 half-open probe busy, 2 rate slot n ms away,
# 3 go (sleep n ms first), 4 budget spent (n used), 5 budget counter missing,
# 6 lock held by a caller still within its call, 7 text done (lock past its end).
_CLAIM = """
local token = ARGV[6]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if token ~= '' then
  local held = redis.call('GET', KEYS[7])
  if held then
    local ends = tonumber(string.match(held, ':(%d+)$') or '0')
    if now < ends then return {6, 0, 0} end
    if ARGV[8] ~= '1' then return {7, 0, 0} end
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0, 0} end
local limit = tonumber(ARGV[5])
local chars = tonumber(ARGV[4])
if limit > 0 then
  local used = redis.call('GET', KEYS[6])
  if not used then return {5, 0, 0} end
  if tonumber(used) + chars > limit then return {4, tonumber(used), 0} end
end
local probing = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then return {1, 0, 0} end
  probing = 1
end
local wait = 0
local interval = tonumber(ARGV[1])
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[4]) or '0')
  if tat < now then tat = now end
  wait = tat - now
  if wait > tonumber(ARGV[2]) then
    if probing == 1 then redis.call('DEL', KEYS[3]) end
    return {2, wait, 0}
  end
  redis.call('SET', KEYS[4], tat + interval, 'PX', wait + interval + 1000)
end
if limit > 0 then redis.call('INCRBY', KEYS[6], chars) end
if token ~= '' then
  redis.call('SET', KEYS[7], token .. ':' .. (now + tonumber(ARGV[7])), 'PX', tonumber(ARGV[7]) + tonumber(ARGV[9]))
end
return {3, wait, redis.call('EXISTS', KEYS[5]) + probing}
"""

# KEYS: 1 lock, 2 breaker fails, 3 tripped, 4 probe, 5 open; ARGV: 1 token ('': keep the lock),
# 2 '1' to close the breaker. Frees the lock if it is still ours; returns 1 when it closed the breaker.
_FINISH = """
local closed = 0
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2], KEYS[3], KEYS[4]) > 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  closed = 1
end
if ARGV[1] ~= '' then
  local held = redis.call('GET', KEYS[1])
  if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then redis.call('DEL', KEYS[1]) end
end
return closed
"""

# The happy path of call_claim for several texts of one article at once (a
# title and a summary that both missed the cache): the locks that are free are
# taken together with one budget reservation and consecutive rate slots.
# Anything unusual (breaker not closed, budget counter missing or short, a
# slot too far away) takes nothing and returns {-1}: the caller falls back to
# one call_claim per text, which handles each case.
# KEYS: 1 open, 2 tripped, 3 rate, 4 fails, 5 budget, 6.. locks
# ARGV: 1 rate interval ms, 2 longest rate wait ms, 3 daily limit, 4 lock ms, 5 done ms,
#       then per text: token, characters
# Returns {dirty, then per text: code (3 go, 6 held, 7 done), wait ms}.
_CLAIM_MANY = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local codes, total, n = {}, 0, 0
for i = 6, #KEYS do
  local held = redis.call('GET', KEYS[i])
  local code = 3
  if held then
    code = 7
    if now < tonumber(string.match(held, ':(%d+)$') or '0') then code = 6 end
  else
    total = total + tonumber(ARGV[5 + 2 * (i - 5)])
    n = n + 1
  end
  codes[i - 5] = code
end
local out = {0}
if n > 0 then
  if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return {-1} end
  local limit = tonumber(ARGV[3])
  if limit > 0 then
    local used = redis.call('GET', KEYS[5])
    if not used or tonumber(used) + total > limit then return {-1} end
  end
  local interval = tonumber(ARGV[1])
  local tat = now
  if interval > 0 then
    tat = tonumber(redis.call('GET', KEYS[3]) or '0')
    if tat < now then tat = now end
    if tat + (n - 1) * interval - now > tonumber(ARGV[2]) then return {-1} end
    redis.call('SET', KEYS[3], tat + n * interval, 'PX', tat + n * interval - now + 1000)
  end
  if limit > 0 then redis.call('INCRBY', KEYS[5], total) end
  out[1] = redis.call('EXISTS', KEYS[4])
  local lock_ms = tonumber(ARGV[4])
  local j = 0
  for i = 6, #KEYS do
    if codes[i - 5] == 3 then
      redis.call('SET', KEYS[i], ARGV[4 + 2 * (i - 5)] .. ':' .. (now + lock_ms), 'PX', lock_ms + tonumber(ARGV[5]))
      out[#out + 1] = 3
      out[#out + 1] = tat + j * interval - now
      j = j + 1
    else
      out[#out + 1] = codes[i - 5]
      out[#out + 1] = 0
    end
  end
  return out
end
for i = 1, #codes do
  out[#out + 1] = codes[i]
  out[#out + 1] = 0
end
return out
"""

_scripts: dict[tuple[int, str], object] = {}


def _script(source: str) -> object:
    client = redis_client()
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(source)
    return script


@dataclass(frozen=True)
class Claim:
    """``go``: call now (lock, probe, budget and slot taken); ``held``: another
    caller is translating this text; ``done``: another caller translated it."""

    outcome: str
    # True when the breaker holds failures or a probe: a success must clear them.
    dirty: bool = False
    # Characters taken from the Redis budget (given back if the call fails).
    reserved: int = 0
    # call_claim_many: the lock taken, and when (time.monotonic()) the rate slot comes.
    lock_key: str = ""
    token: str = ""
    not_before: float = 0.0


def call_claim(
    *,
    provider: str,
    characters: int,
    lock_key: str = "",
    token: str = "",
    lock_seconds: float = 0.0,
    take_done: bool = False,
) -> Claim:
    """Take the lock (when ``token``), pass the breaker, reserve the budget and
    a rate slot (sleeping until it), in one round trip. Raises ProviderError
    (not retryable, not a breaker failure) when the breaker, the budget or the
    rate limit refuses. While a half-open probe is in flight, waits up to the
    call timeout for its outcome."""
    timeout = settings.NEWSDESK_TRANSLATION_TIMEOUT
    per_second = parse_per_provider(raw=settings.NEWSDESK_TRANSLATION_RATES).get(provider, 0.0)
    interval_ms = max(1, int(1000 / per_second)) if per_second > 0 else 0
    limit = budget_daily_limit(provider=provider)
    open_key, fails_key, tripped_key, probe_key = breaker_keys(provider)
    bkey = budget_key(provider=provider)
    keys = [open_key, tripped_key, probe_key, redis_key("rate", provider), fails_key, bkey, lock_key or bkey]
    args = [
        interval_ms,
        int(timeout * 1000),
        max(1, int((timeout + 5) * 1000)),
        characters,
        limit,
        token,
        max(1, int(lock_seconds * 1000)),
        "1" if take_done else "0",
        int(DONE_SECONDS * 1000),
    ]
    script = _script(_CLAIM)
    give_up = time.monotonic() + timeout
    while True:
        code, n, dirty = script(keys=keys, args=args)
        if code == 3:
            if n:
                time.sleep(n / 1000)
            return Claim("go", dirty=bool(dirty), reserved=characters if limit > 0 else 0)
        if code == 6:
            return Claim("held")
        if code == 7:
            return Claim("done")
        if code == 5:
            budget_seed(provider=provider, key=bkey)
            continue
        if code == 0:
            raise ProviderError(f"{provider}: circuit open", retryable=False, breaker=False)
        if code == 2:
            raise ProviderError(f"{provider}: rate limit: next slot in {n / 1000:.2f}s", retryable=False, breaker=False)
        if code == 4:
            if characters > limit:
                reason = f"{provider}: text longer than the daily budget of {limit} characters"
            else:
                reason = f"{provider}: daily budget of {limit} characters used up"
            raise ProviderError(reason, retryable=False, breaker=False)
        if time.monotonic() >= give_up:
            raise ProviderError(f"{provider}: circuit half-open, probe in flight", retryable=False, breaker=False)
        time.sleep(0.05)


def call_claim_many(*, provider: str, texts: list[tuple[str, str, int]], lock_seconds: float) -> list[Claim] | None:
    """``call_claim`` for several texts (lock key, token, characters) in one
    round trip, when nothing stands in the way; None when the caller should
    claim text by text instead. A ``go`` claim's rate slot comes at its
    ``not_before``: the caller sleeps until then before calling.

    Every call still passes the breaker: the later calls of an article follow
    the first within its own call time, and a failed call ends the article's
    translation (the caller frees the claims it did not use)."""
    per_second = parse_per_provider(raw=settings.NEWSDESK_TRANSLATION_RATES).get(provider, 0.0)
    limit = budget_daily_limit(provider=provider)
    open_key, fails_key, tripped_key, _probe = breaker_keys(provider)
    args: list[object] = [
        max(1, int(1000 / per_second)) if per_second > 0 else 0,
        int(settings.NEWSDESK_TRANSLATION_TIMEOUT * 1000),
        limit,
        max(1, int(lock_seconds * 1000)),
        int(DONE_SECONDS * 1000),
    ]
    for _key, token, characters in texts:
        args += [token, characters]
    keys = [open_key, tripped_key, redis_key("rate", provider), fails_key, budget_key(provider=provider)]
    out = _script(_CLAIM_MANY)(keys=keys + [key for key, _token, _chars in texts], args=args)
    started = time.monotonic()  # the slots count from Redis's answer, so no call comes early
    if out[0] == -1:
        return None
    dirty = bool(out[0])
    claims = []
    for i, (key, token, characters) in enumerate(texts):
        code, wait_ms = out[1 + 2 * i], out[2 + 2 * i]
        if code == 3:
            claims.append(
                Claim(
                    "go",
                    dirty=dirty,
                    reserved=characters if limit > 0 else 0,
                    lock_key=key,
                    token=token,
                    not_before=started + wait_ms / 1000,
                )
            )
        else:
            claims.append(Claim("held" if code == 6 else "done"))
    return claims


def call_finish(*, provider: str, lock_key: str = "", token: str = "", dirty: bool = False) -> None:
    """After a call: free the lock (when ``token``: nothing was cached, so the
    next caller must be able to try) and close the breaker after a successful
    call that found it ``dirty``. A successful call that cached its text needs
    neither, so it makes no round trip here."""
    if not token and not dirty:
        return
    open_key, fails_key, tripped_key, probe_key = breaker_keys(provider)
    closed = _script(_FINISH)(
        keys=[lock_key or fails_key, fails_key, tripped_key, probe_key, open_key],
        args=[token, "1" if dirty else "0"],
    )
    if closed:
        log.info("event=breaker_closed provider=%s", provider)
