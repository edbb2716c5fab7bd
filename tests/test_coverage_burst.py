"""Refinement soon after a burst (newsdesk/coverage/burst.py): the stories an enrichment burst touched
are refined once it quiets, not at beat's next tick; nothing else is, and nothing twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.coverage.burst import (
    RUN,
    SKIP,
    BurstParams,
    ReplaySchedule,
    burst_note,
    burst_reset,
    burst_wait,
    refine_scope,
)
from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.dbrefine import MARK, refine_lock, refine_mark, stories_refine_recent
from newsdesk.coverage.decisions import stories_reindex
from newsdesk.coverage.engine import Doc
from newsdesk.coverage.refine import RefineParams, RefineSchedule
from newsdesk.models import Article, Heartbeat, Story
from tests.support.coverage import FED, QUAKE, make_article

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _burst_state_clean():
    from newsdesk.redisconn import redis_client

    client = redis_client()
    keys = [k for k in client.scan_iter("newsdesk:coverage:refine:*")]
    if keys:
        client.delete(*keys)
    yield
    keys = [k for k in client.scan_iter("newsdesk:coverage:refine:*")]
    if keys:
        client.delete(*keys)


def story_of(article: Article) -> int:
    return Article.objects.get(pk=article.pk).story_id


def assigned(items, *, minutes_ago: int) -> list[Article]:
    now = timezone.now()
    made = [
        make_article(title=t, summary=s, at=now - timedelta(minutes=minutes_ago - 5 * i))
        for i, (t, s) in enumerate(items)
    ]
    for article in made:
        article_assign_story(article=article)
    return made


def glue(quake: list[Article], fed: list[Article]) -> int:
    """What a stream order can do: the FED reports end in the QUAKE story (its membership changes now)."""
    quake_story, fed_story = story_of(quake[0]), story_of(fed[0])
    Article.objects.filter(id__in=[a.id for a in fed]).update(story_id=quake_story)
    Story.objects.filter(id=fed_story).update(merged_into_id=quake_story)
    stories_reindex([quake_story])
    return quake_story


def two_events() -> tuple[list[Article], list[Article]]:
    quake = assigned(QUAKE, minutes_ago=60)
    fed = assigned([FED, (FED[0] + " again", FED[1])], minutes_ago=50)
    assert story_of(fed[0]) != story_of(quake[0])
    return quake, fed


def memberships() -> dict[int, tuple[int | None, object]]:
    return {a: (s, u) for a, s, u in Article.objects.values_list("id", "story_id", "story__updated_at")}


def test_the_burst_task_refines_the_stories_a_burst_touched_without_the_beat_tick(settings):
    """An enrichment batch notes what it assigned; once quiet, refine_burst splits the glued story."""
    from newsdesk.tasks import refine_burst

    settings.NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS = 5.0
    from config.celery import app
    from newsdesk.redisconn import redis_client

    app.control.purge()  # messages other tests left: queued enrichment would (rightly) make the pass wait
    quake, fed = two_events()
    stories_refine_recent()  # an earlier pass: the mark the burst pass looks from
    glued = glue(quake, fed)
    assert story_of(fed[0]) == story_of(quake[0]) == glued
    # A burst's batches finished 6 s ago (quiet for longer than 5 s); no enrichment waits.
    assert burst_note(articles=60, params=BurstParams(quiet_seconds=5.0), now=time.time() - 6)
    before = refine_mark()
    refine_burst()  # the task as the worker runs it: real Redis, real database
    assert story_of(fed[0]) != story_of(quake[0]), "the touched, glued story is split"
    assert story_of(fed[0]) == story_of(fed[1])
    assert story_of(quake[0]) == glued, "the larger part keeps the story's id"
    assert refine_mark() > before
    # It moved articles: one follow-up pass over what it changed is on its way, on the refine lane.
    assert redis_client().llen("refine") == 1
    redis_client().delete("refine")
    # The pending flag was cleared: the next batch asks for the next pass.
    assert burst_note(articles=1, params=BurstParams(quiet_seconds=5.0))


def test_the_burst_pass_waits_while_an_article_is_on_its_way_to_a_story(settings):
    """No enrichment message waits (the worker holds the burst's last batch), but an article fetched
    moments ago is in no story yet: the pass waits for it. One in no story for longer than the retry
    sweep's horizon does not hold it back; once the fresh one is assigned, the pass runs."""
    from datetime import timedelta as td

    from config.celery import app
    from newsdesk.flow import LOST_AFTER
    from newsdesk.redisconn import redis_client
    from newsdesk.tasks import refine_burst

    settings.NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS = 5.0
    app.control.purge()
    quake, fed = two_events()
    stories_refine_recent()
    glued = glue(quake, fed)
    held = make_article(title="Bridge reopens after two years of repairs", at=timezone.now())
    lost = make_article(title="Harbour strike ends after a week", at=timezone.now())
    Article.objects.filter(pk=lost.pk).update(fetched_at=timezone.now() - LOST_AFTER - td(minutes=1))
    assert burst_note(articles=60, params=BurstParams(quiet_seconds=5.0), now=time.time() - 6)
    before = refine_mark()
    refine_burst()
    assert story_of(fed[0]) == story_of(quake[0]) == glued, "no pass while an article is on its way"
    assert refine_mark() == before
    assert redis_client().llen("refine") == 1, "it looks again later"
    redis_client().delete("refine")
    article_assign_story(article=held)
    refine_burst()
    assert story_of(fed[0]) != story_of(quake[0]), "assigned: the pass ran and split the glued story"
    assert refine_mark() > before
    redis_client().delete("refine")


def test_an_enrichment_batch_asks_for_one_pass_on_the_refine_lane():
    from config.celery import app
    from newsdesk.redisconn import redis_client
    from newsdesk.tasks import enrich_articles

    app.control.purge()
    first = make_article(title="Bridge reopens after two years of repairs", at=timezone.now())
    second = make_article(title="Harbour strike ends after a week", at=timezone.now())
    assert enrich_articles([first.id]) == 1
    assert redis_client().llen("refine") == 1, "the batch sent refine_burst"
    assert enrich_articles([second.id]) == 1
    assert redis_client().llen("refine") == 1, "one is pending already: no second message"
    assert int(redis_client().get("newsdesk:coverage:refine:count")) == 2
    app.control.purge()


def test_a_burst_pass_leaves_stories_untouched_since_the_last_pass_alone():
    """Nothing assigned since the last pass: the pass reads nothing and writes nothing, even where
    beat's whole-window pass would still find work."""
    quake, fed = two_events()
    glue(quake, fed)
    # The last pass began well after the glue (beyond the margin): nothing was touched since.
    Heartbeat.objects.update_or_create(name=MARK, defaults={"at": timezone.now() + timedelta(minutes=5)})
    before = memberships()
    stats = stories_refine_recent(touched_only=True)
    assert (stats.touched, stats.articles, stats.moved) == (0, 0, 0)
    assert memberships() == before, "no membership and no story row changed"
    assert stories_refine_recent().moved > 0, "beat's pass over the whole window would split it"


def test_a_repeated_burst_pass_writes_nothing():
    quake, fed = two_events()
    stories_refine_recent()
    glue(quake, fed)
    first = stories_refine_recent(touched_only=True)
    assert first.moved == 2 and first.touched >= 1
    after_first = memberships()
    again = stories_refine_recent(touched_only=True)
    assert again.moved == 0 and again.articles > 0, "it looked again (within the margin) and found a fixed point"
    assert memberships() == after_first, "no story's updated_at moved"


def test_a_second_pass_while_one_runs_does_nothing_and_says_busy():
    quake, fed = two_events()
    stories_refine_recent()
    glue(quake, fed)
    held, release = threading.Event(), threading.Event()

    def other_machine() -> None:
        from django.db import connection

        try:
            with refine_lock() as got:
                assert got
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_machine)
    thread.start()
    try:
        assert held.wait(30)
        before = memberships()
        stats = stories_refine_recent(touched_only=True)
        assert stats.busy and stats.moved == 0
        assert memberships() == before
    finally:
        release.set()
        thread.join(30)
    assert stories_refine_recent(touched_only=True).moved == 2, "once the lock is free the pass runs"


