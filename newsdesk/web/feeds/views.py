"""The feed views: one ``Feed`` base class, ``ArticleFeed``, for every filtered view.

``ArticleFeed`` turns an ``ArticleFilter`` into items; the Atom and JSON
variants change only the generator. Subclasses (the per-story feed, the
token feeds of saved views) override ``get_object`` and ``item_queryset``.

Django's ``Feed`` instance is the URLconf's, shared by every thread, so each
request is served by a shallow copy of it (``__call__``): per-request state
(the rows and validators already loaded, a token feed's saved view) lives on
that copy.

Each item's serialised text is kept per process (``feed_items``), keyed by
the feed class, the generator and the request's link context and by the
whole row the item is made from, so an entry can never be stale: an article,
outlet name or coverage count that changes makes a different key. On a hit
the item's per-item work (building its dict, escaping, writing) is skipped.
That is why ``get_feed`` runs the item loop itself for ``ArticleFeed``'s own
hooks; Django's builds the channel, and the items of any subclass with hooks
the loop does not know.
"""

from __future__ import annotations

import copy
import io
from datetime import datetime

from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.contrib.syndication.views import Feed, add_domain
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.feedgenerator import Stylesheet
from django.utils.html import escape
from django.utils.timezone import get_default_timezone, is_naive, make_aware, now

from newsdesk.changes import versioned_set
from newsdesk.countries import country_name
from newsdesk.enrich.finished import feed_finished_q, untranslated_marker
from newsdesk.models import Article
from newsdesk.web.filters import ArticleFilter
from newsdesk.web.lru import LockedLRU

from .conditional import ConditionalGet
from .generators import JsonFeedGenerator, NewsdeskAtom, NewsdeskRss, RenderedItem
from .items import FEED_ITEM_COLUMNS, VERSION_COLUMNS, FeedItem, ItemVersion, item_extra_kwargs, item_version
from .xml import xml_text

# A small LRU of serialised feed items, per process.
#
# The key holds the whole row an item is made from (``FeedItem``) and
# everything else its text depends on, so an entry is never stale. The
# first page of a busy view is the same fifty items for every subscriber
# until the next article arrives, and views overlap.
feed_items: LockedLRU[tuple, RenderedItem] = LockedLRU()

# The hooks get_feed calls per item; a class that overrides one keeps its items out of the cache.
_ITEM_HOOKS = (
    "item_title", "item_link", "item_description", "item_guid", "item_guid_is_permalink", "item_pubdate",
    "item_updateddate", "item_author_name", "item_categories", "item_extra_kwargs",
)  # fmt: skip
# Hooks ArticleFeed's loop does not know: a class with one goes through Django's loop.
_UNKNOWN_HOOKS = ("item_enclosure_url", "item_author_email", "item_author_link", "item_comments", "item_copyright")


