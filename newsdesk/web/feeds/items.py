"""What a feed item is made of, declared once.

``FeedItem`` lists each column an item reads, with where the ORM finds it and
whether it belongs to the item's validators; ``EXTRAS`` lists each Newsdesk
field an item carries beyond Django's (``nd:<name>`` in RSS and Atom, under
``_newsdesk`` in JSON Feed). Everything else is derived from these two: the
columns the queries load, the validator columns and ``item_version``, the
``item_extra_kwargs`` the generators receive, the extra fields the three
serialisers write, and the outlet fields whose change must reach the feeds
(``newsdesk/changes.py``). Adding a field is one line in each place it
belongs, and tests/test_feeds.py writes items built from these declarations
through both our generators and Django's.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, NamedTuple, get_type_hints

from newsdesk.countries import country_name
from newsdesk.languages import display_summary, display_title, original_language

from .xml import xml_text


class Column(NamedTuple):
    """Where a ``FeedItem`` field comes from, and what its change must do to a feed's validators."""

    orm: str  # the path values_list() reads
    # Part of the ETag: something the item shows that can change without the
    # article's own updated_at (an outlet's name, a story's coverage).
    etag: bool = False
    # Also a candidate for Last-Modified (implies etag).
    modified: bool = False


class FeedItem(NamedTuple):
    """What a feed item shows of an article: one row, no model instances (three per item)."""

    id: Annotated[int, Column("id", etag=True)]
    url: Annotated[str, Column("url")]
    category: Annotated[str, Column("category")]
    title_orig: Annotated[str, Column("title_orig")]
    summary_orig: Annotated[str, Column("summary_orig")]
    title_en: Annotated[str, Column("title_en")]
    summary_en: Annotated[str, Column("summary_en")]
    language: Annotated[str, Column("language")]
    language_declared: Annotated[str, Column("language_declared")]
    country: Annotated[str, Column("country")]
    published_at: Annotated[datetime, Column("published_at")]
    updated_at: Annotated[datetime, Column("updated_at", modified=True)]
    story_id: Annotated[int | None, Column("story_id", etag=True)]
    source_name: Annotated[str, Column("source__name", etag=True)]
    coverage: Annotated[int | None, Column("story__source_count", etag=True)]  # the story's outlet count
    # Moves with the story's membership (and so its coverage).
    story_updated_at: Annotated[datetime | None, Column("story__updated_at", modified=True)]
    translation_status: Annotated[str, Column("translation_status", etag=True)]  # the untranslated marker

    # English when we have it, else the original (newsdesk/languages.py).
    display_title = property(display_title)
    display_summary = property(display_summary)

    @property
    def original_language(self) -> str:
        """The card's "(ES)": newsdesk/languages.py's one rule."""
        return original_language(language=self.language, declared=self.language_declared)


class Extra(NamedTuple):
    """A field an item carries beyond Django's standard ones."""

    name: str
    value: Callable[[FeedItem], object]
    # Written as nd:<name> (RSS, Atom) and _newsdesk.<name> (JSON); False for
    # what only a generator's own element reads (JSON's content_text, language).
    element: bool = True


EXTRAS: tuple[Extra, ...] = (
    Extra("original_title", lambda i: xml_text(i.title_orig) if i.title_orig != i.display_title else ""),
    Extra("original_language", lambda i: i.original_language),
    Extra("country", lambda i: i.country),
    Extra("country_name", lambda i: country_name(i.country) if i.country else ""),
    Extra("outlet", lambda i: xml_text(i.source_name)),
    Extra("coverage", lambda i: i.coverage if i.story_id and i.coverage is not None else ""),
    # 'pending' (published after the hold) or 'failed' while the item shows its original text.
    Extra(
        "translation",
        lambda i: "" if i.title_en else i.translation_status if i.translation_status in ("pending", "failed") else "",
    ),
    Extra("summary_text", lambda i: xml_text(i.display_summary), element=False),
    Extra("language_en", lambda i: "en" if i.title_en else i.language, element=False),
)

# --- derived ----------------------------------------------------------------

COLUMNS: dict[str, Column] = {
    name: hint.__metadata__[0] for name, hint in get_type_hints(FeedItem, include_extras=True).items()
}
# The columns of FeedItem, in order, as the ORM names them.
FEED_ITEM_COLUMNS: tuple[str, ...] = tuple(column.orm for column in COLUMNS.values())
# What the validators are computed from, id first.
VERSION_FIELDS: tuple[str, ...] = tuple(name for name, c in COLUMNS.items() if c.etag or c.modified)
VERSION_COLUMNS: tuple[str, ...] = tuple(COLUMNS[name].orm for name in VERSION_FIELDS)
# Positions in an item version of the moments Last-Modified is the latest of.
MODIFIED_POSITIONS: tuple[int, ...] = tuple(n for n, name in enumerate(VERSION_FIELDS) if COLUMNS[name].modified)
# The item's extra elements, in the order the serialisers write them.
EXTRA_FIELDS: tuple[str, ...] = tuple(extra.name for extra in EXTRAS if extra.element)
# Outlet columns an item shows: a save of a Source touching one of them changes feeds.
SOURCE_FEED_FIELDS: frozenset[str] = frozenset(
    column.orm.removeprefix("source__") for column in COLUMNS.values() if column.orm.startswith("source__")
)
assert VERSION_FIELDS[0] == "id", "validators and the item query read the id first"

ItemVersion = tuple
_version_of = operator.itemgetter(*(FeedItem._fields.index(name) for name in VERSION_FIELDS))


def item_version(item) -> ItemVersion:
    """The validator source of one item (a FeedItem, or a subclass's own object)."""
    if isinstance(item, FeedItem):
        return _version_of(item)
    return tuple(getattr(item, name, None) for name in VERSION_FIELDS)


def item_extra_kwargs(item: FeedItem) -> dict[str, object]:
    """The ``add_item`` keywords of the item's ``EXTRAS``."""
    return {extra.name: extra.value(item) for extra in EXTRAS}
