"""The stats page: articles per day by language and by country, and source health."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from newsdesk.countries import country_name
from newsdesk.enrich.status import provider_statuses
from newsdesk.languages import language_name, original_language
from newsdesk.models import Article, FetchAttempt, Source, SourceKind
from newsdesk.redisconn import cached

from .charts import stacked_days

logger = logging.getLogger(__name__)
DAYS = 30
# The daily counts by language and by country, cached for NEWSDESK_STATS_CACHE_SECONDS.
STATS_CACHE_KEYS = ("newsdesk:web:stats:lang", "newsdesk:web:stats:country")


def stats_daily_counts(*, field: str, days: int = DAYS) -> dict:
    """{(day, value): n} for articles published in the last ``days`` days.

    ``field="language"`` counts by original language (newsdesk/languages.py),
    the rule the cards and the filter use.
    """
    today = timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    fields = ("language", "language_declared") if field == "language" else (field,)
    rows = (
        Article.objects.filter(published_at__gte=timezone.now() - timedelta(days=days))
        .annotate(day=TruncDate("published_at"))
        .values_list("day", *fields)
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict = {}
    for day, *values, n in rows:
        value = original_language(language=values[0], declared=values[1]) if len(values) == 2 else values[0]
        counts[(day, value or "")] = counts.get((day, value or ""), 0) + n
    return {"start": start, "counts": counts}


def _cached(key: str, compute):
    return cached(key, compute, timeout=settings.NEWSDESK_STATS_CACHE_SECONDS, what="stats")


def source_health_rows() -> list[dict]:
    """Each polled feed's and drop inbox's state and its last 7 days of fetches, in two queries.

    Outlets first seen in a drop are not listed: nothing fetches them (their
    drop inbox is the row that can fail), so "new / never" would be false.
    """
    since = timezone.now() - timedelta(days=7)
    fetches = {
        row["source_id"]: row
        for row in FetchAttempt.objects.filter(started_at__gte=since)
        .values("source_id")
        .annotate(total=Count("id"), errors=Count("id", filter=Q(outcome=FetchAttempt.Outcome.ERROR)))
        .order_by()
    }
    rows = []
    listed = Source.objects.exclude(kind=SourceKind.FEED, url="").select_related("parent")
    for source in listed.order_by("-error_count", "name"):
        stats = fetches.get(source.id, {"total": 0, "errors": 0})
        if not source.enabled:
            health = "disabled"
        elif source.error_count:
            health = "failing"
        elif source.last_success_at is None:
            health = "new"
        else:
            health = "ok"
        rows.append(
            {
                "source": source,
                "kind": "drop inbox" if source.kind == SourceKind.DROP else "feed",
                "health": health,
                "fetches": stats["total"],
                "errors": stats["errors"],
            }
        )
    return rows


def drop_outlet_rows() -> list[dict]:
    """Outlets first seen in drops, with the inbox that delivers them and their articles this week."""
    since = timezone.now() - timedelta(days=7)
    return list(
        Source.objects.filter(kind=SourceKind.FEED, url="", parent__isnull=False)
        .values("id", "name", "country", "language", "parent__name")
        .annotate(week=Count("articles", filter=Q(articles__published_at__gte=since)))
        .order_by("name")
    )


def _provider_rows() -> list:
    try:
        return provider_statuses()
    except Exception:  # never take the stats page down with the translation state
        logger.warning("stats: translation providers unavailable", exc_info=True)
        return []


def stats(request: HttpRequest) -> HttpResponse:
    by_lang = _cached(STATS_CACHE_KEYS[0], lambda: stats_daily_counts(field="language"))
    by_country = _cached(STATS_CACHE_KEYS[1], lambda: stats_daily_counts(field="country"))
    lang_counts = {(d, language_name(v) if v else "?"): n for (d, v), n in by_lang["counts"].items()}
    country_counts = {(d, country_name(v) if v else "?"): n for (d, v), n in by_country["counts"].items()}
    context = {
        "days": DAYS,
        "lang_chart": stacked_days(counts=lang_counts, start=by_lang["start"], days=DAYS),
        "country_chart": stacked_days(counts=country_counts, start=by_country["start"], days=DAYS),
        "sources": source_health_rows(),
        "drop_outlets": drop_outlet_rows(),
        "providers": _provider_rows(),
    }
    return render(request, "newsdesk/stats.html", context)
