"""Syndication feeds (RSS 2.0, Atom, JSON Feed) of any dashboard view.

One ``Feed`` base class, ``ArticleFeed``, turns an ``ArticleFilter`` into
items; the Atom and JSON variants change only the generator. Subclasses (the
per-story feed) override ``get_object`` and ``item_queryset``.

Conditional GET is answered before rendering. The ETag is computed from the
items' ids and update times; it is memoized in Redis under a global
"articles changed" version (``newsdesk/changes.py``), so a repeat of an
unchanged view is a 304 with no query at all, and otherwise a light query of
(id, updated_at) decides. A request that will get a 200 loads its items, as
plain rows (``FeedItem``), and its validators in one query. Every string is
stripped of characters XML 1.0 cannot carry, so a feed stays well-formed
whatever the sources published.

Each item's serialised text is kept per process (``feed_items``), keyed by
the feed class, the generator and the request's link context and by the
whole row the item is made from, so an entry can never be stale: an article,
outlet name or coverage count that changes makes a different key. On a hit
the item's per-item work (building its dict, escaping, writing) is skipped.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.contrib.syndication.views import Feed, add_domain
from django.core.exceptions import DisallowedHost
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import get_script_prefix, get_urlconf, resolve, reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.feedgenerator import (
    Atom1Feed,
    Rss201rev2Feed,
    SyndicationFeed,
    get_tag_uri,
    rfc2822_date,
    rfc3339_date,
)
from django.utils.html import escape
from django.utils.http import http_date
from django.utils.timezone import get_default_timezone, is_naive, make_aware

from newsdesk.changes import versioned_get, versioned_set
from newsdesk.models import Article

from .countries import country_name
from .filters import ArticleFilter
from .lru import LockedLRU

NAMESPACE = "urn:x-newsdesk:feed:1"
EXTRA_FIELDS = ("original_title", "original_language", "country", "country_name", "outlet", "coverage")
# Everything outside XML 1.0's Char production: C0 controls but tab/LF/CR,
# surrogates, and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The validator query's result, handed from __call__ to items() so that a
# full response does not run the filtered query twice: either the items
# themselves (an unconditional request loads them in one query) or their
# (id, updated_at). (The Feed instance is shared by all threads, so it
# cannot hold per-request state.)
_VERSIONS: ContextVar[list[tuple] | None] = ContextVar("newsdesk_feed_versions", default=None)
_ITEMS: ContextVar[list[Article] | None] = ContextVar("newsdesk_feed_items", default=None)
# How Feed._get_dynamic_attr finds each attribute, per feed class: Django
# inspects the attribute's signature on every call, 15 times per item.
_MISSING, _VALUE, _CALL_WITH_OBJ, _CALL = range(4)
_ATTR_KINDS: dict[tuple[type, str], int] = {}
# The hooks get_feed calls per item; a class that overrides one keeps its items out of the cache.
_ITEM_HOOKS = (
    "item_title", "item_link", "item_description", "item_guid", "item_guid_is_permalink", "item_pubdate",
    "item_updateddate", "item_author_name", "item_categories", "item_extra_kwargs",
)  # fmt: skip
_CACHEABLE: dict[type, bool] = {}
# Where FeedRevalidationMiddleware leaves its memo read for the view.
MEMO_ATTR = "_newsdesk_feed_memo"


class FeedItem(NamedTuple):
    """What a feed item shows of an article: one row, no model instances (three per item)."""

    id: int
    url: str
    category: str
    title_orig: str
    summary_orig: str
    title_en: str
    summary_en: str
    language: str
    country: str
    published_at: datetime
    updated_at: datetime
    story_id: int | None
    source_name: str
    coverage: int | None  # the story's outlet count
    story_updated_at: datetime | None  # moves with the story's membership (and so its coverage)

    @property
    def display_title(self) -> str:
        return self.title_en or self.title_orig

    @property
    def display_summary(self) -> str:
        return self.summary_en or self.summary_orig


# The columns of FeedItem, in order, as the ORM names them.
FEED_ITEM_COLUMNS = (*FeedItem._fields[:-3], "source__name", "story__source_count", "story__updated_at")
# What the validators are computed from: besides the article's own update time,
# what an item shows that changes without it (the outlet's name, the story's
# coverage), so a repeat never gets a 304 for a feed whose text changed.
VERSION_COLUMNS = ("id", "updated_at", "story_id", "story__source_count", "source__name", "story__updated_at")
ItemVersion = tuple[int, datetime, int | None, int | None, str, datetime | None]


def item_version(item) -> ItemVersion:
    """The validator source of one item (a FeedItem, or a subclass's own object)."""
    if isinstance(item, FeedItem):
        return (item.id, item.updated_at, item.story_id, item.coverage, item.source_name, item.story_updated_at)
    return (item.id, item.updated_at, getattr(item, "story_id", None), None, "", None)


def xml_text(value: object) -> str:
    """``value`` as text that any XML 1.0 parser accepts."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def _escape_text(value: str) -> str:
    return _NOT_XML.sub("", value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return (
        _escape_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    )


class FastXMLWriter:
    """The subset of Django's ``SimplerXMLGenerator`` that the feed generators call.

    Same output, built in a list and joined once; the SAX writer costs several
    calls per element, which dominated the time to render fifty items. Text
    and attributes are also stripped of characters XML 1.0 forbids, whatever
    produced them.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []

    def startDocument(self) -> None:
        self.parts.append('<?xml version="1.0" encoding="utf-8"?>\n')

    def processingInstruction(self, target: str, data: str) -> None:
        self.parts.append(f"<?{target} {data}?>")

    def _open(self, name: str, attrs) -> str:
        if not attrs:
            return "<" + name
        return "<" + name + "".join(f' {k}="{_escape_attr(str(v))}"' for k, v in sorted(attrs.items()))

    def startElement(self, name: str, attrs=None) -> None:
        self.parts.append(self._open(name, attrs) + ">")

    def endElement(self, name: str) -> None:
        self.parts.append(f"</{name}>")

    def characters(self, content: str) -> None:
        if content:
            self.parts.append(_escape_text(content))

    def addQuickElement(self, name: str, contents: str | None = None, attrs=None) -> None:
        if contents:
            self.parts.append(f"{self._open(name, attrs)}>{_escape_text(contents)}</{name}>")
        else:
            self.parts.append(self._open(name, attrs) + "/>")

    def getvalue(self) -> str:
        return "".join(self.parts)


def _quick(name: str, contents: str | None) -> str:
    """``FastXMLWriter.addQuickElement(name, contents)`` without attributes, as a string."""
    return f"<{name}>{_escape_text(contents)}</{name}>" if contents else f"<{name}/>"


class RenderedItem(dict):
    """A feed item already serialised by its generator.

    ``text`` is what the generator writes for it; the dict holds only the two
    dates Django's ``latest_post_date`` reads (``lastBuildDate``, Atom's
    ``updated``).
    """

    __slots__ = ("text",)

    def __init__(self, text: str, pubdate: datetime | None, updateddate: datetime | None) -> None:
        super().__init__(pubdate=pubdate, updateddate=updateddate)
        self.text = text


# A small LRU of serialised feed items, per process.
#
# The key holds the whole row an item is made from (``FeedItem``) and
# everything else its text depends on, so an entry is never stale. The
# first page of a busy view is the same fifty items for every subscriber
# until the next article arrives, and views overlap.
feed_items: LockedLRU[tuple, RenderedItem] = LockedLRU()


class _ExtraElements:
    """Adds ``nd:*`` elements for the original-language fields to RSS and Atom items.

    Items of the shape ArticleFeed produces are written straight into the fast
    writer's buffer, one string each: the same output as the generic
    ``add_item_elements`` path (tests compare them), at a fraction of the calls.
    """

    def add_extra(self, handler, item) -> None:
        for key in EXTRA_FIELDS:
            value = item.get(key)
            if value not in (None, ""):
                handler.addQuickElement(f"nd:{key}", xml_text(value))

    def _extra_text(self, item) -> str:
        return "".join(
            _quick(f"nd:{key}", xml_text(value)) for key in EXTRA_FIELDS if (value := item.get(key)) not in (None, "")
        )

    def _plain(self, item) -> bool:
        """True for items with nothing the direct writer does not know (no email, enclosure, comments...)."""
        return (
            item["author_email"] is None
            and item["author_link"] is None
            and item["comments"] is None
            and item["ttl"] is None
            and not item["enclosures"]
            and item["item_copyright"] is None
            and not self.item_attributes(item)
        )

    def item_fragment(self, item) -> str:
        """The item's element as text, as ``write_items`` writes it."""
        if self._plain(item):
            return self.item_text(item)
        handler = FastXMLWriter()
        handler.startElement(self.item_element, self.item_attributes(item))
        self.add_item_elements(handler, item)
        handler.endElement(self.item_element)
        return handler.getvalue()

    def write_items(self, handler):
        if not isinstance(handler, FastXMLWriter):
            return super().write_items(handler)
        handler.parts.extend(
            item.text if type(item) is RenderedItem else self.item_fragment(item) for item in self.items
        )
        return None


class NewsdeskRss(_ExtraElements, Rss201rev2Feed):
    item_element = "item"

    def item_text(self, item) -> str:
        # Rss201rev2Feed.add_item_elements for a plain item, then the extras.
        parts = ["<item>", _quick("title", item["title"]), _quick("link", item["link"])]
        if item["description"] is not None:
            parts.append(_quick("description", item["description"]))
        if item["author_name"]:
            creator = _escape_text(item["author_name"])
            parts.append(f'<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">{creator}</dc:creator>')
        if item["pubdate"] is not None:
            parts.append(_quick("pubDate", rfc2822_date(item["pubdate"])))
        if item["unique_id"] is not None:
            if isinstance(item.get("unique_id_is_permalink"), bool):
                permalink = str(item["unique_id_is_permalink"]).lower()
                parts.append(
                    f'<guid isPermaLink="{_escape_attr(permalink)}">{_escape_text(item["unique_id"])}</guid>'
                    if item["unique_id"]
                    else f'<guid isPermaLink="{_escape_attr(permalink)}"/>'
                )
            else:
                parts.append(_quick("guid", item["unique_id"]))
        parts.extend(_quick("category", cat) for cat in item["categories"])
        parts.append(self._extra_text(item))
        parts.append("</item>")
        return "".join(parts)

    def write(self, outfile, encoding):
        # Rss201rev2Feed.write with the fast writer.
        handler = FastXMLWriter()
        handler.startDocument()
        self.add_stylesheets(handler)
        handler.startElement("rss", self.rss_attributes())
        handler.startElement("channel", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        self.endChannelElement(handler)
        handler.endElement("rss")
        outfile.write(handler.getvalue())

    def rss_attributes(self):
        return {**super().rss_attributes(), "xmlns:nd": NAMESPACE}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        self.add_extra(handler, item)


class NewsdeskAtom(_ExtraElements, Atom1Feed):
    item_element = "entry"

    def item_text(self, item) -> str:
        # Atom1Feed.add_item_elements for a plain item, then the extras.
        parts = [
            "<entry>",
            _quick("title", item["title"]),
            f'<link href="{_escape_attr(item["link"])}" rel="alternate"/>',
        ]
        if item["pubdate"] is not None:
            parts.append(_quick("published", rfc3339_date(item["pubdate"])))
        if item["updateddate"] is not None:
            parts.append(_quick("updated", rfc3339_date(item["updateddate"])))
        if item["author_name"] is not None:
            parts.append(f"<author>{_quick('name', item['author_name'])}</author>")
        unique_id = item["unique_id"] if item["unique_id"] is not None else get_tag_uri(item["link"], item["pubdate"])
        parts.append(_quick("id", unique_id))
        if item["description"] is not None:
            parts.append(
                f'<summary type="html">{_escape_text(item["description"])}</summary>'
                if item["description"]
                else '<summary type="html"/>'
            )
        parts.extend(f'<category term="{_escape_attr(cat)}"/>' for cat in item["categories"])
        parts.append(self._extra_text(item))
        parts.append("</entry>")
        return "".join(parts)

    def write(self, outfile, encoding):
        # Atom1Feed.write with the fast writer.
        handler = FastXMLWriter()
        handler.startDocument()
        handler.startElement("feed", self.root_attributes())
        self.add_root_elements(handler)
        self.write_items(handler)
        handler.endElement("feed")
        outfile.write(handler.getvalue())

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:nd": NAMESPACE}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        self.add_extra(handler, item)


class JsonFeedGenerator(SyndicationFeed):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1); extras under ``_newsdesk``."""

    content_type = "application/feed+json; charset=utf-8"

    def item_fragment(self, item) -> str:
        """The item's JSON object as text."""
        entry = {
            "id": item["unique_id"],
            "url": item["link"],
            "title": item["title"],
            "content_text": item.get("summary_text") or "",
            "tags": list(item["categories"] or []),
            "_newsdesk": {k: item.get(k) for k in EXTRA_FIELDS if item.get(k) not in (None, "")},
        }
        if item["pubdate"]:
            entry["date_published"] = rfc3339_date(item["pubdate"])
        if item["updateddate"]:
            entry["date_modified"] = rfc3339_date(item["updateddate"])
        if item.get("outlet"):
            entry["authors"] = [{"name": item["outlet"]}]
        if item.get("language_en"):
            entry["language"] = item["language_en"]
        return json.dumps(entry, ensure_ascii=False)

    def write(self, outfile, encoding):
        feed = self.feed
        head = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed["title"],
            "home_page_url": feed["link"],
            "feed_url": feed["feed_url"],
            "description": feed["description"],
            "language": feed["language"],
        }
        items = (item.text if type(item) is RenderedItem else self.item_fragment(item) for item in self.items)
        # json.dumps({**head, "items": [...]}) written out: its separators are ", " and ": ".
        outfile.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "items": [' + ", ".join(items) + "]}")


class ArticleFeed(Feed):
    """RSS 2.0 of a dashboard view; the base class of every Newsdesk feed."""

    feed_type = NewsdeskRss
    format_name = "rss"
    language = "en"
    item_guid_is_permalink = False

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

    def link(self, obj: ArticleFilter) -> str:
        query = obj.as_query()
        return reverse("dashboard") + (f"?{query}" if query else "")

    def feed_url(self, obj: ArticleFilter) -> str | None:
        if not isinstance(obj, ArticleFilter):
            return None
        query = obj.as_query()
        return reverse(f"feed-{self.format_name}") + (f"?{query}" if query else "")

    # --- items ------------------------------------------------------------

    def _get_dynamic_attr(self, attname, obj, default=None):
        # Django's lookup, with what it learns about each attribute kept per class.
        key = (type(self), attname)
        kind = _ATTR_KINDS.get(key)
        if kind is None:
            attr = getattr(self, attname, _ATTR_KINDS)
            if attr is _ATTR_KINDS:
                kind = _MISSING
            elif not callable(attr):
                kind = _VALUE
            else:
                code = getattr(inspect.unwrap(attr), "__code__", None)
                if code is None or not code.co_argcount:  # odd callables: Django decides, every time
                    return super()._get_dynamic_attr(attname, obj, default)
                kind = _CALL_WITH_OBJ if code.co_argcount == 2 else _CALL
            _ATTR_KINDS[key] = kind
        if kind == _MISSING:
            return default
        attr = getattr(self, attname)
        if kind == _CALL_WITH_OBJ:
            return attr(obj)
        if kind == _CALL:
            return attr()
        return attr

    def get_feed(self, obj, request):
        # Django's get_feed, with its per-item loop written out for the item
        # hooks ArticleFeed has: seventeen attribute lookups and a template
        # context per item are most of its cost. A subclass using hooks this
        # loop does not know goes through Django's.
        if not self._direct_items():
            return super().get_feed(obj, request)
        items = self._get_dynamic_attr("items", obj)
        token = _ITEMS.set([])
        try:
            feed = super().get_feed(obj, request)  # the channel, no items
        finally:
            _ITEMS.reset(token)
        domain, secure, tz = get_current_site(request).domain, request.is_secure(), get_default_timezone()
        size = settings.NEWSDESK_FEED_ITEM_CACHE
        if (
            size > 0
            and self._cacheable_items()
            and hasattr(feed, "item_fragment")
            and all(type(item) is FeedItem for item in items)  # rows compare by value, model instances by pk
        ):
            # Everything an item's text depends on besides its row: the hooks
            # (class), the writer, the links' site, scheme and URL resolution,
            # and the zone that makes naive dates aware.
            scope = (type(self), type(feed), domain, secure, get_script_prefix(), get_urlconf(), str(tz))
            keys = [(scope, item) for item in items]
            cached = feed_items.get_many(keys)
        else:
            keys = cached = None
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
        return feed

    @classmethod
    def _direct_items(cls) -> bool:
        unknown = ("item_enclosure_url", "item_author_email", "item_author_link", "item_comments", "item_copyright")
        return (
            cls.title_template is None
            and cls.description_template is None
            and not any(hasattr(cls, name) for name in unknown)
            and cls.item_enclosures is Feed.item_enclosures
        )

    @classmethod
    def _cacheable_items(cls) -> bool:
        """True when every item hook is ArticleFeed's own: an item's text is then a function of its row alone."""
        cacheable = _CACHEABLE.get(cls)
        if cacheable is None:
            cacheable = all(getattr(cls, name) is getattr(ArticleFeed, name) for name in _ITEM_HOOKS)
            _CACHEABLE[cls] = cacheable
        return cacheable

    def items_builtin(self) -> bool:
        """True when the items are ``item_queryset``'s first rows (not a subclass's own list)."""
        return type(self).items is ArticleFeed.items

    def item_rows(self, obj) -> list[FeedItem]:
        """The feed's items, in one query."""
        rows = self.item_queryset(obj).values_list(*FEED_ITEM_COLUMNS)[: settings.NEWSDESK_FEED_SIZE]
        return [FeedItem._make(row) for row in rows]

    def item_versions(self, obj) -> list[ItemVersion]:
        """``item_version`` of the feed's items, newest first: the validator source."""
        if not self.items_builtin():
            # A subclass that builds its own item list: derive from it.
            return [item_version(item) for item in self.items(obj)]
        return list(self.item_queryset(obj).values_list(*VERSION_COLUMNS)[: settings.NEWSDESK_FEED_SIZE])

    def items(self, obj) -> list[FeedItem]:
        rows = _ITEMS.get()
        if rows is not None:
            return rows
        versions = _VERSIONS.get()
        if versions is None:
            versions = self.item_versions(obj)
        ids = [v[0] for v in versions]
        by_id = {
            row[0]: FeedItem._make(row) for row in Article.objects.filter(id__in=ids).values_list(*FEED_ITEM_COLUMNS)
        }
        return [by_id[i] for i in ids if i in by_id]

    def item_title(self, item: FeedItem) -> str:
        return xml_text(item.display_title)

    def item_description(self, item: FeedItem) -> str:
        # RSS and Atom readers treat descriptions as HTML; ours is plain text.
        return xml_text(escape(item.display_summary))

    def item_link(self, item: FeedItem) -> str:
        if item.url:
            return xml_text(item.url)
        if item.story_id:
            return reverse("story", args=[item.story_id])
        return reverse("dashboard")

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
        if item.language:
            cats.append(f"lang:{item.language}")
        if item.category:
            cats.append(item.category)
        return [xml_text(c) for c in cats if xml_text(c).strip()]

    def item_extra_kwargs(self, item: FeedItem) -> dict:
        return {
            "original_title": xml_text(item.title_orig) if item.title_orig != item.display_title else "",
            "original_language": item.language,
            "country": item.country,
            "country_name": country_name(item.country) if item.country else "",
            "outlet": xml_text(item.source_name),
            "coverage": item.coverage if item.story_id and item.coverage is not None else "",
            "summary_text": xml_text(item.display_summary),
            "language_en": "en" if item.title_en else item.language,
        }

    # --- HTTP -------------------------------------------------------------

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
        for ident, updated, story, coverage, outlet, story_updated in versions:
            digest.update(f"|{ident}:{updated.timestamp():.6f}:{story}:{coverage}:{len(outlet)}:{outlet}".encode())
            for moment in (updated, story_updated):
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

    def memo_304(self, request: HttpRequest, version: int | None, memo) -> tuple[HttpResponse | None, bool]:
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
                return self._finish(response, etag=etag, last_modified_ts=last_modified_ts), False
            return None, True  # the client's validator is not the current one
        return None, not conditional

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        obj = self.get_object(request, *args, **kwargs)
        memo_key, version, memo = self.memo_read(request, obj)
        response, sure_200 = self.memo_304(request, version, memo)
        if response is not None:
            return response
        rows = None
        if sure_200 and self.items_builtin():
            # A 200 for sure: load the items and take the validators from them.
            rows = self.item_rows(obj)
            versions = [item_version(row) for row in rows]
        else:
            versions = self.item_versions(obj)
        etag, last_modified_ts = self.validators(request, obj, versions)
        if version is not None and memo != (version, etag, last_modified_ts):
            versioned_set(memo_key, (version, etag, last_modified_ts), timeout=settings.NEWSDESK_FEED_VALIDATOR_TTL)
        response = get_conditional_response(request, etag=etag, last_modified=last_modified_ts)
        if response is None:
            token, items_token = _VERSIONS.set(versions), _ITEMS.set(rows)
            try:
                feedgen = self.get_feed(obj, request)
            finally:
                _VERSIONS.reset(token)
                _ITEMS.reset(items_token)
            # Serialise into one buffer: the XML writer emits thousands of tiny
            # pieces, and HttpResponse.write() costs far more per call.
            buffer = io.StringIO()
            feedgen.write(buffer, "utf-8")
            response = HttpResponse(buffer.getvalue(), content_type=feedgen.content_type)
        return self._finish(response, etag=etag, last_modified_ts=last_modified_ts)

    def _finish(self, response: HttpResponse, *, etag: str, last_modified_ts: int | None) -> HttpResponse:
        response.headers["ETag"] = etag
        if last_modified_ts is not None:
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
    ``ArticleFeed.memo_304``), which needs neither a session, a user, CSRF,
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
        self._routes: dict[str, dict[str, ArticleFeed]] = {}

    def _feed_for(self, path: str) -> ArticleFeed | None:
        prefix = get_script_prefix()
        routes = self._routes.get(prefix)
        if routes is None:
            routes = {}
            for name in self.NAMES:
                url = reverse(name)
                view = resolve(url[len(prefix) - 1 :]).func  # the path below the script prefix
                if isinstance(view, ArticleFeed):
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
                obj = feed.get_object(request)
                held = feed.memo_read(request, obj)
                response, _ = feed.memo_304(request, held[1], held[2])
                if response is not None:
                    return response
                setattr(request, MEMO_ATTR, held)
        return self.get_response(request)


class AtomArticleFeed(ArticleFeed):
    feed_type = NewsdeskAtom
    format_name = "atom"

    def subtitle(self, obj) -> str:
        return self.description(obj)


class JsonArticleFeed(ArticleFeed):
    feed_type = JsonFeedGenerator
    format_name = "json"
