"""Where translation stands, told to people: each provider's state and today's use.

Read by the dashboard (why a card is not translated yet, and when it is
tried again), ``/stats/`` (state, calls and characters against the budget)
and ``/healthz`` (translation degraded), and by the system checks (a
provider that can never work: unknown name, missing key). One Redis
pipeline and one query for the whole chain, so a page can afford it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings

from newsdesk.models import ProviderUsage

from .breaker import breaker_state
from .budget import budget_daily_limit, budget_day
from .providers import REGISTRY

# The setting (read from the environment variable of the same name) each keyed provider needs.
REQUIRED_SETTINGS: dict[str, str] = {
    "deepl": "NEWSDESK_DEEPL_KEY",
    "microsoft": "NEWSDESK_MICROSOFT_KEY",
    "libre": "NEWSDESK_LIBRETRANSLATE_URL",
}

READY, OPEN, PROBING, NO_KEY, BUDGET, UNKNOWN, UNCHECKED = (
    "ready",
    "circuit open",
    "probing",
    "not configured",
    "budget spent",
    "unknown provider",
    "state unknown",
)


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    name: str
    state: str  # one of the constants above
    reason: str  # why, in words ('' when ready)
    until: datetime.datetime | None  # when an open circuit lets a probe through
    calls: int  # today (UTC)
    characters: int
    failures: int
    budget: int  # characters per day, 0 = unlimited

    @property
    def ok(self) -> bool:
        return self.state in (READY, PROBING)

    @property
    def budget_percent(self) -> int | None:
        return min(100, round(100 * self.characters / self.budget)) if self.budget else None

    @property
    def summary(self) -> str:
        """'google: circuit open until 11:05 UTC (connection refused)'."""
        text = f"{self.name}: {self.state}"
        if self.until is not None:
            text += f" until {self.until:%H:%M} UTC"
        return f"{text} ({self.reason})" if self.reason else text


def translation_chain() -> list[str]:
    return [name for name in settings.NEWSDESK_TRANSLATORS if name]


def provider_config_problem(*, name: str) -> str:
    """Why ``name`` can never work as configured ('' when it can)."""
    if name not in REGISTRY:
        return f"unknown translation provider {name!r} (known: {', '.join(sorted(REGISTRY))})"
    needed = REQUIRED_SETTINGS.get(name)
    if needed and not getattr(settings, needed, ""):
        return f"{needed} is not set"
    return ""


def provider_statuses(*, now: datetime.datetime | None = None) -> list[ProviderStatus]:
    """The state of each provider in NEWSDESK_TRANSLATORS, in chain order.

    Redis unreachable: the breaker state is unknown and said so; usage still
    comes from the database.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    chain = translation_chain()
    usage = {row.provider: row for row in ProviderUsage.objects.filter(day=budget_day(), provider__in=chain).order_by()}
    statuses = []
    for name in chain:
        row = usage.get(name)
        calls, chars, failures = (row.calls, row.characters, row.failures) if row else (0, 0, 0)
        budget = budget_daily_limit(provider=name) if name in REGISTRY else 0
        state, reason, until = _state(name=name, now=now, characters=chars, budget=budget)
        statuses.append(ProviderStatus(name, state, reason, until, calls, chars, failures, budget))
    return statuses


def _state(
    *, name: str, now: datetime.datetime, characters: int, budget: int
) -> tuple[str, str, datetime.datetime | None]:
    problem = provider_config_problem(name=name)
    if problem:
        return (UNKNOWN if name not in REGISTRY else NO_KEY), problem, None
    if budget and characters >= budget:
        midnight = datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(), datetime.UTC)
        return BUDGET, f"{characters:,} of {budget:,} characters used today", midnight
    try:
        breaker = breaker_state(provider=name)
    except Exception as exc:  # Redis down: say we cannot tell, do not fail the page
        return UNCHECKED, f"Redis unreachable: {type(exc).__name__}", None
    if breaker.state == "open":
        return OPEN, breaker.reason.removeprefix(f"{name}: "), now + datetime.timedelta(seconds=breaker.open_seconds)
    if breaker.state == "half_open":
        return PROBING, "trying one call after an outage", None
    return READY, "", None


def translation_degraded_reason(statuses: list[ProviderStatus]) -> str:
    """'' when some provider can translate now, else why none can ('no provider configured' included)."""
    if not statuses:
        return "no provider configured (NEWSDESK_TRANSLATORS is empty)"
    if any(s.ok for s in statuses):
        return ""
    return "; ".join(s.summary for s in statuses)


def translation_retry_note(statuses: list[ProviderStatus]) -> str:
    """When a pending translation is tried again, in words."""
    every = max(1, round(retry_seconds() / 60))
    opens = [s.until for s in statuses if s.until is not None and s.state in (OPEN, BUDGET)]
    if opens and len(opens) == len(statuses):
        return f"next try after {min(opens):%H:%M} UTC"
    return f"tried again every {every} minute{'s' if every != 1 else ''}"


def retry_seconds() -> float:
    """How often beat's retry sweep queues pending translations again."""
    entry = settings.CELERY_BEAT_SCHEDULE.get("retry-pending-translations", {})
    return float(entry.get("schedule", 300.0))
