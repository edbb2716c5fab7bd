"""Story assignment in the database: joins, new stories, evidence, merges, re-assignment, races."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from newsdesk.coverage.cluster import article_assign_story, article_features, coverage_params
from newsdesk.coverage.engine import Params, doc_assign
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.semantic import article_embedding, semantic_enabled
from newsdesk.coverage.storycounts import story_refresh_counts
from newsdesk.models import Article, CoverageDoc, CoveragePosting, CoverageTerm, Source, Story, TranslationStatus
from tests.support.coverage import (
    FED,
    FILLER,
    QUAKE,
    QUAKE_ES_LONG,
    T0,
    ZOO,
    ZOO_LATE,
    french_quake,
    make_article,
    spanish_quake,
)

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "coverage"


@pytest.mark.django_db(transaction=True)
def test_similar_articles_share_a_story_and_unrelated_one_starts_its_own():
    stories = [article_assign_story(article=make_article(title=t, summary=s)) for t, s in QUAKE]
    other = article_assign_story(article=make_article(title=FED[0], summary=FED[1]))
    assert len({s.id for s in stories}) == 1
    assert other.id != stories[0].id
    story = Story.objects.get(id=stories[0].id)
    assert story.article_count == 3 and story.source_count == 3
    assert story.headline == QUAKE[0][0]


COUNTED = ("article_count", "source_count", "country_count", "language_count", "headline")


@pytest.mark.django_db(transaction=True)
def test_story_counters_kept_in_place_match_a_recount():
    """Joins update the counters in place (no re-aggregation); a full recount finds the same figures."""
    wire = Source.objects.create(name="Wire", country="GB", language="en")
    a = make_article(title=QUAKE[0][0], summary=QUAKE[0][1], source=wire, at=T0 + timedelta(hours=2))
    b = make_article(title=QUAKE[1][0], summary=QUAKE[1][1], source=wire, at=T0 + timedelta(hours=3))
    c = french_quake()
    stories = {article_assign_story(article=x).id for x in (a, b, c)}
    assert len(stories) == 1
    story = Story.objects.get(id=stories.pop())
    kept = {f: getattr(story, f) for f in COUNTED}
    assert kept == {
        "article_count": 3,
        "source_count": 2,
        "country_count": 2,
        "language_count": 2,
        "headline": QUAKE[2][0],  # the earliest English title, though it arrived last
    }
    assert (story.first_published_at, story.last_published_at) == (T0, T0 + timedelta(hours=3))
    story_refresh_counts(story=story)
    story.refresh_from_db()
    assert {f: getattr(story, f) for f in COUNTED} == kept


@pytest.mark.django_db(transaction=True)
def test_link_records_score_and_shared_terms():
    article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    second = make_article(title=QUAKE[1][0], summary=QUAKE[1][1])
    article_assign_story(article=second)
    second.refresh_from_db()
    assert second.story_score is not None and second.story_score >= Params().join_threshold
    ev = second.story_evidence
    assert ev["score"] == pytest.approx(second.story_score, abs=1e-3)
    assert {"sumatr", "earthq"} <= set(ev["shared_terms"])
    assert "sumatr" in ev["shared_names"]


@pytest.mark.django_db(transaction=True)
def test_untranslated_article_joins_through_names_and_numbers():
    """Translation failed: the Spanish original still meets the story via Sumatra, 7.1 and tsunami."""
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    spanish = spanish_quake(text=QUAKE_ES_LONG, country="ES", status=TranslationStatus.FAILED)
    assert article_assign_story(article=spanish).id == first.id


@pytest.mark.django_db(transaction=True)
def test_articles_outside_the_window_are_not_candidates(settings):
    settings.NEWSDESK_COVERAGE_WINDOW_HOURS = 48
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    late = make_article(title=QUAKE[1][0], summary=QUAKE[1][1], at=T0 + timedelta(days=5))
    assert article_assign_story(article=late).id != first.id


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("late_hours", [17520.0, 0.0])
def test_a_late_report_joins_its_story_through_the_database(settings, late_hours):
    """The store's search marks articles outside the window as late (SQLite and PostgreSQL paths): a report
    six months on joins on the story's own names; with the late window off it starts its own story."""
    settings.NEWSDESK_COVERAGE_LATE_WINDOW_HOURS = late_hours
    for i, (title, lead) in enumerate(FILLER):
        article_assign_story(article=make_article(title=title, summary=lead, at=T0 - timedelta(hours=10 - i)))
    stories = {
        article_assign_story(article=make_article(title=t, summary=s, at=T0 + timedelta(hours=i))).id
        for i, (t, s) in enumerate(ZOO)
    }
    assert len(stories) == 1
    late = article_assign_story(
        article=make_article(title=ZOO_LATE[0], summary=ZOO_LATE[1], at=T0 + timedelta(days=180))
    )
    assert (late.id in stories) == bool(late_hours)


