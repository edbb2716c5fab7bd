"""A full ``recluster`` while workers keep assigning: what they assigned meanwhile survives the rebuild.

The rebuild reads every article, replays them in memory, then writes. An
article assigned live between that read and the write must end in a story
with its index rows, and the rebuild must commit. The interleaving is made
deterministic by running the live assignment from inside the replay's
article stream, once its last row has been read. An editor's decision made
while the rebuild writes runs from a second connection right after the
write's locked catch-up, and the rebuild goes on once PostgreSQL shows it
waiting on the rebuild (no sleeps).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone
from psycopg.errors import DeadlockDetected

from newsdesk.coverage import dbboilerplate
from newsdesk.coverage import recluster as recluster_module
from newsdesk.coverage.boilerplate import lead_keys
from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.dbboilerplate import boilerplate_recount, boilerplate_segments
from newsdesk.coverage.decisions import decision_undo, stories_merge, story_article_split
from newsdesk.coverage.engine import GRAM_PREFIX, Params, doc_assign
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.text import text_features
from newsdesk.flow import articles_finish
from newsdesk.models import (
    Article,
    CoverageBoilerplate,
    CoverageDoc,
    CoveragePosting,
    CoverageStory,
    CoverageTerm,
    Story,
    TranslationStatus,
)
from tests.support.accounts import make_editor
from tests.support.articles import make_english_article, make_source
from tests.support.coverage import FED, QUAKE, T0, make_article

TRAIN = [
    ("Train derails near Lyon, dozens injured", "A high-speed train left the tracks near Lyon on Tuesday."),
    ("Dozens hurt as high-speed train derails outside Lyon", "Rescuers said 40 passengers were injured near Lyon."),
]
VOLCANO = ("Volcano erupts in Iceland, flights grounded", "Ash from the Reykjanes eruption closed airports on Friday.")


def _corpus_assigned_live() -> list[Article]:
    rows = [*QUAKE, FED, *TRAIN]
    articles = [make_article(title=t, summary=s, at=T0 + timedelta(minutes=10 * i)) for i, (t, s) in enumerate(rows)]
    for article in articles:
        article_assign_story(article=article)
    return articles


def _after_the_read(monkeypatch, live: Callable[[], None]) -> None:
    """Run ``live`` once the rebuild has read (and replayed) its last article, before it writes."""
    replay = recluster_module._replay_stream

    def hooked(*args, **kwargs):
        replay(*args, **kwargs)
        live()

    monkeypatch.setattr(recluster_module, "_replay_stream", hooked)


def _recluster() -> str:
    out = StringIO()
    call_command("recluster", "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def _indexed(article_id: int) -> bool:
    return (
        CoverageDoc.objects.filter(article_id=article_id).exists()
        and CoveragePosting.objects.filter(article_id=article_id).exists()
    )


@pytest.mark.django_db(transaction=True)
def test_an_article_that_started_a_story_during_the_replay_keeps_it_and_the_rebuild_commits(monkeypatch):
    _corpus_assigned_live()
    late: list[Article] = []

    def live() -> None:
        article = make_article(title=VOLCANO[0], summary=VOLCANO[1], at=T0 + timedelta(hours=1))
        article_assign_story(article=article)  # a story of its own, which the replay never saw
        late.append(article)

    _after_the_read(monkeypatch, live)
    out = _recluster()
    assert "reclustered articles=7 stories=4" in out
    article = Article.objects.get(id=late[0].id)
    assert article.story_id is not None
    assert Story.objects.get(id=article.story_id).article_count == 1
    assert _indexed(article.id)
    assert CoverageStory.objects.filter(story_id=article.story_id).exists()
    assert CoverageTerm.objects.get(term="").df == 7  # the rebuilt index counts it


@pytest.mark.django_db(transaction=True)
def test_an_article_that_joined_a_story_during_the_replay_stays_in_it_with_its_index_rows(monkeypatch):
    articles = _corpus_assigned_live()
    late: list[Article] = []

    def live() -> None:
        title = TRAIN[0][0] + " as toll rises"
        article = make_article(title=title, summary=TRAIN[1][1], at=T0 + timedelta(minutes=55))
        assert article_assign_story(article=article).article_count == 3  # joined the train story live
        late.append(article)

    _after_the_read(monkeypatch, live)
    out = _recluster()
    assert "reclustered articles=7 stories=3" in out
    article = Article.objects.get(id=late[0].id)
    train = Article.objects.get(id=articles[-1].id).story_id
    assert article.story_id == train
    assert Story.objects.get(id=train).article_count == 3
    assert _indexed(article.id)
    # Later articles find it: the index is the rebuild's plus it.
    later = make_article(title=TRAIN[1][0] + ", officials say", summary=TRAIN[0][1], at=T0 + timedelta(hours=1))
    assert article_assign_story(article=later).id == train


@pytest.mark.django_db(transaction=True)
def test_an_article_deleted_during_the_replay_is_left_out_and_the_rebuild_commits(monkeypatch):
    articles = _corpus_assigned_live()
    fed = articles[len(QUAKE)]
    quake = articles[0]
    _after_the_read(monkeypatch, lambda: Article.objects.filter(id__in=[fed.id, quake.id]).delete())
    out = _recluster()
    assert "reclustered articles=4 stories=2" in out  # the Fed story went with its only article
    assert CoverageDoc.objects.count() == 4 and CoverageTerm.objects.get(term="").df == 4
    assert not CoveragePosting.objects.filter(article_id__in=[fed.id, quake.id]).exists()
    assert Story.objects.get(id=Article.objects.get(id=articles[1].id).story_id).article_count == 2


@pytest.mark.django_db(transaction=True)
def test_an_article_enriched_during_the_replay_is_replayed_with_its_new_text(monkeypatch):
    articles = _corpus_assigned_live()
    # Read by the replay before its translation arrived: a Polish title only, no story yet.
    pending = make_article(
        title="Pociąg wykoleił się pod Lyonem",
        language="pl",
        title_en="",
        status=TranslationStatus.PENDING,
        at=T0 + timedelta(minutes=52),
    )

    def live() -> None:
        Article.objects.filter(id=pending.id).update(
            title_en=TRAIN[0][0] + " as toll rises",
            summary_en=TRAIN[1][1],
            translation_status=TranslationStatus.DONE,
            enriched_at=timezone.now(),
        )
        assert article_assign_story(article=Article.objects.get(id=pending.id)).article_count == 3

    _after_the_read(monkeypatch, live)
    out = _recluster()
    assert "reclustered articles=7 stories=3" in out
    train = Article.objects.get(id=articles[-1].id).story_id
    assert Article.objects.get(id=pending.id).story_id == train
    doc = CoverageDoc.objects.get(article_id=pending.id)
    assert "lyon" in " ".join(doc.terms)  # indexed by its English text, not only the Polish title


@pytest.mark.django_db(transaction=True)
def test_an_editors_split_during_the_replay_binds_the_rebuild(monkeypatch):
    articles = _corpus_assigned_live()
    first, second, third = articles[: len(QUAKE)]
    editor = make_editor()
    _after_the_read(monkeypatch, lambda: story_article_split(article=Article.objects.get(id=third.id), editor=editor))
    _recluster()
    stories = dict(Article.objects.filter(id__in=[first.id, second.id, third.id]).values_list("id", "story_id"))
    assert stories[first.id] == stories[second.id] != stories[third.id]
    assert _indexed(third.id)


class _Editor:
    """An editor's action run from a thread of its own: its errors, and a wait for it to end."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self.waited = connection.vendor != "postgresql"  # seen waiting on the rebuild (PostgreSQL)

    def done(self) -> list[BaseException]:
        for thread in self.threads:
            thread.join()
        return self.errors


