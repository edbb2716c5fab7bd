"""Boilerplate: text that repeats across unrelated articles is not evidence of one story.

Feeds repeat one text in item after item: the site's tagline as every
description, "Read more on ...", a newsletter footer, a consent or anti-bot
page fetched instead of the article. Two unrelated items that share it would
look alike to every part of the score (words, names, the embedding).

The rule: a lead is cut into segments (sentences; a piece of fewer than
:data:`SEGMENT_WORDS` words joins its neighbour), each keyed by its folded
words without figures (so the same sentence with another IP address, date or
count is the same segment). A segment is boilerplate once it has been seen in
articles under :data:`BOILERPLATE_TITLES` or more unrelated titles: titles
that share no two words (:func:`titles_related`). Two items sharing a lead,
or any number under one headline or under headlines of one event (a wire
story, quoted by outlet after outlet), are syndication (one story), not
boilerplate. The features and the embedding then read the lead
without its boilerplate segments (the title alone when nothing is left); the
stored text, and the card that shows it, are unchanged.

The counts are kept per segment over the whole index, not per source: a
blocked-crawler page comes from many sites of one publisher, and a feed's
tagline reaches three titles within its first poll either way. The database
keeps them in ``CoverageBoilerplate`` (:mod:`newsdesk.coverage.dbboilerplate`),
the evaluation in :class:`BoilerplateCounts`; both run :func:`lead_segments`
and :func:`lead_strip`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable

from .text import STEM_LEN, STOPWORDS, word_fold

# A segment is a sentence of at least this many words (figures not counted);
# a shorter piece ("Read more.", "Twój adres IP: 1.2.3.4") joins the one before it.
SEGMENT_WORDS = 5
# Seen under this many unrelated titles, a segment is boilerplate. Two is syndication.
BOILERPLATE_TITLES = 3
# A segment's first titles are all that is kept of it: a sentence that a template repeats
# with other figures under related titles (a daily price report) would otherwise gain one
# title per item for ever, and each read of it would grow with them.
TITLES_KEPT = 12
# Only the start of a lead is read by the features (600 characters) and the
# embedding (300): segments further on are neither keyed nor stored.
LEAD_CHARS = 1000

_SPLIT = re.compile(r"(?<=[.!?。！？])(?![0-9])|(?<=\n)")
_WORD = re.compile(r"[^\W_]+")


def _key(words: Iterable[str]) -> str:
    return hashlib.blake2b(" ".join(words).encode(), digest_size=8).hexdigest()


def _words(text: str) -> list[str]:
    # A word of letters only holds no figure (no character is both a letter and a digit):
    # only the others are read character by character.
    return [w for w in (word_fold(m) for m in _WORD.findall(text)) if w.isalpha() or not any(c.isdigit() for c in w)]


def title_key(title: str) -> str:
    """What tells two titles apart: their folded words, figures included."""
    return _key(word_fold(m) for m in _WORD.findall(title))


def title_words(title: str) -> frozenset[str]:
    """A title's words as the relation reads them: stems of its words that are not figures or function words."""
    return frozenset(w[:STEM_LEN] for w in _words(title) if len(w) >= 3 and w not in STOPWORDS)


def titles_related(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two headlines of one event: they share two words, or half the shorter one's."""
    shared = len(a & b)
    return shared >= 2 or (shared == 1 and min(len(a), len(b)) <= 2)


def titles_unrelated(titles: Iterable[frozenset[str]]) -> int:
    """How many of the titles, taken in order, are related to none before them (a title without words counts none)."""
    kept: list[frozenset[str]] = []
    for words in titles:
        if words and not any(titles_related(words, other) for other in kept):
            kept.append(words)
    return len(kept)


def lead_segments(text: str) -> list[tuple[str, str | None]]:
    """(segment, key) of the lead's start, in order; key None for a lead too short to judge."""
    return list(_segments(text[:LEAD_CHARS]))


# Kept per process for the leads of about one enrichment batch: each lead is cut when its
# segments are counted (original and English) and again when the features strip them.
@functools.lru_cache(maxsize=256)
def _segments(text: str) -> tuple[tuple[str, str | None], ...]:
    pieces: list[tuple[str, list[str]]] = []
    for raw in _SPLIT.split(text):
        if not raw:
            continue
        words = _words(raw)
        if pieces and (len(words) < SEGMENT_WORDS or len(pieces[-1][1]) < SEGMENT_WORDS):
            last, last_words = pieces[-1]
            pieces[-1] = (last + raw, last_words + words)
        else:
            pieces.append((raw, words))
    return tuple((raw, _key(words) if len(words) >= SEGMENT_WORDS else None) for raw, words in pieces)


def lead_keys(text: str) -> list[str]:
    """The keys of the lead's segments (what is counted)."""
    return [key for _, key in lead_segments(text) if key is not None]


def lead_strip(text: str, boilerplate: frozenset[str]) -> str:
    """The lead without its boilerplate segments (the text itself when it has none)."""
    if not boilerplate or not text:
        return text
    segments = lead_segments(text)
    if not any(key in boilerplate for _, key in segments):
        return text
    kept = "".join(raw for raw, key in segments if key not in boilerplate)
    return " ".join(kept.split()) if kept.strip() else ""


class BoilerplateCounts:
    """The rule over an in-memory stream (evaluation): the unrelated titles each segment was seen under."""

    def __init__(self) -> None:
        self._titles: dict[str, list[frozenset[str]]] = defaultdict(list)

    def add(self, *, title: str, lead: str) -> None:
        words = title_words(title)
        for key in lead_keys(lead):
            titles = self._titles[key]
            if words not in titles and len(titles) < TITLES_KEPT and titles_unrelated(titles) < BOILERPLATE_TITLES:
                titles.append(words)

    def boilerplate(self, lead: str) -> frozenset[str]:
        """The lead's segments that are boilerplate so far."""
        return frozenset(k for k in lead_keys(lead) if titles_unrelated(self._titles.get(k, ())) >= BOILERPLATE_TITLES)

    def strip(self, lead: str) -> str:
        return lead_strip(lead, self.boilerplate(lead))