class ArticleFeed(ConditionalGet, Feed):
    """RSS 2.0 of a dashboard view; the base class of every Newsdesk feed."""

    feed_type = NewsdeskRss
    format_name = "rss"
    language = "en"
    item_guid_is_permalink = False

    # Per request, on the request's copy: the loaded rows (None: not loaded),
    # and the validator source read before them.
    rows: list[FeedItem] | None = None
    hub_url = ""  # the WebSub hub the channel names (websub_hub)
    versions: list[ItemVersion] | None = None

    # --- what the feed is about -------------------------------------------

    def get_object(self, request: HttpRequest, *args, **kwargs) -> ArticleFilter:
        return ArticleFilter.from_query(request.GET)

    def item_queryset(self, obj: ArticleFilter) -> QuerySet[Article]:
        """The ordered articles of the feed; subclasses override this."""
        return obj.queryset()

    def title(self, obj: ArticleFilter) -> str:
        return xml_text("Newsdesk" + (f" — {obj.describe()}" if not obj.is_empty else ""))

    def description(self, obj: ArticleFilter) -> str:
        return "English headlines from Newsdesk" + (f" for {obj.describe()}" if not obj.is_empty else "")

    def stylesheets(self, obj) -> list[Stylesheet]:
        """An XSL stylesheet, so a feed opened in a browser reads as a page, not a wall of XML."""
        return [Stylesheet(static("newsdesk/feed.xsl"), mimetype="text/xsl")]

    def feed_extra_kwargs(self, obj) -> dict:
        return {"hub": self.hub_url} if self.hub_url else {}

    def link(self, obj: ArticleFilter) -> str:
        query = obj.as_query()
        return reverse("dashboard") + (f"?{query}" if query else "")

    def feed_url(self, obj: ArticleFilter) -> str | None:
        if not isinstance(obj, ArticleFilter):
            return None
        query = obj.as_query()
        return reverse(f"feed-{self.format_name}") + (f"?{query}" if query else "")

    # --- items ------------------------------------------------------------

    def items_builtin(self) -> bool:
        """True when the items are ``item_queryset``'s first rows (not a subclass's own list)."""
        return type(self).items is ArticleFeed.items

    def feed_queryset(self, obj) -> QuerySet[Article]:
        """``item_queryset`` narrowed to what the English feeds publish (newsdesk/enrich/finished.py)."""
        return self.item_queryset(obj).filter(feed_finished_q(now=now()))

    def item_rows(self, obj) -> list[FeedItem]:
        """The feed's items, in one query."""
        rows = self.feed_queryset(obj).values_list(*FEED_ITEM_COLUMNS)[: settings.NEWSDESK_FEED_SIZE]
        return [FeedItem._make(row) for row in rows]

    def item_versions(self, obj) -> list[ItemVersion]:
        """``item_version`` of the feed's items, newest first: the validator source."""
        if not self.items_builtin():
            # A subclass that builds its own item list: derive from it.
            return [item_version(item) for item in self.items(obj)]
        return list(self.feed_queryset(obj).values_list(*VERSION_COLUMNS)[: settings.NEWSDESK_FEED_SIZE])

    def items(self, obj) -> list[FeedItem]:
        if self.rows is not None:
            return self.rows
        versions = self.versions if self.versions is not None else self.item_versions(obj)
        ids = [v[0] for v in versions]
        by_id = {
            row[0]: FeedItem._make(row) for row in Article.objects.filter(id__in=ids).values_list(*FEED_ITEM_COLUMNS)
        }
        return [by_id[i] for i in ids if i in by_id]

    def item_title(self, item: FeedItem) -> str:
        marker = untranslated_marker(
            status=item.translation_status, title_en=item.title_en, language=item.original_language
        )
        return xml_text(marker + item.display_title)

    def item_description(self, item: FeedItem) -> str:
        # RSS and Atom readers treat descriptions as HTML; ours is plain text.
        return xml_text(escape(item.display_summary))

    def item_link(self, item: FeedItem) -> str:
        """The original article, else the article's own page here (which links to its story).

        Never the site root nor the story page: each item keeps a link of its own.
        """
        if item.url:
            return xml_text(item.url)
        return reverse("article", args=[item.id])

    def item_guid(self, item: FeedItem) -> str:
        return f"newsdesk-article-{item.id}"

    def item_pubdate(self, item: FeedItem) -> datetime:
        return item.published_at

    def item_updateddate(self, item: FeedItem) -> datetime:
        return item.updated_at

    def item_author_name(self, item: FeedItem) -> str:
        return xml_text(item.source_name)

    def item_categories(self, item: FeedItem) -> list[str]:
        cats = [item.source_name]
        if item.country:
            cats.append(country_name(item.country))
        if item.original_language:
            cats.append(f"lang:{item.original_language}")
        if item.category:
            cats.append(item.category)
        return [xml_text(c) for c in cats if xml_text(c).strip()]

    def item_extra_kwargs(self, item: FeedItem) -> dict:
        return item_extra_kwargs(item)

    # --- the item loop ----------------------------------------------------

    @classmethod
    def direct_items(cls) -> bool:
        """True when every per-item hook is one ``add_items`` knows (no templates, enclosures, own items...)."""
        return (
            cls.title_template is None
            and cls.description_template is None
            and not any(hasattr(cls, name) for name in _UNKNOWN_HOOKS)
            and cls.item_enclosures is Feed.item_enclosures
            and cls.items is ArticleFeed.items
        )

    @classmethod
    def cacheable_items(cls) -> bool:
        """True when every item hook is ArticleFeed's own: an item's text is then a function of its row alone."""
        return all(getattr(cls, name) is getattr(ArticleFeed, name) for name in _ITEM_HOOKS)

    def get_feed(self, obj, request):
        # Django's get_feed builds the channel (from a copy with no rows);
        # the items are added here, through the item cache.
        if not self.direct_items():
            return super().get_feed(obj, request)
        items = self.items(obj)
        channel = copy.copy(self)
        channel.rows = []
        feed = super(ArticleFeed, channel).get_feed(obj, request)
        self.add_items(feed, items, request)
        return feed

    def add_items(self, feed, items: list[FeedItem], request: HttpRequest) -> None:
        """``feed.add_item`` for each item, as Django's loop would, reusing serialised items when it can."""
        domain, secure, tz = get_current_site(request).domain, request.is_secure(), get_default_timezone()
        size = settings.NEWSDESK_FEED_ITEM_CACHE
        keys = cached = None
        if (
            size > 0
            and self.cacheable_items()
            and hasattr(feed, "item_fragment")
            and all(type(item) is FeedItem for item in items)  # rows compare by value, model instances by pk
        ):
            # Everything an item's text depends on besides its row: the hooks
            # (class), the writer, the links' site, scheme and URL resolution,
            # and the zone that makes naive dates aware.
            scope = (type(self), type(feed), domain, secure, get_script_prefix(), get_urlconf(), str(tz))
            keys = [(scope, item) for item in items]
            cached = feed_items.get_many(keys)
        for n, item in enumerate(items):
            if cached is not None and (hit := cached[n]) is not None:
                feed.items.append(hit)
                continue
            pubdate, updateddate = self.item_pubdate(item), self.item_updateddate(item)
            if pubdate and is_naive(pubdate):
                pubdate = make_aware(pubdate, tz)
            if updateddate and is_naive(updateddate):
                updateddate = make_aware(updateddate, tz)
            feed.add_item(
                title=self.item_title(item),
                link=add_domain(domain, self.item_link(item), secure),
                description=self.item_description(item),
                unique_id=self.item_guid(item),
                unique_id_is_permalink=self.item_guid_is_permalink,
                enclosures=[],
                pubdate=pubdate,
                updateddate=updateddate,
                author_name=self.item_author_name(item),
                author_email=None,
                author_link=None,
                comments=None,
                categories=self.item_categories(item),
                item_copyright=None,
                **self.item_extra_kwargs(item),
            )
            if keys is not None:
                rendered = RenderedItem(feed.item_fragment(feed.items[-1]), pubdate, updateddate)
                feed.items[-1] = rendered
                feed_items.put(keys[n], rendered, size=size)

    # --- HTTP -------------------------------------------------------------

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        # This instance is shared by all threads: the request is served by a copy of its own.
        return copy.copy(self).respond(request, *args, **kwargs)

    def patch_cache(self, response: HttpResponse) -> None:
        super().patch_cache(response)
        if self.browser_content_type_applies(self.feed_type.content_type):
            # Every answer, 200 or 304 (also the early one): see browser_content_type.
            patch_vary_headers(response, ["Accept"])

    @staticmethod
    def browser_content_type_applies(content_type: str) -> bool:
        return content_type.startswith(("application/rss+xml", "application/atom+xml"))

    @staticmethod
    def browser_content_type(request: HttpRequest, content_type: str) -> str:
        """A browser opening an RSS or Atom feed gets it as ``application/xml``.

        Chromium shows ``application/rss+xml`` as plain text and never applies
        the feed's XSL stylesheet; as ``application/xml`` it renders the page
        the stylesheet makes. Feed readers do not ask for ``text/html`` and keep
        the feed's own type. The body is the same either way.
        """
        if ArticleFeed.browser_content_type_applies(content_type) and "text/html" in request.headers.get("Accept", ""):
            return "application/xml; charset=utf-8"
        return content_type

    def respond(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """The feed's answer to ``request``: a 304 if the client is up to date, else the whole feed."""
        obj = self.get_object(request, *args, **kwargs)
        memo_key, version, memo = self.memo_read(request, obj)
        response, sure_200 = self.memo_304(request, version, memo, obj)
        if response is not None:
            return response
        if sure_200 and self.items_builtin():
            # A 200 for sure: load the items and take the validators from them.
            self.rows = self.item_rows(obj)
            self.versions = [item_version(row) for row in self.rows]
        else:
            self.versions = self.item_versions(obj)
        etag, last_modified_ts = self.validators(request, obj, self.versions)
        if version is not None and memo != (version, etag, last_modified_ts):
            versioned_set(memo_key, (version, etag, last_modified_ts), timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
        response = get_conditional_response(request, etag=etag, last_modified=last_modified_ts)
        if response is None:
            self.hub_url = self.websub_hub(request)
            feedgen = self.get_feed(obj, request)
            # Serialise into one buffer: the XML writer emits thousands of tiny
            # pieces, and HttpResponse.write() costs far more per call.
            buffer = io.StringIO()
            feedgen.write(buffer, "utf-8")
            content_type = self.browser_content_type(request, feedgen.content_type)
            response = HttpResponse(buffer.getvalue(), content_type=content_type)
        links = self.websub_links(request, obj)
        return self.finish(response, etag=etag, last_modified_ts=last_modified_ts, links=links)


class AtomArticleFeed(ArticleFeed):
    feed_type = NewsdeskAtom
    format_name = "atom"

    def subtitle(self, obj) -> str:
        return self.description(obj)


class JsonArticleFeed(ArticleFeed):
    feed_type = JsonFeedGenerator
    format_name = "json"
