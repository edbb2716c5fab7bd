"""The feed generators: RSS 2.0, Atom and JSON Feed, with Newsdesk's extra fields.

RSS and Atom subclass Django's generators and write through ``FastXMLWriter``;
an item of the shape ``ArticleFeed`` produces is written as one string
(``item_text``), byte for byte what Django's generic path writes for it
(tests/test_feeds.py compares them). The extra fields are ``EXTRA_FIELDS``
(``items.py``).
"""

from __future__ import annotations

import json
from datetime import datetime

from django.utils.feedgenerator import (
    Atom1Feed,
    Rss201rev2Feed,
    SyndicationFeed,
    get_tag_uri,
    rfc2822_date,
    rfc3339_date,
)

from .items import EXTRA_FIELDS
from .xml import FastXMLWriter, escape_attr, escape_text, quick, xml_text

NAMESPACE = "urn:x-newsdesk:feed:1"


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


class _ExtraElements:
    """Adds ``nd:*`` elements for the original-language fields to RSS and Atom items.

    Items of the shape ArticleFeed produces are written straight into the fast
    writer's buffer, one string each: the same output as the generic
    ``add_item_elements`` path (tests compare them), at a fraction of the calls.
    """

    # The WebSub hub link beside Django's rel="self" link: <atom:link/> in RSS, <link></link> in Atom.
    hub_element: str
    hub_contents: str | None

    def add_root_elements(self, handler):
        super().add_root_elements(handler)
        if self.feed.get("hub"):
            handler.addQuickElement(self.hub_element, self.hub_contents, {"rel": "hub", "href": self.feed["hub"]})

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        self.add_extra(handler, item)

    def add_extra(self, handler, item) -> None:
        for key in EXTRA_FIELDS:
            value = item.get(key)
            if value not in (None, ""):
                handler.addQuickElement(f"nd:{key}", xml_text(value))

    def _extra_text(self, item) -> str:
        return "".join(
            quick(f"nd:{key}", xml_text(value)) for key in EXTRA_FIELDS if (value := item.get(key)) not in (None, "")
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

    def write(self, outfile, encoding):
        # Django's Rss201rev2Feed.write / Atom1Feed.write with the fast writer.
        handler = FastXMLWriter()
        handler.startDocument()
        self.root_open(handler)
        self.add_root_elements(handler)
        self.write_items(handler)
        self.root_close(handler)
        outfile.write(handler.getvalue())

    def write_items(self, handler):
        if not isinstance(handler, FastXMLWriter):
            return super().write_items(handler)
        handler.parts.extend(
            item.text if type(item) is RenderedItem else self.item_fragment(item) for item in self.items
        )
        return None


class NewsdeskRss(_ExtraElements, Rss201rev2Feed):
    item_element = "item"
    hub_element, hub_contents = "atom:link", None

    def item_text(self, item) -> str:
        # Rss201rev2Feed.add_item_elements for a plain item, then the extras.
        parts = ["<item>", quick("title", item["title"]), quick("link", item["link"])]
        if item["description"] is not None:
            parts.append(quick("description", item["description"]))
        if item["author_name"]:
            creator = escape_text(item["author_name"])
            parts.append(f'<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">{creator}</dc:creator>')
        if item["pubdate"] is not None:
            parts.append(quick("pubDate", rfc2822_date(item["pubdate"])))
        if item["unique_id"] is not None:
            if isinstance(item.get("unique_id_is_permalink"), bool):
                permalink = str(item["unique_id_is_permalink"]).lower()
                parts.append(
                    f'<guid isPermaLink="{escape_attr(permalink)}">{escape_text(item["unique_id"])}</guid>'
                    if item["unique_id"]
                    else f'<guid isPermaLink="{escape_attr(permalink)}"/>'
                )
            else:
                parts.append(quick("guid", item["unique_id"]))
        parts.extend(quick("category", cat) for cat in item["categories"])
        parts.append(self._extra_text(item))
        parts.append("</item>")
        return "".join(parts)

    def root_open(self, handler) -> None:
        self.add_stylesheets(handler)
        handler.startElement("rss", self.rss_attributes())
        handler.startElement("channel", self.root_attributes())

    def root_close(self, handler) -> None:
        self.endChannelElement(handler)
        handler.endElement("rss")

    def rss_attributes(self):
        return {**super().rss_attributes(), "xmlns:nd": NAMESPACE}


class NewsdeskAtom(_ExtraElements, Atom1Feed):
    item_element = "entry"
    hub_element, hub_contents = "link", ""

    def item_text(self, item) -> str:
        # Atom1Feed.add_item_elements for a plain item, then the extras.
        parts = [
            "<entry>",
            quick("title", item["title"]),
            f'<link href="{escape_attr(item["link"])}" rel="alternate"/>',
        ]
        if item["pubdate"] is not None:
            parts.append(quick("published", rfc3339_date(item["pubdate"])))
        if item["updateddate"] is not None:
            parts.append(quick("updated", rfc3339_date(item["updateddate"])))
        if item["author_name"] is not None:
            parts.append(f"<author>{quick('name', item['author_name'])}</author>")
        unique_id = item["unique_id"] if item["unique_id"] is not None else get_tag_uri(item["link"], item["pubdate"])
        parts.append(quick("id", unique_id))
        if item["description"] is not None:
            parts.append(
                f'<summary type="html">{escape_text(item["description"])}</summary>'
                if item["description"]
                else '<summary type="html"/>'
            )
        parts.extend(f'<category term="{escape_attr(cat)}"/>' for cat in item["categories"])
        parts.append(self._extra_text(item))
        parts.append("</entry>")
        return "".join(parts)

    def root_open(self, handler) -> None:
        # Django writes stylesheets for RSS only; a browser shows Atom through the same XSL.
        for stylesheet in self.feed["stylesheets"] or []:
            handler.processingInstruction("xml-stylesheet", str(stylesheet))
        handler.startElement("feed", self.root_attributes())

    def root_close(self, handler) -> None:
        handler.endElement("feed")

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:nd": NAMESPACE}


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
        if feed.get("hub"):
            head["hubs"] = [{"type": "WebSub", "url": feed["hub"]}]
        items = (item.text if type(item) is RenderedItem else self.item_fragment(item) for item in self.items)
        # json.dumps({**head, "items": [...]}) written out: its separators are ", " and ": ".
        outfile.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "items": [' + ", ".join(items) + "]}")
