"""Read-only views: the dashboard and the story page.

The dashboard answers three shapes of the same request: the full page, the
results block (``X-Newsdesk-Partial: results``, when filters change without a
reload) and the next cards (``X-Newsdesk-Partial: more``). All three use one
``ArticleFilter`` and one keyset page, so they cannot disagree.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from newsdesk.countries import country_name
from newsdesk.languages import language_code_normalise, language_name
from newsdesk.models import Article, Source, TranslationStatus
from newsdesk.redisconn import cached

from .cards import cards_from
from .filters import SORTS, ArticleFilter
from .live import live_state
from .pagination import keyset_page
from .visits import desk_visit, seen_marker

logger = logging.getLogger(__name__)

PARTIAL_HEADER = "X-Newsdesk-Partial"
# The filter form's category list, cached for NEWSDESK_STATS_CACHE_SECONDS.
CATEGORIES_CACHE_KEY = "newsdesk:web:categories"
PARTIAL_TEMPLATES = {
    "results": "newsdesk/_results.html",
    "more": "newsdesk/_more.html",
}
# The "N new articles — show" button fetches at most this many; more, and the results are reloaded.
NEW_CARDS_MAX = 100


def filter_options() -> dict:
    """Choices for the filter form: one query over sources, plus cached categories."""
    rows = list(Source.objects.filter(enabled=True).values_list("id", "name", "country", "language").order_by("name"))
    countries = sorted({c for _, _, c, _ in rows if c}, key=country_name)
    return {
        "countries": [(c, country_name(c)) for c in countries],
        "languages": sorted(
            {(code, language_name(code)) for *_, lang in rows if (code := language_code_normalise(code=lang))},
            key=lambda pair: pair[1],
        ),
        "sources": [(ident, name) for ident, name, _, _ in rows],
        "categories": [(c, c) for c in category_choices()],
        "statuses": TranslationStatus.choices,
        "sorts": list(SORTS.items()),
    }


def category_choices() -> list[str]:
    """The commonest article categories of the last 30 days, cached.

    A DISTINCT over every article would scan the table on each page view,
    so this is computed at most once per cache period.
    """

    def compute() -> list[str]:
        since = timezone.now() - timedelta(days=30)
        return list(
            Article.objects.filter(published_at__gte=since)
            .exclude(category="")
            .values("category")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("category", flat=True)[:40]
        )

    return cached(CATEGORIES_CACHE_KEY, compute, timeout=settings.NEWSDESK_STATS_CACHE_SECONDS, what="categories")


def feed_links(flt: ArticleFilter) -> list[tuple[str, str, str]]:
    """(label, URL, MIME type) of the current view's feeds."""
    query = flt.as_query()
    suffix = f"?{query}" if query else ""
    return [
        ("RSS", reverse("feed-rss") + suffix, "application/rss+xml"),
        ("Atom", reverse("feed-atom") + suffix, "application/atom+xml"),
        ("JSON Feed", reverse("feed-json") + suffix, "application/feed+json"),
    ]


def _new_cards(request: HttpRequest, flt: ArticleFilter) -> HttpResponse:
    """The cards that arrived after ``after``, in the page's order: what "show" inserts at the top."""
    after = request.GET.get("after", "")
    after_id = int(after) if after.isdigit() and len(after) < 19 else None
    if after_id is None:
        return HttpResponse("after must be an article id", status=400, content_type="text/plain")
    rows = list(flt.card_rows().filter(id__gt=after_id)[: NEW_CARDS_MAX + 1])
    response = render(request, "newsdesk/_new.html", {"cards": cards_from(rows[:NEW_CARDS_MAX])})
    response["X-Newsdesk-After"] = str(max([after_id, *(r.id for r in rows)]))
    response["X-Newsdesk-Complete"] = "0" if len(rows) > NEW_CARDS_MAX else "1"
    return response


def _seen_before(request: HttpRequest, flt: ArticleFilter, latest_id: int) -> int | None:
    """Where this editor's unseen articles end: a saved view's ``seen``, or their last visit of the unfiltered desk."""
    seen = request.GET.get("seen", "")
    if seen.isdigit() and len(seen) < 19:
        return int(seen)
    user = request.user
    if flt.is_empty and user.is_authenticated:
        return desk_visit(user=user, latest_id=latest_id)
    return None


def dashboard(request: HttpRequest) -> HttpResponse:
    flt = ArticleFilter.from_query(request.GET)
    partial = request.headers.get(PARTIAL_HEADER, "")
    if partial == "new":
        return _new_cards(request, flt)
    first_page = not request.GET.get("before")
    # Read before the page's query: an article stored meanwhile shows up as new at the next poll.
    live_version, latest_id = live_state() if first_page else (None, 0)
    page = keyset_page(
        flt.card_rows(),
        cursor=request.GET.get("before", "")[:80],
        size=settings.NEWSDESK_PAGE_SIZE,
        sort=flt.sort,
    )
    query = flt.as_query()
    cards = cards_from(page.items)
    seen_id = _seen_before(request, flt, latest_id) if first_page and partial == "" else None
    context = {
        "filter": flt,
        "page": page,
        "cards": cards,
        "query": query,
        "next_url": f"?{query}&before={page.next_cursor}" if query else f"?before={page.next_cursor}",
        "feeds": feed_links(flt),
        # A private desk's feeds need the reader's session: point to token feeds.
        "feeds_need_token": not settings.NEWSDESK_DASHBOARD_PUBLIC,
        "first_page": first_page,
        "live_url": reverse("dashboard-live") + (f"?{query}" if query else ""),
        "live_version": "" if live_version is None else live_version,
        "live_after": latest_id,
        "live_seconds": settings.NEWSDESK_LIVE_POLL_SECONDS,
        "seen_marker": seen_marker(cards=cards, seen_id=seen_id),
    }
    if partial in PARTIAL_TEMPLATES:
        response = render(request, PARTIAL_TEMPLATES[partial], context)
    else:
        # The view in words, as its feeds are titled ("Mexico, Spanish").
        context.update(filter_options(), view_title=flt.describe())
        response = render(request, "newsdesk/dashboard.html", context)
    patch_vary_headers(response, [PARTIAL_HEADER])
    return response
