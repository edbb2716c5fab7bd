"""What keeps a story assignment cheap: prepared statements, grams left unread when unweighted."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction

from newsdesk.coverage.cluster import article_assign_story, article_features, coverage_params
from newsdesk.coverage.dbstore import DbStore
from newsdesk.coverage.dbwrite import DOC_COUNT_KEY
from newsdesk.coverage.engine import GRAM_PREFIX, Doc, Params, doc_similarity
from newsdesk.coverage.sql import pg_cursor, pg_execute, pg_prepared_count
from newsdesk.models import Article, CoverageDoc, CoverageTerm
from tests.support.coverage import T0, make_article

QUAKE = [
    ("Earthquake of magnitude 7.1 strikes Sumatra, tsunami warning issued", "A 7.1 earthquake hit Sumatra on Monday."),
    ("Sumatra earthquake: magnitude 7.1 tremor triggers tsunami alert", "Indonesia issued a tsunami warning."),
    ("Tsunami warning after strong 7.1 quake off Sumatra, Indonesia", "The quake struck off Sumatra's west coast."),
]


def _article(title: str, summary: str, minutes: int = 0) -> Article:
    return make_article(title=title, summary=summary, at=T0 + timedelta(minutes=minutes))


class _Unreadable(dict):
    """A gram vector that fails the test if the scoring looks inside it."""

    def _fail(self, *args, **kwargs):
        raise AssertionError("gram vector read")

    items = keys = values = get = __iter__ = __contains__ = __getitem__ = _fail


def _doc(key: int, terms: dict[str, float], grams: dict[str, float]) -> Doc:
    return Doc(key=key, at=0.0, terms=terms, grams=grams, names={"sumatr": 3.0})


def test_zero_gram_weight_never_reads_the_gram_vectors_and_scores_the_same():
    terms_a, terms_b = {"earthq": 0.8, "sumatr": 0.6}, {"earthq": 0.6, "tsunam": 0.8}
    params = Params(weight_grams=0.0)
    untouched = doc_similarity(
        _doc(1, terms_a, _Unreadable(a=1.0)), _doc(2, terms_b, _Unreadable(a=1.0)), params=params
    )
    plain = doc_similarity(_doc(1, terms_a, {"_ear": 1.0}), _doc(2, terms_b, {"_ear": 1.0}), params=params)
    assert untouched == plain > 0
    # A non-zero weight still counts the grams.
    weighted = Params(weight_grams=0.3)
    same = doc_similarity(_doc(1, terms_a, {"_ear": 1.0}), _doc(2, terms_b, {"_ear": 1.0}), params=weighted)
    apart = doc_similarity(_doc(1, terms_a, {"_ear": 1.0}), _doc(2, terms_b, {"_tsu": 1.0}), params=weighted)
    assert same > apart


def _candidate_docs(article: Article, params: Params) -> list[Doc]:
    features = article_features(article=article, grams=bool(params.weight_grams))
    with transaction.atomic():
        store = DbStore(article=article, params=params)
        store.df(list(features.terms))
        found = store.candidates(
            terms=list(features.terms),
            since=article.published_at.timestamp() - 3600,
            until=article.published_at.timestamp() + 3600,
            per_term=50,
        )
        return store.docs([c.key for c in found])


@pytest.mark.django_db(transaction=True)
def test_grams_are_neither_counted_nor_stored_while_they_weigh_nothing():
    assert coverage_params().weight_grams == 0.0
    for i, (title, summary) in enumerate(QUAKE[:2]):
        article_assign_story(article=_article(title, summary, minutes=i))
    assert list(CoverageDoc.objects.values_list("grams", flat=True)) == [{}, {}]
    assert not CoverageTerm.objects.filter(term__startswith=GRAM_PREFIX).exists()
    assert CoverageTerm.objects.filter(term__in=list(article_features(article=Article.objects.first()).terms)).exists()
    probe = _article(*QUAKE[2], minutes=5)
    assert article_features(article=probe).grams == {}
    unweighted = _candidate_docs(probe, coverage_params())
    assert len(unweighted) == 2 and all(d.grams == {} and d.terms for d in unweighted)


@pytest.mark.django_db(transaction=True)
def test_a_gram_weight_counts_stores_and_reads_grams():
    weighted = Params(window_hours=coverage_params().window_hours, weight_grams=0.2)
    for i, (title, summary) in enumerate(QUAKE[:2]):
        article_assign_story(article=_article(title, summary, minutes=i), params=weighted)
    stored = dict(CoverageDoc.objects.values_list("article_id", "grams"))
    assert len(stored) == 2 and all(stored.values())
    assert CoverageTerm.objects.filter(term=GRAM_PREFIX + "_sum").get().df == 2  # "_sum" of "Sumatra", in both
    probe = _article(*QUAKE[2], minutes=5)
    assert article_features(article=probe, grams=True).grams
    assert {d.key: d.grams for d in _candidate_docs(probe, weighted)} == stored


@pytest.mark.django_db(transaction=True)
def test_assignment_statements_are_prepared_once_per_connection(settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are the PostgreSQL path's")
    settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS = True
    connection.close()  # a fresh connection, opened by Django with preparation off
    for i, (title, summary) in enumerate(QUAKE):
        article_assign_story(article=_article(title, summary, minutes=i))
    list(Article.objects.all())  # Django's own queries bind client-side and are never prepared
    list(Article.objects.all())
    with pg_cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert any("pg_advisory_xact_lock" in s for s in statements)  # the term locks
    assert any(s.startswith("SELECT u.term, (SELECT c.df FROM") for s in statements)  # the document frequencies
    assert any(s.startswith("WITH q AS") for s in statements)  # the candidate read
    assert any(s.startswith("WITH s AS") for s in statements)  # the writes
    assert not any('"newsdesk_article"."title_orig"' in s for s in statements)
    assert pg_prepared_count() == len(statements)


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_can_be_turned_off_for_poolers(settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are the PostgreSQL path's")
    settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS = False
    connection.close()
    for i, (title, summary) in enumerate(QUAKE):
        article_assign_story(article=_article(title, summary, minutes=i))
    assert pg_prepared_count() == 0
    connection.close()


def _recluster() -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("recluster", "--no-progress", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db(transaction=True)
def test_rebuild_keeps_the_ids_of_stories_it_finds_again_and_leaves_unchanged_links_alone():
    articles = [_article(t, s, minutes=i) for i, (t, s) in enumerate(QUAKE)]
    articles.append(_article("Federal Reserve raises interest rates", "Jerome Powell spoke on inflation.", 30))
    for a in articles:
        article_assign_story(article=a)
    live = dict(Article.objects.values_list("id", "story_id"))
    assert len(set(live.values())) == 2
    _recluster()
    assert dict(Article.objects.values_list("id", "story_id")) == live  # same stories, same ids
    from newsdesk.models import Story

    assert set(Story.objects.values_list("id", flat=True)) == set(live.values())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, xmin::text FROM newsdesk_article")
            versions = dict(cursor.fetchall())
            _recluster()  # the same data again: no article row is rewritten
            cursor.execute("SELECT id, xmin::text FROM newsdesk_article")
            assert dict(cursor.fetchall()) == versions
    # A story found anew (its first member's old story is gone) gets a new id; unused ids go.
    fed = articles[-1]
    Story.objects.filter(id=live[fed.id]).update(merged_into=Story.objects.get(id=live[articles[0].id]))
    _recluster()
    now = dict(Article.objects.values_list("id", "story_id"))
    assert now[fed.id] not in live.values()
    assert {now[a.id] for a in articles[:3]} == {live[articles[0].id]}
    assert set(Story.objects.values_list("id", flat=True)) == set(now.values())


@pytest.mark.django_db
def test_document_frequency_table_has_one_index_and_room_for_hot_updates():
    if connection.vendor != "postgresql":
        pytest.skip("index and storage options are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'newsdesk_coverageterm'")
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'newsdesk_coverageterm'")
        options = cursor.fetchone()[0]
    assert len(indexes) == 1 and "newsdesk_coverageterm_pkey" in indexes[0]
    assert "fillfactor=70" in options


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("async_commit", [True, False])
def test_an_assignment_commits_asynchronously_only_when_configured(settings, async_commit):
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    settings.NEWSDESK_COVERAGE_ASYNC_COMMIT = async_commit
    article = _article(*QUAKE[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "on"
        article_assign_story(article=article)
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == ("off" if async_commit else "on")
    with connection.cursor() as cursor:  # transaction-local: the next one waits for its flush again
        cursor.execute("SELECT current_setting('synchronous_commit')")
        assert cursor.fetchone()[0] == "on"
    article.refresh_from_db()
    assert article.story_id is not None


@pytest.mark.django_db
def test_the_unused_lock_and_read_function_is_gone():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL function")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = 'newsdesk_coverage_lock_df'")
        assert cursor.fetchone()[0] == 0


# A statement whose best plan depends on the table's size (the document-frequency read before
# it became a probe per term), prepared on the worker's connection beside the assignment's own.
_BY_ANY = "SELECT term, df FROM newsdesk_coverageterm WHERE term = ANY(%s::text[])"


def _by_any_plan() -> str:
    """The plan PostgreSQL would run now for this connection's prepared ``_BY_ANY``."""
    with pg_cursor() as cursor:
        pg_execute(cursor, _BY_ANY, [["earthq", "sumatr"]])
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE statement = %s", [_BY_ANY.replace("%s", "$1")])
        (name,) = cursor.fetchone()
        cursor.execute(f"EXPLAIN EXECUTE {name}(ARRAY['earthq', 'sumatr'])")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_a_plan_made_for_small_tables_is_made_again_once_the_index_has_doubled(settings):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are the PostgreSQL path's")
    settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS = True
    connection.close()
    with connection.cursor() as cursor:
        # The generic plan at once (as after five executions), made while the table holds a few rows.
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        cursor.execute("ANALYZE newsdesk_coverageterm")
    article_assign_story(article=_article(*QUAKE[0]))  # the connection's first look at the index's size
    assert "Seq Scan" in _by_any_plan()
    # The table grows (a first import) with no ANALYZE meanwhile: the kept plan still scans it all.
    CoverageTerm.objects.bulk_create([CoverageTerm(term=f"t{i:05d}", df=1) for i in range(20000)])
    article_assign_story(article=_article(*QUAKE[1], minutes=1))
    assert "Seq Scan" in _by_any_plan()
    # Once the index counts twice the documents it counted when planned, the next read is planned again.
    CoverageTerm.objects.filter(term=DOC_COUNT_KEY).update(df=100)
    article_assign_story(article=_article(*QUAKE[2], minutes=2))
    plan = _by_any_plan()
    assert "Seq Scan" not in plan and "Index" in plan, plan
    connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("plan", ["force_custom_plan", "force_generic_plan"])
