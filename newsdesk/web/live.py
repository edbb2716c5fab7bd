"""The live dashboard's question, "anything new for me?", answered cheaply.

The page carries the global "articles changed" version it was rendered at
(newsdesk/changes.py) and the highest article id it knew. Every
``NEWSDESK_LIVE_POLL_SECONDS`` its script asks ``/live/?<filters>&after=<id>&v=<version>``:

- same version: ``{"changed": false}`` from one Redis read and no database
  query at all, answered by ``LiveMiddleware`` before the session and auth
  middleware (on a private desk, a session whose reader was checked once
  shows a pass read in the same Redis round trip: newsdesk/accounts/livepass.py);
- a new version: how many articles matching the filters arrived after
  ``after`` (capped like the saved views' badges: a short walk down the
  newest ids), memoized per filters under the version, so a thousand open
  dashboards with the same filters mostly share one walk per change.

It only reads; the "show" button then fetches the new cards themselves as
the dashboard's ``new`` partial.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import get_script_prefix, reverse
from django.utils.cache import patch_vary_headers

from newsdesk.accounts import livepass
from newsdesk.changes import versioned_get, versioned_get_many, versioned_set
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


def _memo_key(flt: ArticleFilter) -> str:
    digest = hashlib.sha256(flt.as_query().encode()).hexdigest()[:32]
    return f"live:new:{digest}"


def newest_ids(*, flt: ArticleFilter, after: int) -> list[int]:
    """The ids of the newest articles matching ``flt`` above ``after``, newest first, at most cap + 1.

    Walks the primary key down from the newest id and stops at ``after`` or
    after cap + 1 matches: cheap whatever the table's size.
    """
    cap = settings.NEWSDESK_NEW_COUNT_CAP
    return list(flt.queryset().filter(id__gt=after).order_by("-id").values_list("id", flat=True)[: cap + 1])


def _count(ids: list[int], after: int) -> tuple[int, bool]:
    cap = settings.NEWSDESK_NEW_COUNT_CAP
    n = sum(1 for i in ids if i > after)
    return (cap, True) if n > cap else (n, False)


def new_count(*, flt: ArticleFilter, after: int, version: int | None) -> tuple[int, bool]:
    """(matching articles with id > after, capped?), memoized per filter and version.

    The memo holds the newest matching ids above the lowest ``after`` asked
    so far under this version: every dashboard with these filters that
    started at or above it is answered from it, whenever it was opened.
    A full list (cap + 1 ids) answers "cap+" for any later start too.
    """
    key = _memo_key(flt)
    memo = None
    if version is not None:
        _, memo = versioned_get(key)
    if isinstance(memo, tuple) and len(memo) == 3 and memo[0] == version and after >= memo[1]:
        return _count(memo[2], after)
    ids = newest_ids(flt=flt, after=after)
    if version is not None and not (
        isinstance(memo, tuple) and len(memo) == 3 and memo[0] == version and memo[1] < after
    ):
        versioned_set(key, (version, after, ids), timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
    return _count(ids, after)


def dashboard_live(request: HttpRequest) -> JsonResponse:
    return live_answer(request)


def live_answer(request: HttpRequest, *, version_read: tuple[int | None] | None = None) -> JsonResponse:
    """The answer to a poll; ``version_read``: the version as the caller already read it (one Redis read less)."""
    after_raw, seen_raw = request.GET.get("after", ""), request.GET.get("v", "")
    if (after_raw and not _ID.match(after_raw)) or (seen_raw and not re.match(r"^-?[0-9]{1,20}$", seen_raw)):
        return JsonResponse({"error": "after must be an article id and v a version number"}, status=400)
    if not after_raw:
        # No page yet: where "new" starts now, to poll from.
        version, latest = live_state()
        return _answer({"changed": True, "version": version, "new": 0, "capped": False, "after": latest})
    after = int(after_raw)
    # One Redis read: the version, nothing else.
    version = version_read[0] if version_read is not None else versioned_get_many([])[0]
    if version is not None and seen_raw and int(seen_raw) == version:
        return _answer({"changed": False, "version": version})
    count, capped = new_count(flt=ArticleFilter.from_query(request.GET), after=after, version=version)
    return _answer({"changed": True, "version": version, "new": count, "capped": capped})


class LiveMiddleware:
    """Answer the live dashboard's polls before the session, auth, CSRF and messages middleware.

    A poll needs none of them on a public desk: it reads the version (and, when
    it changed, counts public articles). On a private desk it needs to know
    that this session may read the desk, which the whole stack learns from
    four queries; a session whose reader was checked once shows a *pass*
    (newsdesk/accounts/livepass.py) read in the same Redis round trip as the
    version. Anything else (no pass, a void one, another path, a bad Host)
    goes through the whole stack as before, which then grants the pass.
    Placed like ``FeedRevalidationMiddleware``: after the middleware that
    only add response headers, so the answer carries the same headers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._paths: dict[str, str] = {}

    def _path(self) -> str:
        prefix = get_script_prefix()
        path = self._paths.get(prefix)
        if path is None:
            path = self._paths[prefix] = reverse("dashboard-live")
        return path

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD") or request.path != self._path():
            return self.get_response(request)
        try:
            request.get_host()
        except DisallowedHost:
            return self.get_response(request)  # answered 400 by the stack, as always
        if settings.NEWSDESK_DASHBOARD_PUBLIC:
            return live_answer(request)
        session_key = livepass.session_key_of(request)
        if not session_key:
            return self.get_response(request)  # no session: the access policy answers
        version, found = versioned_get_many([livepass.EPOCH_KEY, livepass.pass_key(session_key)])
        if version is not None and livepass.pass_valid(found, session_key=session_key):
            response = live_answer(request, version_read=(version,))
            patch_vary_headers(response, ("Cookie",))  # as the session middleware would
            return response
        # Read before the stack checks the reader: a change meanwhile voids the pass granted below.
        epoch = found.get(livepass.EPOCH_KEY) if version is not None else None
        setattr(request, livepass.EPOCH_ATTR, epoch if epoch is not None else livepass.epoch_current())
        response = self.get_response(request)
        livepass.pass_grant(request, response.status_code)
        return response


def _answer(body: dict) -> JsonResponse:
    response = JsonResponse(body)
    # Each poll must reach us; nothing in between may answer for us.
    response["Cache-Control"] = "no-store"
    return response
