"""The boilerplate rule (:mod:`newsdesk.coverage.boilerplate`) over the database, at enrichment.

Per enrichment batch: one read of the titles the batch's lead segments were
seen under and one write of the (segment, title) rows of the segments still
below the bar; the batch's own titles are added to what was read. A segment already boilerplate
gets no more rows, so a feed's tagline costs a few rows (three titles, or one
batch's), not one per item; any other keeps its first titles only
(:data:`~newsdesk.coverage.boilerplate.TITLES_KEPT`, or one batch's more), so
a read of the batch's segments stays bounded. The assignment itself reads nothing more: it is handed
each article's boilerplate segments.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db.models import Count

from newsdesk.models import Article, CoverageBoilerplate

from .boilerplate import BOILERPLATE_TITLES, TITLES_KEPT, lead_keys, title_key, title_words, titles_unrelated


def _article_keys(article: Article) -> set[str]:
    return {*lead_keys(article.summary_orig), *lead_keys(article.summary_en)}


def _titles(rows: Iterable[tuple[str, str]]) -> dict[str, list[frozenset[str]]]:
    """Each segment's titles' words from (segment, words) rows, in the order they were written."""
    titles: dict[str, list[frozenset[str]]] = defaultdict(list)
    for segment, words in rows:
        titles[segment].append(frozenset(words.split()))
    return titles


def _boilerplate_of(titles: dict[str, list[frozenset[str]]]) -> set[str]:
    return {segment for segment, seen in titles.items() if titles_unrelated(seen) >= BOILERPLATE_TITLES}


def _rows(segments: set[str]) -> Iterable[tuple[str, str]]:
    return (
        CoverageBoilerplate.objects.filter(segment__in=sorted(segments)).order_by("id").values_list("segment", "words")
    )


def articles_boilerplate(articles: Sequence[Article], *, record: bool = True) -> dict[int, frozenset[str]]:
    """Each article's boilerplate lead segments (original and English), counting its own lead first.

    ``record=False`` only reads (``recluster`` of recent articles, an
    editor's re-assignment: the articles were counted at their enrichment).
    """
    keys = {article.id: _article_keys(article) for article in articles}
    segments = set().union(*keys.values()) if keys else set()
    if not segments:
        return {key: frozenset() for key in keys}
    seen = _titles(_rows(segments))
    known = _boilerplate_of(seen)
    fresh = {s for s in segments - known if len(seen.get(s, ())) < TITLES_KEPT}
    if record and fresh:
        rows = {
            (segment, title_key(title), " ".join(sorted(title_words(title))))
            for article in articles
            if (title := article.title_orig or article.title_en)
            for segment in keys[article.id] & fresh
        }
        CoverageBoilerplate.objects.bulk_create(
            [CoverageBoilerplate(segment=s, title=t, words=w) for s, t, w in sorted(rows)], ignore_conflicts=True
        )
        # The batch's own titles join what was read (another worker's rows of the same moment count
        # from the next batch on: a count one batch late at most).
        for segment, _, words in sorted(rows):
            seen[segment].append(frozenset(words.split()))
        known |= _boilerplate_of({segment: seen[segment] for segment in fresh})
    return {key: frozenset(found & known) for key, found in keys.items()}


def boilerplate_segments() -> frozenset[str]:
    """Every segment that is boilerplate now (``recluster``: one read for the whole rebuild)."""
    candidates = (
        CoverageBoilerplate.objects.values("segment")
        .annotate(titles=Count("id"))
        .filter(titles__gte=BOILERPLATE_TITLES)
        .values("segment")
    )
    rows = CoverageBoilerplate.objects.filter(segment__in=candidates).order_by("id").values_list("segment", "words")
    return frozenset(_boilerplate_of(_titles(rows.iterator(chunk_size=5000))))