def _after_the_locked_catch_up(monkeypatch, editor_action: Callable[[], object]) -> _Editor:
    """Run ``editor_action`` in a second connection right after the rebuild's last catch-up (under its lock).

    The action runs in a thread of its own (its own connection, as an editor's request would),
    and the rebuild goes on once the action has either finished or is waiting for a lock the
    rebuild holds (PostgreSQL: ``pg_blocking_pids``; SQLite's write transaction excludes every
    other writer, so there the action waits at its ``BEGIN IMMEDIATE``).
    """
    catch_up = recluster_module._Replay.catch_up
    action = _Editor()
    errors, threads = action.errors, action.threads

    def hooked(self):
        caught = catch_up(self)
        if not connection.in_atomic_block or threads:
            return caught  # the unlocked catch-up, or a retried write's
        with connection.cursor() as cursor:
            rebuild = _backend_pid(cursor)
        started, pid = threading.Event(), []

        def editor() -> None:
            try:
                with connection.cursor() as cursor:
                    pid.append(_backend_pid(cursor))
                started.set()
                editor_action()
            except BaseException as exc:  # handed to the test
                errors.append(exc)
            finally:
                started.set()
                connection.close()

        thread = threading.Thread(target=editor)
        threads.append(thread)
        thread.start()
        started.wait()
        if connection.vendor == "postgresql" and pid and pid[0] is not None:
            with connection.cursor() as cursor:
                while thread.is_alive():  # until it is done, or waits on the rebuild
                    cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [rebuild, pid[0]])
                    if cursor.fetchone()[0]:
                        action.waited = True
                        break
                    thread.join(0.01)
        return caught

    monkeypatch.setattr(recluster_module._Replay, "catch_up", hooked)
    return action