@pytest.mark.django_db(transaction=True)
def test_index_rows_and_document_frequencies_are_kept_incrementally():
    a = make_article(title=QUAKE[0][0], summary=QUAKE[0][1])
    article_assign_story(article=a)
    assert CoverageTerm.objects.get(term="").df == 1
    assert CoverageTerm.objects.get(term="sumatr").df == 1
    posted = set(CoveragePosting.objects.filter(article=a).values_list("term", flat=True))
    assert {"sumatr", "earthq", "71", "tsunam"} <= posted and len(posted) <= Params().query_terms
    b = make_article(title=QUAKE[1][0], summary=QUAKE[1][1])
    article_assign_story(article=b)
    assert CoverageTerm.objects.get(term="").df == 2
    assert CoverageTerm.objects.get(term="sumatr").df == 2


@pytest.mark.django_db(transaction=True)
def test_reassigning_an_article_is_idempotent():
    """Re-enrichment (e.g. a late translation) re-runs the assignment without double counting."""
    a = make_article(title=QUAKE[0][0], summary=QUAKE[0][1])
    b = make_article(title=QUAKE[1][0], summary=QUAKE[1][1])
    article_assign_story(article=a)
    story = article_assign_story(article=b)
    postings = CoveragePosting.objects.filter(article=b).count()
    again = article_assign_story(article=b)
    assert again.id == story.id
    assert CoverageTerm.objects.get(term="").df == 2
    assert CoveragePosting.objects.filter(article=b).count() == postings > 0
    assert CoverageDoc.objects.count() == 2
    assert Story.objects.get(id=story.id).article_count == 2


@pytest.mark.django_db(transaction=True)
def test_an_article_binding_two_stories_merges_them_into_the_older():
    params = Params(join_threshold=0.9, merge_threshold=0.3)
    a = make_article(title=QUAKE[0][0], summary=QUAKE[0][1])
    b = make_article(title=QUAKE[1][0], summary=QUAKE[1][1])
    s1 = article_assign_story(article=a, params=params)
    s2 = article_assign_story(article=b, params=params)
    assert s1.id != s2.id  # join threshold out of reach: two stories
    c = make_article(title=QUAKE[2][0], summary=QUAKE[2][1])
    s3 = article_assign_story(article=c, params=Params(join_threshold=0.1, merge_threshold=0.1))
    assert s3.id == min(s1.id, s2.id)
    assert set(Article.objects.values_list("story_id", flat=True)) == {s3.id}
    loser = Story.objects.get(id=max(s1.id, s2.id))
    assert loser.merged_into_id == s3.id and loser.article_count == 0
    assert Story.objects.get(id=s3.id).article_count == 3


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_story():
    """Two similar articles assigned concurrently on two connections end in one story."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers by its database lock; the race needs PostgreSQL")
    for _ in range(5):
        a = make_article(title=QUAKE[0][0], summary=QUAKE[0][1])
        b = make_article(title=QUAKE[1][0], summary=QUAKE[1][1])
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(article: Article, barrier: threading.Barrier, errors: list[BaseException]) -> None:
            try:
                barrier.wait()
                article_assign_story(article=article)
            except BaseException as exc:  # reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(x, barrier, errors)) for x in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors
        a.refresh_from_db()
        b.refresh_from_db()
        assert a.story_id == b.story_id
        story = Story.objects.get(id=a.story_id)
        kept = {f: getattr(story, f) for f in COUNTED}
        assert kept["article_count"] == 2 and CoverageTerm.objects.get(term="").df == 2
        story_refresh_counts(story=story)
        story.refresh_from_db()
        assert {f: getattr(story, f) for f in COUNTED} == kept  # counted in place under the race
        Article.objects.all().delete()
        CoverageTerm.objects.all().delete()


# Long reports (more terms than an article is indexed under), and fillers that
# make the words they share common, so those rank last in each report's terms.
QUAKE_LONG = (
    "Earthquake of magnitude 7.1 strikes Sumatra, tsunami warning issued",
    "A 7.1 earthquake hit Sumatra, officials said on Monday. Rescue teams searched collapsed buildings in "
    "Padang and Bukittinggi while aftershocks rattled coastal villages near Mentawai; hospitals treated "
    "injured residents and the meteorology agency recorded seismic waves across western Indonesia.",
)
QUAKE_LONG_2 = (
    "Sumatra earthquake: magnitude 7.1 tremor triggers tsunami alert",
    "Indonesia issued a tsunami warning for Sumatra after the earthquake; Padang and Mentawai were evacuated "
    "as aftershocks shook buildings along the coast.",
)
FED_LONG = (
    "Federal Reserve raises interest rates by a quarter point",
    "Jerome Powell said inflation remains too high, officials said on Monday. Treasury yields climbed, "
    "mortgage lenders repriced loans and equity markets slipped as traders weighed payrolls, consumer "
    "spending and wage growth.",
)
FILLERS = [
    f"Officials said on Monday that {a} {b} remains open"
    for a, b in (
        ("council", "library"),
        ("harbour", "ferry"),
        ("museum", "gallery"),
        ("stadium", "arena"),
        ("airport", "terminal"),
        ("zoo", "aquarium"),
    )
]


def _backend_wait(pid: int) -> tuple[str, str] | None:
    """(the lock a backend waits on, its statement), or None when it waits on no lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT wait_event, query FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", [pid]
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


