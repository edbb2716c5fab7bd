"""Private feeds of saved views, opened by a secret token instead of a session.

They are the dashboard's own feed classes with a different ``get_object``:
the token names a saved view, and the view's stored query string goes
through the same ``ArticleFilter`` as the dashboard, so a desk's feed can
never disagree with the desk. An unknown, revoked or rotated token is 404,
indistinguishable from a route that never existed.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from newsdesk.models import Article, SavedView
from newsdesk.web.feeds import ArticleFeed, AtomArticleFeed, JsonArticleFeed, xml_text
from newsdesk.web.filters import ArticleFilter

from .desks import saved_view_filter, saved_view_problem
from .middleware import TOKEN
from .tokens import feed_token_resolve


class _TokenFeedMixin:
    """Turns a dashboard feed class into a saved view's private feed."""

    newsdesk_access = TOKEN  # read by the access policy: this view checks its own secret
    url_name = ""
    # Per request, on the request's copy of the feed (ArticleFeed.__call__).
    saved_view: SavedView
    token: str

    def respond(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        view = feed_token_resolve(raw=kwargs.get("token", ""))
        if view is None:
            raise Http404("No such feed.")
        self.saved_view, self.token = view, kwargs["token"]
        response = super().respond(request, *args, **kwargs)
        # The token is in this URL: never pass it on as a Referer, never index it.
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def get_object(self, request: HttpRequest, *args, **kwargs) -> ArticleFilter:
        return saved_view_filter(view=self.saved_view)

    def item_queryset(self, obj: ArticleFilter) -> QuerySet[Article]:
        if saved_view_problem(view=self.saved_view):
            # Dropping what can no longer be used would widen the feed; a broken view lists nothing.
            return Article.objects.none()
        return super().item_queryset(obj)

    def title(self, obj: ArticleFilter) -> str:
        problem = saved_view_problem(view=self.saved_view)
        return xml_text(f"Newsdesk — {self.saved_view.name}" + (f" (broken: {problem})" if problem else ""))

    def description(self, obj: ArticleFilter) -> str:
        return xml_text(f"English headlines from Newsdesk for the saved view “{self.saved_view.name}”")

    def feed_url(self, obj: ArticleFilter) -> str:
        return reverse(self.url_name, kwargs={"token": self.token})

    def patch_cache(self, response: HttpResponse) -> None:
        super().patch_cache(response)
        # Whatever the desk's mode, this answer belongs to one token holder.
        cache_control = response.get("Cache-Control", "")
        parts = [p.strip() for p in cache_control.split(",") if p.strip() and p.strip() != "public"]
        if "private" not in parts:
            parts.insert(0, "private")
        response["Cache-Control"] = ", ".join(parts)


class SavedViewRssFeed(_TokenFeedMixin, ArticleFeed):
    url_name = "desk-feed-rss"


class SavedViewAtomFeed(_TokenFeedMixin, AtomArticleFeed):
    url_name = "desk-feed-atom"

    def subtitle(self, obj: ArticleFilter) -> str:
        return self.description(obj)


class SavedViewJsonFeed(_TokenFeedMixin, JsonArticleFeed):
    url_name = "desk-feed-json"


# label, URL name, feed class: the routes and the "feed links" page read this one list.
TOKEN_FEED_ROUTES = [
    ("RSS", "desk-feed-rss", SavedViewRssFeed),
    ("Atom", "desk-feed-atom", SavedViewAtomFeed),
    ("JSON Feed", "desk-feed-json", SavedViewJsonFeed),
]