def _backend_pid(cursor) -> int | None:
    if connection.vendor != "postgresql":
        return None
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_an_editors_split_right_after_the_locked_catch_up_is_neither_lost_nor_refused(monkeypatch):
    articles = _corpus_assigned_live()
    first, second, third = articles[: len(QUAKE)]
    editor = make_editor()
    action = _after_the_locked_catch_up(
        monkeypatch, lambda: story_article_split(article=Article.objects.get(id=third.id), editor=editor)
    )
    out = _recluster()
    assert action.done() == [] and action.waited and "reclustered articles=6" in out
    stories = dict(Article.objects.filter(id__in=[first.id, second.id, third.id]).values_list("id", "story_id"))
    assert stories[first.id] == stories[second.id] != stories[third.id]
    assert _indexed(third.id)
    _recluster()  # the next rebuild reads the decision too
    stories = dict(Article.objects.filter(id__in=[first.id, second.id, third.id]).values_list("id", "story_id"))
    assert stories[first.id] == stories[second.id] != stories[third.id]


@pytest.mark.django_db(transaction=True)
def test_an_editors_merge_right_after_the_locked_catch_up_is_neither_lost_nor_refused(monkeypatch):
    articles = _corpus_assigned_live()
    fed, train = articles[len(QUAKE)], articles[-1]
    editor = make_editor()

    def merge() -> None:
        stories_merge(story=Story(pk=fed.story_id), into=Story(pk=train.story_id), editor=editor)

    action = _after_the_locked_catch_up(monkeypatch, merge)
    _recluster()
    assert action.done() == [] and action.waited
    together = Article.objects.filter(id__in=[fed.id, *(a.id for a in articles[-len(TRAIN) :])])
    assert len(set(together.values_list("story_id", flat=True))) == 1
    assert Story.objects.get(id=together[0].story_id).article_count == 3


@pytest.mark.django_db(transaction=True)
def test_an_editors_undo_right_after_the_locked_catch_up_gives_the_machines_grouping_back(monkeypatch):
    articles = _corpus_assigned_live()
    first, second, third = articles[: len(QUAKE)]
    editor = make_editor()
    decision = story_article_split(article=Article.objects.get(id=third.id), editor=editor)
    action = _after_the_locked_catch_up(monkeypatch, lambda: decision_undo(decision=decision, editor=editor))
    _recluster()
    assert action.done() == [] and action.waited
    stories = dict(Article.objects.filter(id__in=[first.id, second.id, third.id]).values_list("id", "story_id"))
    assert stories[first.id] == stories[second.id] == stories[third.id]


@pytest.mark.django_db(transaction=True)
def test_a_write_that_loses_a_deadlock_is_tried_again_from_the_replay(monkeypatch):
    _corpus_assigned_live()
    clear = recluster_module._index_clear
    calls: list[int] = []

    def deadlocked_once() -> None:
        calls.append(1)
        clear()
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from DeadlockDetected("deadlock detected")

    monkeypatch.setattr(recluster_module, "_index_clear", deadlocked_once)
    out = _recluster()
    assert "reclustered articles=6 stories=3" in out and len(calls) == 2
    assert CoverageDoc.objects.count() == 6 and Story.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_write_failing_otherwise_is_not_tried_again(monkeypatch):
    _corpus_assigned_live()
    stories = set(Story.objects.values_list("id", flat=True))

    def broken() -> None:
        raise OperationalError("disk full")

    monkeypatch.setattr(recluster_module, "_index_clear", broken)
    with pytest.raises(OperationalError, match="disk full"):
        _recluster()
    assert set(Story.objects.values_list("id", flat=True)) == stories and CoverageDoc.objects.count() == 6


# -- the boilerplate recount: one swap, the old counts readable until it commits ----------------

