"""Syndication feeds (RSS 2.0, Atom, JSON Feed) of any dashboard view.

- ``items``: what an item is made of, declared once (``FeedItem``, ``EXTRAS``);
- ``xml`` and ``generators``: the XML writer and the three generators;
- ``conditional``: validators, their memo and the revalidation middleware;
- ``views``: ``ArticleFeed`` and its Atom and JSON variants, with the item cache.
"""

from .conditional import FeedRevalidationMiddleware
from .generators import NAMESPACE, JsonFeedGenerator, NewsdeskAtom, NewsdeskRss
from .items import FEED_ITEM_COLUMNS, VERSION_COLUMNS, FeedItem, item_version
from .views import ArticleFeed, AtomArticleFeed, JsonArticleFeed, feed_items
from .xml import xml_text

__all__ = [
    "FEED_ITEM_COLUMNS",
    "NAMESPACE",
    "VERSION_COLUMNS",
    "ArticleFeed",
    "AtomArticleFeed",
    "FeedItem",
    "FeedRevalidationMiddleware",
    "JsonArticleFeed",
    "JsonFeedGenerator",
    "NewsdeskAtom",
    "NewsdeskRss",
    "feed_items",
    "item_version",
    "xml_text",
]
