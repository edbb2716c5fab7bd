"""The stats page: articles per day by language and by country, and source health."""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from newsdesk.models import Article, FetchAttempt, Source

from .charts import stacked_days
from .countries import country_name

logger = logging.getLogger(__name__)
DAYS = 30


def stats_daily_counts(*, field: str, days: int = DAYS) -> dict:
    """{(day, value): n} for articles published in the last ``days`` days."""
    today = timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=days - 1)
    rows = (
        Article.objects.filter(published_at__gte=timezone.now() - timedelta(days=days))
        .annotate(day=TruncDate("published_at"))
        .values_list("day", field)
        .annotate(n=Count("id"))
        .order_by()
    )
    return {"start": start, "counts": {(day, value or ""): n for day, value, n in rows}}


def _cached(key: str, compute):
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("stats: cache unavailable", exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, settings.NEWSDESK_STATS_CACHE_SECONDS)
        except Exception:
            logger.warning("stats: cache unavailable", exc_info=True)
    return value


def source_health_rows() -> list[dict]:
    """Each source's state and its last 7 days of fetches, in two queries."""
    since = timezone.now() - timedelta(days=7)
    fetches = {
        row["source_id"]: row
        for row in FetchAttempt.objects.filter(started_at__gte=since)
        .values("source_id")
        .annotate(total=Count("id"), errors=Count("id", filter=Q(outcome=FetchAttempt.Outcome.ERROR)))
        .order_by()
    }
    rows = []
    for source in Source.objects.order_by("-error_count", "name"):
        stats = fetches.get(source.id, {"total": 0, "errors": 0})
        if not source.enabled:
            health = "disabled"
        elif source.error_count:
            health = "failing"
        elif source.last_success_at is None:
            health = "new"
        else:
            health = "ok"
        rows.append({"source": source, "health": health, "fetches": stats["total"], "errors": stats["errors"]})
    return rows


def stats(request: HttpRequest) -> HttpResponse:
    by_lang = _cached("newsdesk:web:stats:lang", lambda: stats_daily_counts(field="language"))
    by_country = _cached("newsdesk:web:stats:country", lambda: stats_daily_counts(field="country"))
    lang_counts = {(d, (v or "?").upper()): n for (d, v), n in by_lang["counts"].items()}
    country_counts = {(d, country_name(v) if v else "?"): n for (d, v), n in by_country["counts"].items()}
    context = {
        "days": DAYS,
        "lang_chart": stacked_days(counts=lang_counts, start=by_lang["start"], days=DAYS),
        "country_chart": stacked_days(counts=country_counts, start=by_country["start"], days=DAYS),
        "sources": source_health_rows(),
    }
    return render(request, "newsdesk/stats.html", context)