TAGLINE = (
    "The Millbrook Ledger brings you the latest local news, weather, sports and community events from "
    "across Millbrook County every morning. Subscribe to our newsletter for breaking alerts."
)
TITLES = [
    "Council approves longer library opening hours",
    "Storm knocks out power to thousands in Eastside",
    "High school rowing team wins state final",
    "New bakery opens its doors on Main Street",
    "Police appeal for witnesses after a crash on Route 9",
    "Farmers market moves to the old rail depot",
]
NEWS = "The mayor said the bridge would reopen to traffic next week after repairs to its deck."


def _counted(source, titles: list[str], lead: str) -> None:
    articles = [make_english_article(source=source, title=t, summary=lead) for t in titles]
    assert not articles_finish(article_ids=[a.id for a in articles]).failed


def _table() -> list[tuple]:
    return list(CoverageBoilerplate.objects.order_by("id").values_list("segment", "title", "words", "seen_at"))


@pytest.mark.django_db(transaction=True)
def test_the_recount_in_memory_writes_the_rows_the_batched_recount_wrote():
    source = make_source(language="en", country="US", enabled=False)
    _counted(source, TITLES[:4], TAGLINE)
    _counted(source, [*TITLES[2:], TITLES[0]], f"{NEWS} {TAGLINE}")
    _counted(source, TITLES[1:3], NEWS)
    for n, article in enumerate(Article.objects.order_by("id")):
        Article.objects.filter(id=article.id).update(fetched_at=T0 + timedelta(minutes=n % 4))  # ties by id
    CoverageBoilerplate.objects.all().delete()
    every = Article.objects.order_by("fetched_at", "id")
    assert boilerplate_recount(every.iterator(), batch=3) == every.count()  # the database path, batch by batch
    batched = _table()
    assert len(batched) > 10
    assert boilerplate_recount(batch=3) == every.count()
    assert _table() == batched
    assert frozenset(lead_keys(TAGLINE)) <= boilerplate_segments()


@pytest.mark.django_db(transaction=True)
def test_enrichment_reads_the_old_counts_while_the_recount_runs_and_its_articles_are_counted(monkeypatch):
    source = make_source(language="en", country="US", enabled=False)
    _counted(source, TITLES[:2], TAGLINE)  # two titles: not boilerplate yet
    CoverageBoilerplate.objects.update(seen_at=T0)
    before = _table()
    add = dbboilerplate._Recount.add
    late: list[int] = []

    def live(self, articles):
        add(self, articles)
        if not late:  # a worker enriches while the count runs, and reads the counts as they were
            assert _table() == before and boilerplate_segments() == frozenset()
            _counted(source, TITLES[2:4], TAGLINE)
            late.append(1)

    monkeypatch.setattr(dbboilerplate._Recount, "add", live)
    assert boilerplate_recount() == 4
    tagline = CoverageBoilerplate.objects.filter(segment__in=lead_keys(TAGLINE))
    # The two stored meanwhile were counted by the recount's own transaction: four titles, boilerplate.
    assert len(set(tagline.values_list("words", flat=True))) == 4
    assert boilerplate_segments() == frozenset(lead_keys(TAGLINE))
    assert not CoverageBoilerplate.objects.filter(seen_at=T0).exists()  # every row is the recount's


# -- the memory store's withdrawal ---------------------------------------------------------------


def _memory_replay(rows: list[tuple[str, str]], params: Params) -> MemoryStore:
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for i, (title, summary) in enumerate(rows, 1):
        doc_assign(
            doc_key=i, at=600.0 * i, features=text_features(title=title, body=summary), store=store, params=params
        )
    return store


def _state(store: MemoryStore) -> tuple:
    terms = sorted({t for d in store.all_docs() for t in d.terms})
    found = store.candidates(terms=terms, since=0.0, until=1e9, per_term=100)
    return (
        store.doc_count(),
        sorted(store.df_items()),
        sorted((c.key, c.story, c.hits) for c in found),
        sorted(store.centroid_items()),
        [d.key for d in store.window_docs(since=0.0, limit=100)],
    )


@pytest.mark.parametrize("last", [TRAIN[1], VOLCANO], ids=["joined", "alone"])
def test_a_withdrawn_document_leaves_the_memory_store_as_if_it_never_arrived(last):
    params = Params()
    rows = [*QUAKE, FED, *TRAIN]
    store = _memory_replay([*rows, last], params)
    doc = store.docs([len(rows) + 1])[0]
    df_keys = [*doc.terms, *(GRAM_PREFIX + g for g in doc.grams)]
    store.doc_withdraw(doc.key, index_terms=doc.index_terms(params.query_terms), df_keys=df_keys)
    assert store.story_of(doc.key) is None
    assert _state(store) == _state(_memory_replay(rows, params))
