"""Conditional GET for feeds: validators, their memo, and the middleware that answers repeats early.

The ETag is computed from the items' versions (``items.item_version``); it is
memoized in Redis under a global "articles changed" version
(``newsdesk/changes.py``), so a repeat of an unchanged view is a 304 with no
query at all, and otherwise a light query of the version columns decides.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, get_script_prefix, resolve, reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

from newsdesk.changes import versioned_get
from newsdesk.web.filters import ArticleFilter

from .items import MODIFIED_POSITIONS, ItemVersion

# Where FeedRevalidationMiddleware leaves its memo read for the view.
MEMO_ATTR = "_newsdesk_feed_memo"


def _token(value: object) -> str:
    """One version value in the ETag's digest; strings carry their length, so no two versions run together."""
    if isinstance(value, datetime):
        return f"{value.timestamp():.6f}"
    if isinstance(value, str):
        return f"{len(value)}:{value}"
    return str(value)


class ConditionalGet:
    """The validators of a feed view, their memo, and the headers every answer carries.

    Mixed into ``ArticleFeed``; ``format_name`` and ``get_object`` come from it.
    """

    format_name: str

    def memo_scope(self, obj) -> str:
        """What, besides the URL, decides this feed's items (a saved view's stored filter, a story's id)."""
        if isinstance(obj, ArticleFilter):
            return obj.as_query()
        meta = getattr(obj, "_meta", None)
        return f"{meta.label}:{obj.pk}" if meta is not None else repr(obj)

    def view_key(self, request: HttpRequest, obj) -> str:
        """Which feed this is: class, path and the normalized filter, so parameters
        the filter drops or reorders share one validator (and one memo)."""
        return f"{type(self).__module__}.{type(self).__qualname__}|{request.path}|{self.memo_scope(obj)}"

    def validators(self, request: HttpRequest, obj, versions: list[ItemVersion]) -> tuple[str, int | None]:
        """(ETag, Last-Modified timestamp) of the items' ``versions`` (see ``item_version``).

        Last-Modified is the latest article or story change: a story gaining an
        outlet changes its members' coverage without touching the articles.
        """
        digest = hashlib.sha256(f"{self.format_name}|{self.view_key(request, obj)}".encode())
        last_modified = None
        for version in versions:
            digest.update(("|" + ":".join(map(_token, version))).encode())
            for position in MODIFIED_POSITIONS:
                moment = version[position]
                if moment is not None and (last_modified is None or moment > last_modified):
                    last_modified = moment
        return f'"{digest.hexdigest()[:32]}"', int(last_modified.timestamp()) if last_modified else None

    def memo_read(self, request: HttpRequest, obj) -> tuple[str, int | None, object]:
        """(memo key, current articles version, memoized validators) of this view.

        Read once per request: ``FeedRevalidationMiddleware`` leaves its read on
        the request for the view when it cannot answer the repeat itself.
        """
        memo_key = "feeds:validator:" + hashlib.sha256(self.view_key(request, obj).encode()).hexdigest()
        held = getattr(request, MEMO_ATTR, None)
        if held is not None and held[0] == memo_key:
            return held
        return (memo_key, *versioned_get(memo_key))

    def memo_304(self, request: HttpRequest, version: int | None, memo, obj=None) -> tuple[HttpResponse | None, bool]:
        """(the 304 answered from the memo, or None; whether the answer is surely a 200).

        A repeat of an unchanged view answers 304 from the validator memoized
        under the current articles version (newsdesk/changes.py), without
        running the item query. The version is read before any query, so a
        memo never outlives a write it could have missed.
        """
        conditional = "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META
        if conditional and memo is not None and version is not None and memo[0] == version:
            _, etag, last_modified_ts = memo
            response = get_conditional_response(request, etag=etag, last_modified=last_modified_ts)
            if response is not None:
                links = self.websub_links(request, obj) if obj is not None else ""
                return self.finish(response, etag=etag, last_modified_ts=last_modified_ts, links=links), False
            return None, True  # the client's validator is not the current one
        return None, not conditional

    def websub_hub(self, request: HttpRequest) -> str:
        """The absolute URL of the WebSub hub that pushes this feed ('' when no hub may push it).

        Every feed a reader can fetch without a session has one: all feeds of a
        public desk, and the private token feeds of saved views on any desk.
        """
        if not settings.NEWSDESK_DASHBOARD_PUBLIC and getattr(self, "newsdesk_access", None) != "token":
            return ""
        try:
            return request.build_absolute_uri(reverse("websub-hub"))
        except NoReverseMatch:
            return ""

    def websub_links(self, request: HttpRequest, obj) -> str:
        """WebSub discovery as an HTTP ``Link`` header: the hub and this feed's canonical (self) URL."""
        hub = self.websub_hub(request)
        own = self.feed_url(obj)  # type: ignore[attr-defined]
        if not hub or not own:
            return ""
        return f'<{hub}>; rel="hub", <{request.build_absolute_uri(own)}>; rel="self"'

    def finish(
        self, response: HttpResponse, *, etag: str, last_modified_ts: int | None, links: str = ""
    ) -> HttpResponse:
        """The validator, cache and WebSub discovery headers every answer (200 or 304) carries."""
        if links:
            response.headers["Link"] = links
        response.headers["ETag"] = etag
        # Last-Modified has one-second resolution: a reader given the current second
        # and revalidating with If-Modified-Since alone (newsboat does) would be told
        # "not modified" about a later change within that second, and keep the stale
        # feed. Until the second is over, readers get the ETag only.
        if last_modified_ts is not None and last_modified_ts < int(time.time()):
            response.headers["Last-Modified"] = http_date(last_modified_ts)
        self.patch_cache(response)
        return response

    def patch_cache(self, response: HttpResponse) -> None:
        visibility = {"public": True} if settings.NEWSDESK_DASHBOARD_PUBLIC else {"private": True}
        patch_cache_control(response, max_age=settings.NEWSDESK_FEED_MAX_AGE, **visibility)


