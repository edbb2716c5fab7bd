"""The live dashboard's question, "anything new for me?", answered cheaply.

The page carries the global "articles changed" version it was rendered at
(newsdesk/changes.py) and the highest article id it knew. Every
``NEWSDESK_LIVE_POLL_SECONDS`` its script asks ``/live/?<filters>&after=<id>&v=<version>``:

- same version: ``{"changed": false}`` from one Redis read and no database
  query at all (on a public desk; a private desk's session lookup is the
  only query, see README "Live dashboard");
- a new version: how many articles matching the filters arrived after
  ``after`` (capped like the saved views' badges: a short range scan of the
  newest ids), memoized under the version, so dashboards with the same
  filters and the same starting id count once per change.

It only reads; the "show" button then fetches the new cards themselves as
the dashboard's ``new`` partial.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, JsonResponse

from newsdesk.changes import versioned_get, versioned_set
from newsdesk.models import Article

from .filters import ArticleFilter

_ID = re.compile(r"^[0-9]{1,18}$")


def latest_article_id() -> int:
    """The highest article id (an index probe): where "new" starts for a page rendered now."""
    return Article.objects.aggregate(m=Max("id"))["m"] or 0


def live_state() -> tuple[int | None, int]:
    """(version, latest article id) for a page about to render.

    The version is read first, so an article stored in between is reported
    as new by the next poll rather than missed. The id is memoized under the
    version: pages rendered while nothing changes cost no query for it.
    """
    version, memo = versioned_get("live:latest")
    if version is not None and isinstance(memo, tuple) and len(memo) == 2 and memo[0] == version:
        return version, memo[1]
    latest = latest_article_id()
    if version is not None:
        versioned_set("live:latest", (version, latest), timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
    return version, latest


def _memo_key(flt: ArticleFilter, after: int) -> str:
    digest = hashlib.sha256(f"{flt.as_query()}|{after}".encode()).hexdigest()[:32]
    return f"live:count:{digest}"


def new_count(*, flt: ArticleFilter, after: int) -> tuple[int, bool]:
    """(matching articles with id > after, capped?) straight from the database."""
    cap = settings.NEWSDESK_NEW_COUNT_CAP
    n = flt.queryset().filter(id__gt=after).order_by().values("id")[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def dashboard_live(request: HttpRequest) -> JsonResponse:
    after_raw, seen_raw = request.GET.get("after", ""), request.GET.get("v", "")
    if (after_raw and not _ID.match(after_raw)) or (seen_raw and not re.match(r"^-?[0-9]{1,20}$", seen_raw)):
        return JsonResponse({"error": "after must be an article id and v a version number"}, status=400)
    if not after_raw:
        # No page yet: where "new" starts now, to poll from.
        version, latest = live_state()
        return _answer({"changed": True, "version": version, "new": 0, "capped": False, "after": latest})
    after = int(after_raw)
    flt = ArticleFilter.from_query(request.GET)
    key = _memo_key(flt, after)
    version, memo = versioned_get(key)
    if version is not None and seen_raw and int(seen_raw) == version:
        return _answer({"changed": False, "version": version})
    if version is not None and isinstance(memo, tuple) and len(memo) == 3 and memo[0] == version:
        count, capped = memo[1], memo[2]
    else:
        count, capped = new_count(flt=flt, after=after)
        if version is not None:
            versioned_set(key, (version, count, capped), timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
    return _answer({"changed": True, "version": version, "new": count, "capped": capped})


def _answer(body: dict) -> JsonResponse:
    response = JsonResponse(body)
    # Each poll must reach us; nothing in between may answer for us.
    response["Cache-Control"] = "no-store"
    return response
