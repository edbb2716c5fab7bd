"""The optimistic candidate read (PostgreSQL): scoring holds no story row lock; a story changed
meanwhile is scored again under its lock, and its concurrent change is never written over."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from django.db import connection, connections, transaction
from django.db.utils import OperationalError

from newsdesk.coverage.cluster import article_assign_story, coverage_params
from newsdesk.coverage.dbstore import DbStore
from newsdesk.coverage.docpack import centroid_pack, centroid_unpack
from newsdesk.coverage.engine import centroid_add
from newsdesk.coverage.storycounts import story_refresh_counts
from newsdesk.models import Article, CoverageDoc, CoverageStory, Story
from tests.support.coverage import QUAKE, T0, make_article

T = TypeVar("T")
COUNTED = ("article_count", "source_count", "country_count", "language_count", "headline")


def _pg_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers by its database lock; the optimistic read is PostgreSQL's")


class _Paused:
    """Holds the first assignment that reaches DbStore.settle (scored, nothing written yet) until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.scored, self.release = threading.Event(), threading.Event()
        self.stores: list[DbStore] = []
        original = DbStore.settle

        def settle(store: DbStore) -> bool:
            if not self.stores:
                self.stores.append(store)
                self.scored.set()
                self.release.wait(30)
            return original(store)

        monkeypatch.setattr(DbStore, "settle", settle)

    def around(self, article: Article, during: Callable[[], T]) -> tuple[DbStore, T]:
        """Assign ``article`` in a thread; once it has scored, run ``during``; then let it write.
        Its store and what ``during`` returned."""
        errors: list[BaseException] = []
        thread = self.assign(article, errors)
        try:
            assert self.scored.wait(30) and not errors
            value = during()
        finally:
            self.release.set()
            thread.join(30)
        assert not errors
        return self.stores[0], value

    def assign(self, article: Article, errors: list[BaseException]) -> threading.Thread:
        def run() -> None:
            try:
                article_assign_story(article=article)
            except BaseException as exc:  # reported by the test
                errors.append(exc)
                self.scored.set()
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        return thread


def _counted_as_a_recount(story_id: int) -> dict[str, object]:
    """The story's counters as written, after checking that a recount gives the same."""
    story = Story.objects.get(id=story_id)
    kept = {f: getattr(story, f) for f in COUNTED}
    story_refresh_counts(story=story)
    story.refresh_from_db()
    assert {f: getattr(story, f) for f in COUNTED} == kept
    return kept


def _centroid_change(story_id: int, terms: dict[str, float]) -> dict[str, float]:
    """Another writer's change of the story's centroid (and its packed copy); the new centroid."""
    row = CoverageStory.objects.get(story_id=story_id)
    changed = centroid_add(centroid_unpack(row.centroid_packed), terms, keep=200)
    CoverageStory.objects.filter(story_id=story_id).update(centroid=changed, centroid_packed=centroid_pack(changed))
    return changed


