"""How many times an assignment waits for PostgreSQL: read from libpq's own trace of the protocol."""

from __future__ import annotations

import tempfile
from datetime import timedelta

import pytest
from django.db import connection, transaction
from psycopg import pq

from newsdesk.coverage.cluster import ArticleSave, article_assign_story
from newsdesk.coverage.links import NO_LINKS
from newsdesk.coverage.semantic import article_embedding, semantic_enabled
from newsdesk.coverage.sql import pg_cursor, pg_execute, pg_pipeline
from newsdesk.models import Article
from tests.support.coverage import QUAKE, T0, make_article


def _waits(trace: str) -> list[list[str]]:
    """The client's messages, grouped by what it sent before each wait for the server.

    A group ends where the client stops sending and reads: after a Sync or a
    simple Query (both answered by ReadyForQuery), or after a Flush that does
    not follow a Sync (a result fetched inside a pipeline: the client reads
    it, then sends the rest). psycopg follows a pipeline's closing Sync with a
    Flush: one wait. Entries are the message type and its statement or
    prepared name.
    """
    groups: list[list[str]] = []
    group: list[str] = []
    last = ""
    for line in trace.splitlines():
        fields = line.split("\t")
        if len(fields) < 3 or fields[0] != "F":
            continue
        kind, rest = fields[2], (fields[3] if len(fields) > 3 else "").strip()
        if kind == "Flush" and last == "Sync":
            continue
        if kind in ("Parse", "Bind", "Query"):
            group.append(f"{kind} {rest[:60]}")
        if kind in ("Sync", "Query", "Flush"):
            groups.append(group)
            group = []
        last = kind
    if group:
        groups.append(group)
    return groups


def _traced(run) -> list[list[str]]:
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile(mode="w+") as out:
        pgconn.trace(out.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            run()
        finally:
            pgconn.untrace()
        out.seek(0)
        return _waits(out.read())


def _vector(article: Article) -> object:
    """The article's sentence vector, computed before the assignment as enrichment does (None: lexical backend)."""
    return article_embedding(article, frozenset()) if semantic_enabled() else None


def _enriched(article: Article, vector: object) -> None:
    """As enrichment assigns (newsdesk/flow.py): its own transaction; the editors' decisions, the
    boilerplate and the vector handed over; its columns saved with the assignment."""
    save = ArticleSave(match={"title_orig": article.title_orig}, values={"title_en": article.title_en})
    with transaction.atomic():
        article_assign_story(article=article, links=NO_LINKS, save=save, boilerplate=frozenset(), embedding=vector)


def _postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("round trips to PostgreSQL")


@pytest.mark.django_db(transaction=True)
def test_an_enriched_article_waits_four_times_for_the_database_new_story_or_join(settings):
    _postgresql()
    settings.NEWSDESK_COVERAGE_OPTIMISTIC_READ = True
    articles = [make_article(title=t, summary=s, at=T0 + timedelta(minutes=i)) for i, (t, s) in enumerate(QUAKE[:3])]
    _enriched(articles[0], _vector(articles[0]))  # the connection's one-time plan setting, and a story to join
    new = make_article(title="Parliament passes the annual budget after a long night", at=T0 + timedelta(minutes=5))
    vectors = {article.id: _vector(article) for article in (new, articles[1])}
    started = _traced(lambda: _enriched(new, vectors[new.id]))
    joined = _traced(lambda: _enriched(articles[1], vectors[articles[1].id]))
    for article in (*articles[:2], new):
        article.refresh_from_db()
    assert articles[1].story_id == articles[0].story_id != new.story_id  # one join, one new story
    for waits in (started, joined):
        # BEGIN with the article's check and the document frequencies; the term locks with the
        # candidate read; the write (a join's check before it, after a savepoint); COMMIT.
        assert len(waits) == 4, waits
        assert waits[0][0].startswith("Parse") and "BEGIN" in waits[0][0] and len(waits[0]) >= 3, waits[0]
        assert len(waits[1]) == 2, waits[1]
        assert waits[3] == ['Query "COMMIT"'], waits[3]
    assert len(started[2]) == 1, started[2]  # a new story: the write alone, no check
    assert "SAVEPOINT" in joined[2][0] and len(joined[2]) >= 4, joined[2]  # SAVEPOINT (Parse, Bind), check, write


@pytest.mark.django_db(transaction=True)
def test_without_the_decisions_handed_over_their_read_carries_the_begin(settings):
    _postgresql()
    settings.NEWSDESK_COVERAGE_OPTIMISTIC_READ = True
    first, second = (
        make_article(title=t, summary=s, at=T0 + timedelta(minutes=i)) for i, (t, s) in enumerate(QUAKE[:2])
    )
    article_assign_story(article=first)
    vector = _vector(second)
    waits = _traced(lambda: article_assign_story(article=second, boilerplate=frozenset(), embedding=vector))
    second.refresh_from_db()
    assert second.story_id == first.story_id
    # BEGIN with the decisions' read; the document frequencies; locks and read; check and write; COMMIT.
    assert len(waits) == 5, waits
    assert "BEGIN" in waits[0][0] and len(waits[0]) == 3, waits[0]


@pytest.mark.django_db(transaction=True)
def test_a_begin_sent_with_the_first_statement_opens_the_same_transaction():
    _postgresql()
    with transaction.atomic():
        with pg_cursor() as cursor:
            with pg_pipeline(alone=True):
                pg_execute(cursor, "SELECT txid_current()", [])
            first = cursor.fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current(), now() = statement_timestamp()")
            again, started_with_an_earlier_statement = cursor.fetchone()
        assert (again, started_with_an_earlier_statement) == (first, False)
        Article.objects.create(source=make_article(title="x").source, dedupe_key="rolled-back", published_at=T0)
        transaction.set_rollback(True)
    assert not Article.objects.filter(dedupe_key="rolled-back").exists()
    # Outside a transaction (autocommit) nothing is added: the statement commits on its own.
    with pg_cursor() as cursor:
        with pg_pipeline(alone=True):
            pg_execute(cursor, "SELECT txid_current()", [])
        one = cursor.fetchone()[0]
    with pg_cursor() as cursor:
        pg_execute(cursor, "SELECT txid_current()", [])
        assert cursor.fetchone()[0] > one