def test_the_pending_pass_waits_for_quiet_and_runs_within_a_long_burst():
    params = BurstParams(quiet_seconds=10.0, burst_articles=100, min_articles=50)
    now = time.time()
    assert burst_note(articles=10, params=params, now=now)
    assert burst_wait(backlog=0, params=params, now=now + 12) == SKIP, "10 articles are no burst"
    assert burst_note(articles=10, params=params, now=now + 13), "cleared: the next batch sends again"
    assert not burst_note(articles=40, params=params, now=now + 14), "one message pending at a time"
    assert burst_wait(backlog=0, params=params, now=now + 18) == pytest.approx(6.0)
    assert burst_wait(backlog=3, params=params, now=now + 30) == 10.0, "enrichment still waiting"
    assert burst_wait(backlog=0, params=params, now=now + 30) == RUN, "quiet after 60 articles in all: run"
    assert burst_note(articles=60, params=params, now=now + 40), "cleared: the next batch sends again"
    assert burst_wait(backlog=5, params=params, now=now + 41) not in (RUN, SKIP)
    burst_note(articles=60, params=params, now=now + 42)
    assert burst_wait(backlog=5, params=params, now=now + 43) == RUN, "120 articles since the last pass"
    burst_note(articles=60, params=params, now=now + 44)
    burst_reset()  # beat's pass began
    assert burst_wait(backlog=0, params=params, now=now + 60) == SKIP
    assert not burst_note(articles=0, params=params)
    assert not burst_note(articles=5, params=BurstParams(quiet_seconds=0)), "off"


