"""The boilerplate rule (:mod:`newsdesk.coverage.boilerplate`) over the database, at enrichment.

Per enrichment batch: one read of the titles the batch's lead segments were
seen under and one write of the (segment, title) rows of the segments still
below the bar; the batch's own titles are added to what was read. A segment already boilerplate
gets no more rows, so a feed's tagline costs a few rows (three titles, or one
batch's), not one per item; any other keeps its first titles only
(:data:`~newsdesk.coverage.boilerplate.TITLES_KEPT`, or one batch's more), so
a read of the batch's segments stays bounded. The assignment itself reads nothing more: it is handed
each article's boilerplate segments.

The table is bounded in time: each row keeps when it was first counted, and
beat deletes rows older than ``NEWSDESK_COVERAGE_BOILERPLATE_DAYS``
(:func:`boilerplate_prune`, hourly). A tagline still in use is counted again
from its next items (a feed's poll brings three titles at once). ``recluster``
recounts the articles it replays (:func:`boilerplate_recount`): all of them,
from nothing, for a full rebuild (in memory, then swapped in one transaction),
each row dated by its article's fetch time, so what the rebuild counted ages
out as enrichment's rows do.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from newsdesk.models import Article, CoverageBoilerplate
from newsdesk.ops.retention import rows_prune

from .boilerplate import BOILERPLATE_TITLES, TITLES_KEPT, lead_keys, title_key, title_words, titles_unrelated
from .sql import pg_copy
from .text import page_headline

log = logging.getLogger(__name__)


def _article_keys(article: Article) -> set[str]:
    keys = set(lead_keys(article.summary_orig))
    if article.summary_en != article.summary_orig:  # the same text (not translated) is read once
        keys.update(lead_keys(article.summary_en))
    return keys


def _titles(rows: Iterable[tuple[str, str]]) -> dict[str, list[frozenset[str]]]:
    """Each segment's titles' words from (segment, words) rows, in the order they were written."""
    titles: dict[str, list[frozenset[str]]] = defaultdict(list)
    for segment, words in rows:
        titles[segment].append(frozenset(words.split()))
    return titles


def _boilerplate_of(titles: dict[str, list[frozenset[str]]]) -> set[str]:
    return {segment for segment, seen in titles.items() if titles_unrelated(seen) >= BOILERPLATE_TITLES}


_IN_CHUNK = 5000  # segments per read: a big recount batch stays within SQLite's and PostgreSQL's bind limits


def _rows(segments: set[str]) -> Iterable[tuple[str, str]]:
    ordered = sorted(segments)
    for i in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[i : i + _IN_CHUNK]
        yield from CoverageBoilerplate.objects.filter(segment__in=chunk).order_by("id").values_list("segment", "words")


def articles_boilerplate(
    articles: Sequence[Article], *, record: bool = True, dated: bool = False
) -> dict[int, frozenset[str]]:
    """Each article's boilerplate lead segments (original and English), counting its own lead first.

    ``record=False`` only reads (an editor's re-assignment, ``recluster --since``'s
    replay: the articles were counted at their enrichment, or by the rebuild's
    :func:`boilerplate_recount`). New rows are dated now, or by each article's
    ``fetched_at`` with ``dated`` (a recount; a pair first seen at several
    articles takes the earliest).
    """
    keys = {article.id: _article_keys(article) for article in articles}
    segments = set().union(*keys.values()) if keys else set()
    if not segments:
        return {key: frozenset() for key in keys}
    seen = _titles(_rows(segments))
    known = _boilerplate_of(seen)
    fresh = {s for s in segments - known if len(seen.get(s, ())) < TITLES_KEPT}
    if record and fresh:
        first = _rows_new(articles, keys, fresh, dated=dated)
        rows = sorted(first)
        CoverageBoilerplate.objects.bulk_create(
            [CoverageBoilerplate(segment=s, title=t, words=w, seen_at=first[(s, t, w)]) for s, t, w in rows],
            ignore_conflicts=True,
            batch_size=2000,
        )
        # The batch's own titles join what was read (another worker's rows of the same moment count
        # from the next batch on: a count one batch late at most).
        for segment, _, words in rows:
            seen[segment].append(frozenset(words.split()))
        known |= _boilerplate_of({segment: seen[segment] for segment in fresh})
    return {key: frozenset(found & known) for key, found in keys.items()}


def _rows_new(
    articles: Sequence[Article], keys: dict[int, set[str]], fresh: set[str], *, dated: bool
) -> dict[tuple[str, str, str], datetime]:
    """The (segment, title, words) rows a batch adds for its ``fresh`` segments, each with its date."""
    now = timezone.now()
    first: dict[tuple[str, str, str], datetime] = {}
    for article in articles:
        if not (title := page_headline(title=article.title_orig or article.title_en, url=article.url)):
            continue
        at = (article.fetched_at or now) if dated else now
        words = " ".join(sorted(title_words(title)))
        key = title_key(title)  # once per article, not per segment
        for segment in keys[article.id] & fresh:
            row = (segment, key, words)
            first[row] = min(first.get(row, at), at)
    return first


class _Recount:
    """The table as :func:`articles_boilerplate` would fill it from empty, kept in memory.

    Batch by batch exactly as the database path: a batch reads the titles
    counted before it, its rows go in sorted, and a (segment, title) pair
    already there is ignored (the unique index's part), so the rows and their
    order (the ids a read orders by) are the same.
    """

    def __init__(self) -> None:
        self.titles: dict[str, list[frozenset[str]]] = defaultdict(list)
        self.pairs: set[tuple[str, str]] = set()
        self.rows: list[tuple[str, str, str, datetime]] = []
        self.counted: set[int] = set()

    def add(self, articles: Sequence[Article]) -> None:
        self.counted.update(a.id for a in articles)
        keys = {article.id: _article_keys(article) for article in articles}
        segments = set().union(*keys.values()) if keys else set()
        seen = {s: self.titles[s] for s in segments if s in self.titles}
        known = _boilerplate_of(seen)
        fresh = {s for s in segments - known if len(seen.get(s, ())) < TITLES_KEPT}
        if not fresh:
            return
        first = _rows_new(articles, keys, fresh, dated=True)
        for row in sorted(first):
            segment, title, words = row
            if (segment, title) in self.pairs:
                continue
            self.pairs.add((segment, title))
            self.titles[segment].append(frozenset(words.split()))
            self.rows.append((segment, title, words, first[row]))

    def add_all(self, articles: Iterable[Article], *, batch: int) -> None:
        stream: Iterator[Article] = iter(articles)
        while chunk := list(islice(stream, batch)):
            self.add(chunk)


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


_RECOUNT_FIELDS = ("id", "title_orig", "summary_orig", "title_en", "summary_en", "url", "fetched_at")
RECOUNT_BATCH = 1000  # articles per recount batch: one read and one write each, as an enrichment batch


def _recount_articles(queryset: QuerySet[Article], *, batch: int) -> Iterator[Article]:
    rows = queryset.order_by("fetched_at", "id").values_list(*_RECOUNT_FIELDS).iterator(chunk_size=batch)
    return (Article(**dict(zip(_RECOUNT_FIELDS, row, strict=True))) for row in rows)


def boilerplate_recount(articles: Iterable[Article] | None = None, *, batch: int = RECOUNT_BATCH) -> int:
    """Count the articles' leads again, in batches, as enrichment does; return how many articles.

    Without ``articles`` (a full ``recluster``): every stored article is
    counted, in the order they were fetched, from nothing, so the counts are
    the rebuild's own: nothing of deleted articles, of an older rule, or
    missing for articles enriched before the table existed. They are counted
    in memory and replace the table in one short transaction: live enrichment
    reads the old counts until the new ones commit, never a half-filled table.
    The articles stored while the count ran are counted too, in that
    transaction (its lock holds enrichment's reads and writes of the table
    off meanwhile). With ``articles`` (``recluster --since``): their rows are
    added to what is there (a pair already counted stays as it was).
    """
    if articles is None:
        return _recount_all(batch=batch)
    done = 0
    stream: Iterator[Article] = iter(articles)
    while chunk := list(islice(stream, batch)):
        articles_boilerplate(chunk, dated=True)
        done += len(chunk)
    return done


def _recount_all(*, batch: int) -> int:
    recount = _Recount()
    recount.add_all(_recount_articles(Article.objects.all(), batch=batch), batch=batch)
    with transaction.atomic():
        _table_clear()  # PostgreSQL: TRUNCATE, whose lock the late articles' count below runs under
        stored = set(Article.objects.values_list("id", flat=True).iterator(chunk_size=5000))
        late = sorted(stored - recount.counted)
        if late:
            recount.add_all(_recount_articles(Article.objects.filter(id__in=late), batch=batch), batch=batch)
        _table_fill(recount.rows)
    return len(recount.counted)


def _table_fill(rows: Sequence[tuple[str, str, str, datetime]]) -> None:
    """Write the rows in their order (their ids follow it: a segment's titles are read by id)."""
    table = CoverageBoilerplate._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            pg_copy(cursor, table, ("segment", "title", "words", "seen_at"), rows)
        return
    CoverageBoilerplate.objects.bulk_create(
        [CoverageBoilerplate(segment=s, title=t, words=w, seen_at=at) for s, t, w, at in rows], batch_size=2000
    )


def _table_clear() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {CoverageBoilerplate._meta.db_table}")
        return
    CoverageBoilerplate.objects.all().delete()


def boilerplate_prune(*, now: datetime, batch_size: int = 5000, max_batches: int = 200) -> int:
    """Delete the rows first counted more than NEWSDESK_COVERAGE_BOILERPLATE_DAYS ago; return how many.

    In short transactions of ``batch_size`` rows, at most ``max_batches`` per
    run (the next run goes on), as the fetch history's retention does (:func:`~newsdesk.ops.retention.rows_prune`).
    """
    days = float(settings.NEWSDESK_COVERAGE_BOILERPLATE_DAYS)
    if days <= 0:
        return 0
    cutoff = now - timedelta(days=days)
    deleted = rows_prune(
        CoverageBoilerplate.objects.all(),
        field="seen_at",
        cutoff=cutoff,
        batch_size=batch_size,
        max_batches=max_batches,
    )
    if deleted:
        log.info("event=coverage_boilerplate_pruned deleted=%d cutoff=%s", deleted, cutoff.isoformat())
    return deleted