@pytest.mark.parametrize("analyzed", [False, True])
def test_document_frequencies_are_read_by_key_probes_whatever_the_statistics(plan, analyzed):
    """Thousands of counted terms: a probe per term, never a filter over every row.

    Never analyzed is a new install's first minutes (autovacuum's first look comes later), the
    whole-path bench's burst among them: there the plain ``term = ANY(...)`` was a sequential scan.
    """
    if connection.vendor != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    from newsdesk.coverage.dbstore import DF_SQL

    rows = 10_000
    CoverageTerm.objects.bulk_create(CoverageTerm(term=f"t{i:05d}", df=1 + i % 7) for i in range(rows))
    every = range(0, rows, rows // 50)
    wanted = ["", *(f"t{i:05d}" for i in every), "absent"]
    sql = DF_SQL.format(table=CoverageTerm._meta.db_table)
    with pg_cursor() as cursor:
        if analyzed:
            cursor.execute("ANALYZE newsdesk_coverageterm")
        cursor.execute(f"SET plan_cache_mode = {plan}")
        try:
            cursor.execute("PREPARE df_probe(text[]) AS " + sql.replace("%s", "$1"))
            literal = "'{" + ",".join(f'"{t}"' for t in wanted) + "}'"  # EXECUTE takes no bound parameters
            cursor.execute(f"EXPLAIN EXECUTE df_probe({literal})")
            shown = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute(f"EXECUTE df_probe({literal})")
            found = {term: df for term, df in cursor.fetchall() if df is not None}
        finally:
            cursor.execute("DEALLOCATE ALL")
            cursor.execute("RESET plan_cache_mode")
    assert "Index Scan using newsdesk_coverageterm_pkey" in shown and "Seq Scan" not in shown, shown
    assert found == {f"t{i:05d}": 1 + i % 7 for i in every}


# The assignment's statements on this connection, with how often PostgreSQL planned each.
_PLANS_SQL = (
    "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
    "WHERE statement LIKE 'WITH %%' OR statement LIKE 'SELECT u.term%%' OR statement LIKE 'SELECT s.id, s.merged%%'"
)


def _plans() -> dict[str, tuple[int, int]]:
    with pg_cursor() as cursor:
        cursor.execute(_PLANS_SQL)
        return {statement[:20]: (generic, custom) for statement, generic, custom in cursor.fetchall()}


def _plan_cache_mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('plan_cache_mode')")
        return cursor.fetchone()[0]


def _stream(count: int) -> list[Article]:
    """A stream with joins, new stories and a same-kind event: giveme5w1h's first articles when at hand."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "coverage" / "giveme5w1h.jsonl"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for _, line in zip(range(count), fh, strict=False)]
        pairs = [(r["title"], r["text"][:600]) for r in rows]
    else:
        pairs = [*QUAKE, ("Federal Reserve raises interest rates", "Jerome Powell spoke on inflation."), *QUAKE]
    return [_article(title, summary, minutes=7 * i) for i, (title, summary) in enumerate(pairs)]


@pytest.mark.django_db(transaction=True)
def test_the_assignment_statements_are_planned_once_and_decide_as_when_planned_each_time(settings, monkeypatch):
    """PostgreSQL ran three of the assignment's statements (document frequencies, the optimistic
    read's check, the write) with a plan made afresh at each execution (its cost rule prefers a
    custom plan when an array parameter is shorter than the ten elements it assumes): the
    connection now keeps one plan per statement. Plans never change what a statement returns:
    the same stream, planned each time, gives the same stories and scores."""
    if connection.vendor != "postgresql":
        pytest.skip("plan caching is PostgreSQL's")
    settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS = True

    def run(articles: list[Article]) -> tuple[set[frozenset[int]], list[float | None], dict[str, tuple[int, int]]]:
        connection.close()  # a fresh connection: statements prepared and planned anew
        for article in articles:
            article_assign_story(article=article)
        stored = Article.objects.filter(id__in=[a.id for a in articles]).order_by("id")
        rows = list(stored.values_list("id", "story_id", "story_score"))
        position = {a.id: i for i, a in enumerate(articles)}
        groups: dict[int, set[int]] = {}
        for key, story, _ in rows:
            groups.setdefault(story, set()).add(position[key])
        return {frozenset(g) for g in groups.values()}, [score for _, _, score in rows], _plans()

    once_articles = _stream(60)
    once, once_scores, once_plans = run(once_articles)
    assert _plan_cache_mode() == "force_generic_plan"
    assert len(once_plans) >= 4 and all(generic >= 1 and custom == 0 for generic, custom in once_plans.values()), (
        once_plans
    )
    assert 1 < len(once) < len(once_articles)  # joins and new stories both

    # The same stream again on an emptied index, each execution planned for its own parameters.
    from newsdesk.coverage import sql

    Article.objects.all().delete()
    from newsdesk.coverage.dbstore import store_reset

    store_reset()
    monkeypatch.setattr(
        sql, "_plans_generic", lambda conn, cursor: cursor.execute("SET plan_cache_mode = force_custom_plan")
    )
    each, each_scores, each_plans = run(_stream(60))
    assert all(generic == 0 and custom >= 1 for generic, custom in each_plans.values()), each_plans
    assert each == once
    assert each_scores == pytest.approx(once_scores, abs=1e-12)
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_the_plan_setting_survives_a_rolled_back_first_transaction(settings):
    """A SET inside a transaction is undone by its rollback: the next transaction sets it again."""
    if connection.vendor != "postgresql":
        pytest.skip("plan caching is PostgreSQL's")
    settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS = True
    connection.close()
    first, second = _article(*QUAKE[0]), _article(*QUAKE[1], minutes=1)

    class Undone(Exception):
        pass

    with pytest.raises(Undone), transaction.atomic():
        article_assign_story(article=first)
        assert _plan_cache_mode() == "force_generic_plan"
        raise Undone
    assert _plan_cache_mode() == "auto"  # rolled back with the transaction
    article_assign_story(article=second)
    assert _plan_cache_mode() == "force_generic_plan"
    article_assign_story(article=first)
    assert _plan_cache_mode() == "force_generic_plan"
    assert all(custom == 0 for _, custom in _plans().values())
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_no_plan_setting_without_prepared_statements(settings):
    if connection.vendor != "postgresql":
        pytest.skip("plan caching is PostgreSQL's")
    settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS = False
    connection.close()
    article_assign_story(article=_article(*QUAKE[0]))
    assert _plan_cache_mode() == "auto"
    connection.close()


@pytest.mark.django_db
def test_array_parameters_sent_as_literals_arrive_element_for_element():
    from newsdesk.coverage.sql import pg_array

    texts = ["", "plain", "two words", 'a "quoted" word', "back\\slash", "{braces},comma", "NULL", "ñandú", '\\"']
    numbers = [0, -1, 2**63 - 1, -(2**63), 42]
    flags = [True, False, True]
    assert pg_array([]) == "{}"
    if connection.vendor != "postgresql":
        return
    with pg_cursor() as cursor:
        pg_execute(
            cursor,
            "SELECT %s::text[], %s::bigint[], %s::boolean[], %s::text[]",
            [pg_array(texts), pg_array(numbers), pg_array(flags), pg_array([])],
        )
        assert cursor.fetchone() == (texts, numbers, flags, [])


@pytest.mark.django_db(transaction=True)
def test_the_write_stores_every_posting_and_count_its_article_gives_whatever_the_words():
    """The write's arrays (postings, document counts) go as array literals: each index term is posted
    and each term counted once, as the features give them (the features fold quotes, commas and
    braces away; the literal's own quoting is read back by the test above)."""
    from newsdesk.models import CoveragePosting

    params = coverage_params()
    first = _article("O'Neill's \"Brexit, {deal}\" vote: back\\slash clause in Dáil row", "Dáil Éireann debates it.")
    second = _article("O'Neill's \"Brexit, {deal}\" vote splits Dáil again", "A second Dáil vote.", minutes=3)
    for article in (first, second):
        article_assign_story(article=article, params=params)
    for article in (first, second):
        features = article_features(article=article, grams=False)
        doc = CoverageDoc.objects.get(article_id=article.id)
        posted = set(CoveragePosting.objects.filter(article_id=article.id).values_list("term", flat=True))
        wanted = set(Doc(key=0, at=0.0, terms=doc.terms, grams={}, names=doc.names).index_terms(params.query_terms))
        assert posted == wanted and posted
        assert set(features.terms) <= set(CoverageTerm.objects.values_list("term", flat=True))
    counts = dict(CoverageTerm.objects.values_list("term", "df"))
    assert counts[DOC_COUNT_KEY] == 2
    both = set(article_features(article=first).terms) & set(article_features(article=second).terms)
    assert both and all(counts[t] == 2 for t in both)