def _doc(key: int, story: int, terms: dict[str, float]) -> Doc:
    return Doc(key=key, at=float(key), terms=terms, grams={}, names=[], story=story)


def test_the_scope_is_the_touched_stories_and_the_stories_sharing_their_core_terms():
    docs = [
        _doc(1, 10, {"quake": 1.0, "sumatra": 0.8}),
        _doc(2, 10, {"quake": 0.9, "tsunami": 0.7}),
        _doc(3, 20, {"sumatra": 1.0, "tsunami": 0.5}),  # a fragment of the same event
        _doc(4, 30, {"fed": 1.0, "rates": 0.9}),  # another event
        _doc(5, 40, {"rates": 1.0, "powell": 0.4}),  # its neighbour
    ]
    refine = RefineParams(core_terms=2)
    assert {d.key for d in refine_scope(docs, {10}, refine)} == {1, 2, 3}
    assert {d.key for d in refine_scope(docs, {40}, refine)} == {4, 5}
    assert refine_scope(docs, {99}, refine) == []


def test_the_replayed_schedule_adds_a_pass_when_the_stream_goes_quiet():
    refine = RefineParams(every_seconds=600.0, every_articles=100)
    timed = ReplaySchedule(beat=RefineSchedule(refine=refine), burst=BurstParams(quiet_seconds=10.0, min_articles=2))
    assert timed.after(0.0, 20.0) == [], "one article is no burst"
    assert timed.after(20.0, 49.0) == ["burst"], "two, and the next article comes 29 s later"
    assert timed.after(49.0, 50.0) == []
    assert timed.after(50.0, None) == ["burst", "full"], "after the last: the burst pass, then beat's tick"
    untimed = ReplaySchedule(
        beat=RefineSchedule(refine=refine, timed=False),
        burst=BurstParams(quiet_seconds=10.0, burst_articles=3, min_articles=2),
    )
    assert [untimed.after(0.0, 0.0) for _ in range(4)] == [[], [], ["burst"], []]
    assert untimed.after(0.0, None) == ["burst", "full"], "the stream ends after two: a burst pass, then beat's"
    off = ReplaySchedule(beat=RefineSchedule(refine=refine), burst=BurstParams(quiet_seconds=0))
    assert off.after(0.0, 100.0) == [] and off.after(100.0, None) == ["full"]
    lone = ReplaySchedule(beat=RefineSchedule(refine=refine), burst=BurstParams(quiet_seconds=10.0, min_articles=2))
    assert lone.after(0.0, None) == ["full"], "one article is no burst"


@pytest.mark.slow  # a real worker process, no beat
def test_a_worker_takes_fresh_enrichment_before_the_pass_and_refines_once_quiet():
    """A glued story was touched; a refine_burst message waits, then a fresh item's batch is queued.
    The worker (one child, every queue) finishes the fresh item first, then, with no beat running,
    splits the glued story once enrichment has been quiet for a second."""
    from config.celery import app
    from newsdesk.flow import FRESH_QUEUE
    from newsdesk.tasks import enrich_articles, refine_burst
    from tests.support.worker import celery_worker, wait_for

    quake, fed = two_events()
    stories_refine_recent()
    glue(quake, fed)
    fresh = make_article(title="Bridge reopens after two years of repairs", at=timezone.now())
    app.control.purge()
    refine_burst.apply_async()
    enrich_articles.apply_async(([fresh.id],), queue=FRESH_QUEUE)
    burst = {"NEWSDESK_COVERAGE_REFINE_QUIET_SECONDS": "1", "NEWSDESK_COVERAGE_REFINE_BURST_MIN_ARTICLES": "1"}
    with celery_worker(extra_env=burst, concurrency=1, purge=False):
        wait_for(lambda: story_of(fed[0]) != story_of(quake[0]), timeout=120, message="the glued story split")
    fresh = Article.objects.get(pk=fresh.pk)
    assert fresh.story_id is not None and fresh.enriched_at is not None
    assert fresh.enriched_at < refine_mark(), "the pass began after the fresh item was finished"
    assert story_of(fed[0]) == story_of(fed[1])