def _story_row_free(story: int) -> bool:
    """Whether another transaction can lock the story's rows at once (NOWAIT)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {Story._meta.db_table} s JOIN {CoverageStory._meta.db_table} c "  # noqa: S608
                "ON c.story_id = s.id WHERE s.id = %s FOR UPDATE OF s, c NOWAIT",
                [story],
            )
        return True
    except OperationalError:  # lock_not_available
        return False


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("optimistic", [True, False])
def test_scoring_holds_no_story_row_lock(settings, monkeypatch, optimistic):
    """While an assignment scores its candidates, the candidate story's rows stay free for others
    (the locked read held them from its read to its commit); the article still joins the story."""
    _pg_only()
    settings.NEWSDESK_COVERAGE_OPTIMISTIC_READ = optimistic
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    second = make_article(title=QUAKE[1][0], summary=QUAKE[1][1], at=T0 + timedelta(minutes=3))
    store, free = _Paused(monkeypatch).around(second, lambda: _story_row_free(first.id))
    assert free is optimistic
    second.refresh_from_db()
    assert second.story_id == first.id
    assert store.stale_reads == 0


@pytest.mark.django_db(transaction=True)
def test_a_story_changed_while_scoring_is_scored_again_and_its_change_kept(monkeypatch):
    """A concurrent change of a candidate story's centroid between the read and the write (another
    article's join, which this one could not find) makes the assignment score again under the
    story's lock: its write adds to the changed centroid, never to the one it first read."""
    _pg_only()
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    second = make_article(title=QUAKE[1][0], summary=QUAKE[1][1], at=T0 + timedelta(minutes=3))
    store, changed = _Paused(monkeypatch).around(
        second, lambda: _centroid_change(first.id, {"aftershock": 0.6, "padang": 0.8})
    )
    assert store.stale_reads == 1  # scored once more, under the lock
    second.refresh_from_db()
    assert second.story_id == first.id
    terms = CoverageDoc.objects.get(article_id=second.id).terms
    expected = centroid_add(changed, terms, keep=coverage_params().centroid_terms)
    row = CoverageStory.objects.get(story_id=first.id)
    assert row.centroid == pytest.approx(expected)
    assert centroid_unpack(row.centroid_packed) == pytest.approx(expected)  # the packed copy too
    assert _counted_as_a_recount(first.id)["article_count"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_story_merged_away_while_scoring_sends_the_article_to_the_survivor(monkeypatch):
    """The candidate story merged into another meanwhile (its index row gone): scored again, the
    article joins the surviving story, whose counters match a recount."""
    _pg_only()
    from newsdesk.coverage.dbwrite import story_merge

    survivor = article_assign_story(article=make_article(title="Zoo welcomes a baby panda", summary="Cute."))
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    assert survivor.id < first.id

    def merge() -> None:
        with transaction.atomic():
            story_merge(source=first.id, target=survivor.id, centroid_terms=200)
            story_refresh_counts(story=Story.objects.get(id=survivor.id))

    second = make_article(title=QUAKE[1][0], summary=QUAKE[1][1], at=T0 + timedelta(minutes=3))
    store, _ = _Paused(monkeypatch).around(second, merge)
    assert store.stale_reads == 1
    second.refresh_from_db()
    assert second.story_id == survivor.id
    assert Article.objects.filter(story_id=first.id).count() == 0
    assert _counted_as_a_recount(survivor.id)["article_count"] == 3  # counted in place by the join into the survivor


@pytest.mark.django_db(transaction=True)
def test_a_new_story_is_written_without_checking_the_stories_it_read(monkeypatch):
    """An article that starts its own story writes none of the stories it scored: a change of one
    meanwhile needs no second scoring (it comes first in the serial order), and stays as written."""
    _pg_only()
    first = article_assign_story(article=make_article(title=QUAKE[0][0], summary=QUAKE[0][1]))
    other = make_article(
        title="Sumatra coffee growers expect a record harvest",
        summary="Arabica prices at the Medan auction rose for a third week.",
        at=T0 + timedelta(minutes=3),
    )
    paused = _Paused(monkeypatch)

    def change() -> dict[str, float]:
        assert paused.stores[0]._versions, "the quake story was read as a candidate"
        return _centroid_change(first.id, {"aftershock": 0.6})

    store, changed = paused.around(other, change)
    assert store.stale_reads == 0
    other.refresh_from_db()
    assert other.story_id not in (None, first.id)
    assert CoverageStory.objects.get(story_id=first.id).centroid == pytest.approx(changed)


@pytest.mark.django_db(transaction=True)
def test_a_story_deleted_while_scoring_is_scored_again_not_a_failed_write(monkeypatch):
    """The candidate story was emptied and deleted meanwhile (as ``recluster --since`` deletes the
    stories its withdrawn articles leave empty): the join's check, sent with its write, finds it
    gone, and the article is scored again under the locks instead of failing its enrichment."""
    _pg_only()
    first = make_article(title=QUAKE[0][0], summary=QUAKE[0][1])
    story = article_assign_story(article=first)

    def withdraw() -> None:
        with transaction.atomic():
            CoverageDoc.objects.filter(article_id=first.id).delete()
            Article.objects.filter(id=first.id).update(story=None, story_score=None, story_evidence={})
            CoverageStory.objects.filter(story_id=story.id).delete()
            Story.objects.filter(id=story.id).delete()

    second = make_article(title=QUAKE[1][0], summary=QUAKE[1][1], at=T0 + timedelta(minutes=3))
    store, _ = _Paused(monkeypatch).around(second, withdraw)
    assert store.stale_reads == 1
    second.refresh_from_db()
    assert second.story_id is not None and second.story_id != story.id
    assert CoverageDoc.objects.filter(article_id=second.id).count() == 1
    assert _counted_as_a_recount(second.story_id)["article_count"] == 1
