"""A soft time limit ends a poll batch cleanly; a killed poll is put back by the reaper (issue #16 item 1)."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from newsdesk.ingest import poll
from newsdesk.ingest.poll import INTERRUPTED, sources_poll, sources_reap_stale, thread_pool_shutdown
from newsdesk.models import FetchAttempt, Source, SourceState
from tests.support.accounts import make_admin
from tests.support.http import Response, rss

pytestmark = pytest.mark.django_db(transaction=True)


def _feed(name: str) -> bytes:
    return rss([{"title": f"{name} story", "link": f"https://example.org/{name}", "guid": name}])


def _sources(server, names, slow: float = 0.0) -> list[Source]:
    out = []
    for name in names:
        body = _feed(name)
        if slow:
            server.route(f"/{name}.xml", lambda _req, body=body: (time.sleep(slow), Response(200, body))[1])
        else:
            server.static(f"/{name}.xml", body)
        out.append(Source.objects.create(name=name, url=server.url(f"/{name}.xml")))
    return out


@pytest.fixture
def soft_limit_after():
    """Raise SoftTimeLimitExceeded from a signal, as Celery's pool does, after ``seconds``."""

    def arm(seconds: float) -> None:
        def handler(_signum, _frame):
            raise SoftTimeLimitExceeded()

        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def test_soft_limit_mid_parse_ends_the_batch_and_releases_every_claim(feed_server, monkeypatch, settings):
    settings.NEWSDESK_POLL_THREADS = 1
    sources = _sources(feed_server, ["a", "b", "c"])
    interrupted: list[str] = []

    def slow_parse(**kwargs):
        interrupted.append(kwargs["base_url"])
        raise SoftTimeLimitExceeded()  # the signal, arriving mid-parse of the first feed polled

    monkeypatch.setattr(poll, "parse_feed", slow_parse)
    before = timezone.now()
    results = sources_poll(source_ids=[s.id for s in sources], force=True)  # returns: the batch ends cleanly
    assert results == []  # nothing finished
    assert len(interrupted) == 1
    assert sum(feed_server.hits(f"/{name}.xml") for name in "abc") == 1  # the batch stopped there
    for source in Source.objects.all():
        assert source.state == SourceState.IDLE, source.name
        assert source.next_poll_at <= timezone.now() and source.next_poll_at >= before - timedelta(seconds=1)
    [cut] = Source.objects.filter(last_error=INTERRUPTED)
    assert interrupted == [cut.url]


def test_soft_limit_signal_during_a_slow_fetch_ends_the_batch(feed_server, settings, soft_limit_after):
    settings.NEWSDESK_POLL_THREADS = 1
    sources = _sources(feed_server, ["a", "b"], slow=1.0)
    soft_limit_after(0.3)
    sources_poll(source_ids=[s.id for s in sources], force=True)
    assert feed_server.hits("/a.xml") + feed_server.hits("/b.xml") == 1  # the second was never fetched
    assert not Source.objects.filter(state=SourceState.POLLING).exists()
    assert Source.objects.filter(last_error=INTERRUPTED).count() == 1


def test_soft_limit_with_pool_threads_leaves_no_source_polling(feed_server, settings, soft_limit_after):
    settings.NEWSDESK_POLL_THREADS = 2
    sources = _sources(feed_server, ["a", "b", "c", "d", "e"], slow=1.0)
    soft_limit_after(0.3)
    try:
        sources_poll(source_ids=[s.id for s in sources], force=True)
    finally:
        thread_pool_shutdown()  # waits for the two polls already running
    assert not Source.objects.filter(state=SourceState.POLLING).exists()
    polled = sum(feed_server.hits(f"/{name}.xml") for name in "abcde")
    assert polled <= 3  # the rest were put back unpolled, due now


def test_reaper_puts_back_a_killed_poll_with_the_reason_shown_in_admin(client):
    now = timezone.now()
    killed = Source.objects.create(
        name="killed", url="http://127.0.0.1:9/k.xml", state=SourceState.POLLING,
        state_changed_at=now - timedelta(hours=1),
    )  # fmt: skip
    running = Source.objects.create(
        name="running", url="http://127.0.0.1:9/r.xml", state=SourceState.POLLING, state_changed_at=now
    )
    assert sources_reap_stale(now=now) == 1
    killed.refresh_from_db()
    assert killed.state == SourceState.IDLE and killed.next_poll_at <= now
    assert "poll did not finish" in killed.last_error and killed.error_count == 1
    assert FetchAttempt.objects.get(source=killed).outcome == FetchAttempt.Outcome.ERROR
    assert Source.objects.get(id=running.id).state == SourceState.POLLING  # a live claim is left alone
    assert sources_reap_stale(now=now) == 0
    client.force_login(make_admin())
    page = client.get("/admin/newsdesk/source/")
    assert "poll did not finish" in page.content.decode()
