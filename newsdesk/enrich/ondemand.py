"""On-demand translation of one article's full text, asked for by an editor.

It spends the shared provider budget, so it is bounded three ways before any
provider is called, all counted in Redis (atomic across web processes):

* per editor: ``NEWSDESK_ONDEMAND_PER_USER_HOUR`` requests an hour;
* per request: at most ``NEWSDESK_ONDEMAND_MAX_CHARS`` characters;
* per day: on-demand requests together take at most
  ``NEWSDESK_ONDEMAND_BUDGET_SHARE`` of the smallest daily budget in the
  provider chain, and never more than ``NEWSDESK_ONDEMAND_DAILY_CHARS``; the
  rest of each budget stays with ingest, which on-demand never eats into.

A request that fails gives its characters back.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from newsdesk.models import Article
from newsdesk.redisconn import redis_client

from .budget import budget_daily_limit, budget_day
from .pipeline import article_translate_content, content_plain_text
from .redisstate import redis_key

# KEYS[1] counter; ARGV: amount, cap, ttl seconds. Adds only if the total stays
# within the cap; returns the new total, or -1 when it would not fit.
_TAKE = """
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return -1 end
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return total
"""
_GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end return 0"


class OnDemandRefused(Exception):
    """Why an on-demand translation was not started; ``status`` is the HTTP answer."""

    def __init__(self, reason: str, *, status: int, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class OnDemand:
    text: str
    charged: int  # characters taken from the on-demand share (0: cache or nothing to do)


def ondemand_daily_cap() -> int:
    """Characters on-demand requests may use today, all editors together."""
    cap = max(0, settings.NEWSDESK_ONDEMAND_DAILY_CHARS)
    for provider in (name for name in settings.NEWSDESK_TRANSLATORS if name):
        limit = budget_daily_limit(provider=provider)
        if limit > 0:
            cap = min(cap, int(limit * settings.NEWSDESK_ONDEMAND_BUDGET_SHARE))
    return cap


def _take(key: str, amount: int, cap: int, ttl: int) -> bool:
    return int(redis_client().eval(_TAKE, 1, key, amount, cap, ttl)) >= 0


def _give_back(key: str, amount: int) -> None:
    if amount:
        redis_client().eval(_GIVE_BACK, 1, key, amount)


def ondemand_translate(*, article: Article, user_id: int) -> OnDemand:
    """Translate ``article``'s full text now for editor ``user_id``, within the bounds above.

    Raises OnDemandRefused before any provider call, and TranslationPending /
    TranslationFailed like ``article_translate_content``.
    """
    if article.content_en:
        return OnDemand(text=article.content_en, charged=0)
    text = content_plain_text(html=article.content_orig)
    if not text:
        raise OnDemandRefused("this article has no full text to translate (its feed sent only a summary)", status=404)
    limit = settings.NEWSDESK_ONDEMAND_MAX_CHARS
    if len(text) > limit:
        raise OnDemandRefused(
            f"the full text has {len(text)} characters; on-demand translation takes at most {limit} "
            "(NEWSDESK_ONDEMAND_MAX_CHARS)",
            status=413,
        )
    hourly = settings.NEWSDESK_ONDEMAND_PER_USER_HOUR
    if not _take(redis_key("ondemand", "user", str(user_id)), 1, hourly, 3600):
        raise OnDemandRefused(
            f"you asked for {hourly} translations in the last hour (NEWSDESK_ONDEMAND_PER_USER_HOUR)",
            status=429,
            retry_after=3600,
        )
    day_key = redis_key("ondemand", "chars", budget_day().isoformat())
    cap = ondemand_daily_cap()
    if not _take(day_key, len(text), cap, 2 * 86400):
        raise OnDemandRefused(
            f"on-demand translation has used its share of today's budget ({cap} characters); "
            "the rest is kept for incoming articles",
            status=429,
            retry_after=3600,
        )
    try:
        english = article_translate_content(article=article, retries=0)
    except BaseException:
        _give_back(day_key, len(text))
        raise
    return OnDemand(text=english, charged=len(text))