class FeedRevalidationMiddleware:
    """Answer a subscriber's repeat of an unchanged public dashboard feed early.

    Feed readers poll with ``If-None-Match`` / ``If-Modified-Since``; most of
    those requests end in a 304 from the memoized validator (see
    ``ConditionalGet.memo_304``), which needs neither a session, a user, CSRF,
    messages nor the URL resolver. This answers them before those run (about
    half of a 304's work). Place it after the middleware that only add
    response headers (security, CSP, frame options), so the 304 carries the
    same headers as through the whole stack.

    Only on a public desk (a private one checks the reader first), only for the
    three dashboard feed URLs, and only after the Host header passed
    ALLOWED_HOSTS. Anything else, or a repeat it cannot answer, goes through
    the whole stack as before, with the memo read left for the view.
    """

    NAMES = ("feed-rss", "feed-atom", "feed-json")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._routes: dict[str, dict[str, ConditionalGet]] = {}

    def _feed_for(self, path: str) -> ConditionalGet | None:
        prefix = get_script_prefix()
        routes = self._routes.get(prefix)
        if routes is None:
            routes = {}
            for name in self.NAMES:
                url = reverse(name)
                view = resolve(url[len(prefix) - 1 :]).func  # the path below the script prefix
                if isinstance(view, ConditionalGet):
                    routes[url] = view
            self._routes[prefix] = routes
        return routes.get(path)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if (
            ("HTTP_IF_NONE_MATCH" in meta or "HTTP_IF_MODIFIED_SINCE" in meta)
            and request.method in ("GET", "HEAD")
            and settings.NEWSDESK_DASHBOARD_PUBLIC
        ):
            feed = self._feed_for(request.path)
            if feed is not None:
                try:
                    request.get_host()
                except DisallowedHost:
                    return self.get_response(request)  # answered 400 by the stack, as always
                obj = feed.get_object(request)  # type: ignore[attr-defined]
                held = feed.memo_read(request, obj)
                response, _ = feed.memo_304(request, held[1], held[2], obj)
                if response is not None:
                    return response
                setattr(request, MEMO_ATTR, held)
        return self.get_response(request)
