"""The dispatcher: due sources are claimed once, lost messages are re-sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from newsdesk.ingest.dispatch import QUEUED_STALE_AFTER, sources_claim_due, sources_dispatch
from newsdesk.ingest.poll import sources_poll, thread_pool_shutdown
from newsdesk.models import Article, FetchAttempt, Source, SourceKind, SourceState
from tests.support.http import rss
from tests.support.worker import celery_worker, wait_for


def _feed(i: int) -> bytes:
    return rss([{"title": f"Item of {i}", "guid": f"{i}-1", "link": f"https://example.org/{i}"}])


def _race_two(body: Callable[[int], None]) -> None:
    """Run body(0) and body(1) in two threads released together; each closes its own DB
    connection, and any error either raises is raised here."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            barrier.wait()
            body(slot)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


@pytest.mark.django_db
def test_claims_only_due_enabled_feed_sources_and_marks_them_queued():
    now = timezone.now()
    due = Source.objects.create(name="due", url="https://a.example/feed", next_poll_at=now - timedelta(seconds=1))
    Source.objects.create(name="later", url="https://b.example/feed", next_poll_at=now + timedelta(hours=1))
    Source.objects.create(name="off", url="https://c.example/feed", enabled=False, next_poll_at=now)
    Source.objects.create(name="drop", kind=SourceKind.DROP, inbox="x", next_poll_at=now)
    assert sources_claim_due(now=now) == [due.id]
    due.refresh_from_db()
    assert due.state == SourceState.QUEUED
    assert due.next_poll_at == now + QUEUED_STALE_AFTER
    assert sources_claim_due(now=now) == [], "a queued source is not sent again within the window"


@pytest.mark.django_db
def test_a_lost_message_is_resent_after_the_stale_window():
    now = timezone.now()
    source = Source.objects.create(name="s", url="https://a.example/feed", next_poll_at=now)
    assert sources_claim_due(now=now) == [source.id]
    # The message is lost: nobody polls. Just before the window, nothing is re-sent...
    assert sources_claim_due(now=now + QUEUED_STALE_AFTER - timedelta(seconds=1)) == []
    # ...after it, the stale QUEUED source is due again and re-sent.
    assert sources_claim_due(now=now + QUEUED_STALE_AFTER) == [source.id]


@pytest.mark.django_db
def test_dispatch_sends_every_due_source_in_batches(settings):
    settings.NEWSDESK_POLL_BATCH_SIZE = 7
    now = timezone.now()
    ids = {Source.objects.create(name=str(i), url=f"https://e.example/{i}", next_poll_at=now).id for i in range(30)}
    batches: list[list[int]] = []
    assert sources_dispatch(now=now, send_batch=batches.append) == 30
    assert [len(b) for b in batches] == [7, 7, 7, 7, 2]
    assert {i for b in batches for i in b} == ids


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_poll_each_source_once(feed_server):
    """Two dispatcher+poller threads race over the same due sources (real
    concurrent transactions: SKIP LOCKED on PostgreSQL, the write lock on
    SQLite); every feed is fetched exactly once."""
    n = 40
    for i in range(n):
        feed_server.static(f"/{i}.xml", _feed(i))
        Source.objects.create(name=str(i), url=feed_server.url(f"/{i}.xml"))
    claimed: list[list[int]] = [[], []]

    def dispatcher(slot: int) -> None:
        while ids := sources_claim_due(now=timezone.now(), limit=5):
            claimed[slot].extend(ids)
            sources_poll(source_ids=ids)

    _race_two(dispatcher)
    assert not set(claimed[0]) & set(claimed[1]), "a source was claimed by both dispatchers"
    assert len(claimed[0]) + len(claimed[1]) == n
    assert [feed_server.hits(f"/{i}.xml") for i in range(n)] == [1] * n
    assert FetchAttempt.objects.count() == n
    assert Article.objects.count() == n
    assert not Source.objects.exclude(state=SourceState.IDLE).exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_sources_sent_twice_at_once_are_polled_once(feed_server):
    """A duplicated message (two dispatchers, a redelivery, a manual poll)
    racing the original: the per-source claim lets one poll run; the other
    skips, even while the first is still fetching (slow server)."""
    import time

    from tests.support.http import Response

    n = 12
    for i in range(n):
        body = _feed(i)
        feed_server.route(f"/{i}.xml", lambda _req, body=body: (time.sleep(0.2), Response(200, body))[1])
        Source.objects.create(name=str(i), url=feed_server.url(f"/{i}.xml"))
    ids = list(Source.objects.values_list("id", flat=True))
    polled: list[set[int]] = [set(), set()]

    def poller(slot: int) -> None:
        results = sources_poll(source_ids=ids, force=True)
        polled[slot] = {r.source_id for r in results if r.attempt is not None}

    _race_two(poller)
    assert not polled[0] & polled[1]
    assert polled[0] | polled[1] == set(ids)
    assert [feed_server.hits(f"/{i}.xml") for i in range(n)] == [1] * n
    assert FetchAttempt.objects.count() == n


@pytest.mark.slow  # a real Celery worker process
@pytest.mark.django_db(transaction=True)
def test_dispatch_task_polls_through_a_real_worker(feed_server, settings):
    """dispatch_due_sources on a real Celery worker sends batches that poll every due source once."""
    n = 25
    for i in range(n):
        feed_server.static(f"/{i}.xml", _feed(i))
        Source.objects.create(name=str(i), url=feed_server.url(f"/{i}.xml"))
    with celery_worker(extra_env={"NEWSDESK_POLL_BATCH_SIZE": "4"}, concurrency=2):
        from newsdesk.tasks import dispatch_due_sources

        dispatch_due_sources.delay()
        wait_for(
            lambda: close_old_connections() or FetchAttempt.objects.count() >= n,
            message="every source to be polled",
        )
        wait_for(
            lambda: close_old_connections() or not Source.objects.exclude(state=SourceState.IDLE).exists(),
            message="every source to be released",
        )
    assert Article.objects.count() == n
    assert [feed_server.hits(f"/{i}.xml") for i in range(n)] == [1] * n


@pytest.fixture(autouse=True)
def _close_poll_threads():
    yield
    thread_pool_shutdown()


@pytest.mark.django_db
def test_outlets_without_a_url_are_never_dispatched():
    """Outlets created from drop cards are feed-kind sources with no URL: nothing to poll."""
    now = timezone.now()
    Source.objects.create(name="From a card", url="", next_poll_at=now - timedelta(minutes=1))
    assert sources_claim_due(now=now) == []
