"""A daily character budget per provider, kept in the database.

The budget is money (DeepL Free: 500,000 characters a month), so it is
durable (a Redis flush must not reset it) and reserved atomically before a
call: ``UPDATE ... SET characters = characters + n WHERE characters + n <= budget``
either takes the characters or touches no row. A failed call gives them back.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from newsdesk.models import ProviderUsage

from .ratelimit import parse_per_provider


class BudgetExhausted(Exception):
    pass


def budget_daily_limit(*, provider: str) -> int:
    return int(parse_per_provider(raw=settings.NEWSDESK_TRANSLATION_DAILY_CHARS).get(provider, 0))


def _today():
    return timezone.now().date()


def budget_reserve(*, provider: str, characters: int) -> None:
    """Take ``characters`` from today's budget or raise BudgetExhausted."""
    limit = budget_daily_limit(provider=provider)
    day = _today()
    for _ in range(2):
        rows = ProviderUsage.objects.filter(provider=provider, day=day)
        if limit > 0:
            rows = rows.filter(characters__lte=limit - characters)
        if rows.update(characters=F("characters") + characters, calls=F("calls") + 1):
            return
        if ProviderUsage.objects.filter(provider=provider, day=day).exists():
            raise BudgetExhausted(f"{provider}: daily budget of {limit} characters used up")
        if limit > 0 and characters > limit:
            raise BudgetExhausted(f"{provider}: text longer than the daily budget of {limit} characters")
        try:
            with transaction.atomic():
                ProviderUsage.objects.create(provider=provider, day=day)
        except IntegrityError:
            pass  # another worker created today's row first
    raise BudgetExhausted(f"{provider}: could not reserve budget")


def budget_refund(*, provider: str, characters: int) -> None:
    """Give back the characters of a call that failed (providers bill successes)."""
    ProviderUsage.objects.filter(provider=provider, day=_today(), characters__gte=characters).update(
        characters=F("characters") - characters, failures=F("failures") + 1
    )