@pytest.mark.django_db(transaction=True)
def test_an_assignment_waits_only_for_one_that_could_find_it():
    """Term locks: while one report's assignment is uncommitted, a report of the same event waits
    for it (then joins its story); a report of another event that shares only common words with it
    reads its candidates and reaches its write meanwhile (locking every term of an article made it
    wait at its first read)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers by its database lock; the locks are PostgreSQL's")
    for i, title in enumerate(FILLERS):
        article_assign_story(article=make_article(title=title, at=T0 - timedelta(hours=1, minutes=i)))
    a = make_article(title=QUAKE_LONG[0], summary=QUAKE_LONG[1])
    b = make_article(title=QUAKE_LONG_2[0], summary=QUAKE_LONG_2[1], at=T0 + timedelta(minutes=5))
    c = make_article(title=FED_LONG[0], summary=FED_LONG[1], at=T0 + timedelta(minutes=2))
    shared_words = set(article_features(article=a).terms) & set(article_features(article=c).terms)
    assert shared_words  # the two events share words ("officials", "monday"...)
    assigned, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    pids: dict[str, int] = {}

    def run(name: str, article: Article) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids[name] = cursor.fetchone()[0]
            with transaction.atomic():
                article_assign_story(article=article)
                if name == "a":  # holds its transaction (and locks) open until released
                    assigned.set()
                    release.wait(60)
        except BaseException as exc:  # reported below
            errors.append(exc)
            assigned.set()
        finally:
            connections.close_all()

    holder = threading.Thread(target=run, args=("a", a))
    holder.start()
    try:
        assert assigned.wait(30) and not errors
        same_event = threading.Thread(target=run, args=("b", b))
        same_event.start()
        for _ in range(600):
            wait = _backend_wait(pids.get("b", 0))
            if wait and wait[0] == "advisory":
                break
            assert same_event.is_alive(), "the same event's report did not wait for the uncommitted one"
            threading.Event().wait(0.05)
        else:
            pytest.fail("the same event's report never waited on a term lock")
        other_event = threading.Thread(target=run, args=("c", c))
        other_event.start()
        # It reads its candidates at once and reaches its write, where it waits only for the
        # document-frequency rows both write (held from the holder's write to its commit).
        for _ in range(600):
            wait = _backend_wait(pids.get("c", 0))
            if not other_event.is_alive() or (wait and wait[0] != "advisory" and wait[1].startswith("WITH s AS")):
                break
            assert not (wait and wait[0] == "advisory"), "the other event's report waited for a term lock"
            threading.Event().wait(0.05)
        else:
            pytest.fail("the other event's report never reached its write")
        assert not release.is_set() and same_event.is_alive()  # while both quake reports were open
        assert _backend_wait(pids["b"])[0] == "advisory"
    finally:
        release.set()
        holder.join(30)
    same_event.join(30)
    other_event.join(30)
    assert not errors
    a.refresh_from_db()
    b.refresh_from_db()
    c.refresh_from_db()
    assert a.story_id == b.story_id != c.story_id
    assert Story.objects.get(id=a.story_id).article_count == 2
    assert CoverageTerm.objects.get(term="").df == len(FILLERS) + 3


def _partition(pairs) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for key, story in pairs:
        groups.setdefault(story, set()).add(key)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.django_db(transaction=True)
def test_database_store_decides_as_the_memory_store():
    """The database path (batched SQL on PostgreSQL, ORM on SQLite) makes the evaluation path's decisions."""
    path = CORPORA / "giveme5w1h.jsonl"
    if not path.exists():
        pytest.skip(f"labelled corpus not found at {path} (../shared beside the repository)")
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for _, line in zip(range(160), fh, strict=False)]
    source = Source.objects.create(name="Corpus", country="GB", language="en")
    articles = [
        make_article(title=r["title"], summary=r["text"][:600], at=T0 + timedelta(minutes=7 * i), source=source)
        for i, r in enumerate(rows)
    ]
    params = coverage_params()
    memory = MemoryStore(centroid_terms=params.centroid_terms)
    expected: dict[int, float | None] = {}
    semantic = semantic_enabled()  # with the optional backend, both paths see the same embeddings
    for a in articles:
        result = doc_assign(
            doc_key=a.id,
            at=a.published_at.timestamp(),
            features=article_features(article=a),
            store=memory,
            params=params,
            embedding=article_embedding(a) if semantic else None,
        )
        expected[a.id] = result.score
        article_assign_story(article=a)
    stored = dict(Article.objects.values_list("id", "story_score"))
    groups = _partition(Article.objects.values_list("id", "story_id"))
    assert groups == _partition((a.id, memory.story_of(a.id)) for a in articles)
    assert 5 < len(groups) < len(articles)  # the corpus has joins and new stories both
    for key, score in expected.items():
        assert stored[key] == (None if score is None else pytest.approx(score, abs=1e-9))
    assert CoverageTerm.objects.get(term="").df == memory.doc_count()
    assert dict(CoverageTerm.objects.exclude(term="").values_list("term", "df")) == dict(memory.df_items())
