"""Polling one source against a loopback server: status handling, caching, scheduling."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone

from newsdesk.ingest import poll
from newsdesk.ingest.poll import source_poll, sources_poll
from newsdesk.models import Article, FetchAttempt, Source, SourceState
from tests.support.http import Request, Response, rss

pytestmark = pytest.mark.django_db


def _feed(n: int = 3, *, start: int = 0, every: timedelta = timedelta(hours=1), extra: str = "") -> bytes:
    now = timezone.now()
    return rss(
        [
            {
                "title": f"Story {i}{extra}",
                "link": f"https://example.org/{i}",
                "guid": f"g-{i}",
                "description": f"About {i}",
                "pubDate": format_datetime(now - every * (i - start)),
            }
            for i in range(start, start + n)
        ]
    )


@pytest.fixture
def parse_calls(monkeypatch):
    """Counts calls of the parser as the poller sees it."""
    calls = []
    real = poll.parse_feed

    def counting(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(poll, "parse_feed", counting)
    return calls


def _source(server, path="/feed.xml", **fields) -> Source:
    return Source.objects.create(name=path, url=server.url(path), **fields)


def _poll(source: Source) -> FetchAttempt:
    result = source_poll(source_id=source.id, force=True)
    source.refresh_from_db()
    assert result.attempt is not None, result.skipped
    return result.attempt


def test_two_polls_create_no_duplicates(feed_server):
    feed_server.static("/feed.xml", _feed(3))
    source = _source(feed_server)
    first = _poll(source)
    # Same items, but the body changed (new build date): parsed again, nothing duplicated.
    feed_server.static("/feed.xml", _feed(3).replace(b"<description>t</description>", b"<description>u</description>"))
    second = _poll(source)
    assert (first.outcome, first.items_new) == ("ok", 3)
    assert (second.outcome, second.items_new, second.items_unchanged) == ("ok", 0, 3)
    assert Article.objects.filter(source=source).count() == 3
    assert source.state == SourceState.IDLE and source.last_success_at is not None


def test_304_costs_no_parse(feed_server, parse_calls):
    body = _feed(3)

    def conditional(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, body, {"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    feed_server.route("/feed.xml", conditional)
    source = _source(feed_server)
    _poll(source)
    assert source.etag == '"v1"' and len(parse_calls) == 1
    attempt = _poll(source)
    assert attempt.outcome == FetchAttempt.Outcome.NOT_MODIFIED and attempt.http_status == 304
    assert len(parse_calls) == 1, "a 304 must not be parsed"
    assert feed_server.requests[-1].headers["if-none-match"] == '"v1"'
    assert source.error_count == 0


def test_same_body_hash_costs_no_parse(feed_server, parse_calls):
    feed_server.static("/feed.xml", _feed(3))
    source = _source(feed_server)
    _poll(source)
    attempt = _poll(source)
    assert attempt.outcome == FetchAttempt.Outcome.UNCHANGED
    assert len(parse_calls) == 1, "an identical body must not be parsed"
    assert Article.objects.filter(source=source).count() == 3


def test_410_disables_the_source_with_the_reason(feed_server):
    feed_server.static("/feed.xml", b"gone", status=410)
    source = _source(feed_server)
    attempt = _poll(source)
    assert attempt.outcome == FetchAttempt.Outcome.ERROR and attempt.http_status == 410
    assert source.enabled is False
    assert "410" in source.disabled_reason and "removed" in source.disabled_reason


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_respected_in_next_poll_at(feed_server, status):
    feed_server.static("/feed.xml", b"slow down", status=status, headers={"Retry-After": "7200"})
    source = _source(feed_server)
    before = timezone.now()
    _poll(source)
    assert source.next_poll_at >= before + timedelta(seconds=7200)
    assert source.error_count == 1 and f"HTTP {status}" in source.last_error
    assert source.enabled


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_client_and_server_errors_count_as_errors(feed_server, status):
    feed_server.static("/feed.xml", b"no", status=status)
    source = _source(feed_server)
    _poll(source)
    _poll(source)
    assert source.error_count == 2 and source.last_error == f"HTTP {status}"
    assert source.first_error_at is not None and source.enabled


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_updates_the_url(feed_server, status):
    feed_server.static("/old.xml", b"", status=status, headers={"Location": "/new.xml"})
    feed_server.static("/new.xml", _feed(2))
    source = _source(feed_server, "/old.xml")
    attempt = _poll(source)
    assert source.url == feed_server.url("/new.xml")
    assert attempt.items_new == 2 and "moved permanently" in attempt.detail


def test_temporary_redirect_keeps_the_url(feed_server):
    feed_server.static("/old.xml", b"", status=302, headers={"Location": "/new.xml"})
    feed_server.static("/new.xml", _feed(2))
    source = _source(feed_server, "/old.xml")
    _poll(source)
    assert source.url == feed_server.url("/old.xml")


def test_permanent_redirect_to_an_existing_source_disables_the_duplicate(feed_server):
    feed_server.static("/old.xml", b"", status=301, headers={"Location": "/new.xml"})
    feed_server.static("/new.xml", _feed(2))
    other = _source(feed_server, "/new.xml")
    source = _source(feed_server, "/old.xml")
    _poll(source)
    assert source.url == feed_server.url("/old.xml") and not source.enabled
    assert f"#{other.id}" in source.disabled_reason


def test_error_backoff_grows_and_is_capped(feed_server, settings):
    settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS = 3600
    settings.NEWSDESK_POLL_MIN_SECONDS = 300
    feed_server.static("/feed.xml", b"down", status=500)
    source = _source(feed_server, poll_interval=300)
    delays = []
    for _ in range(6):
        before = timezone.now()
        _poll(source)
        delays.append((source.next_poll_at - before).total_seconds())
    assert delays[1] > delays[0] * 1.7 and delays[2] > delays[1] * 1.7, delays
    assert all(d <= 3600 + 1 for d in delays) and delays[-1] >= 3600 * 0.99, delays
    assert source.enabled, "backoff never silently stops a source"


def test_failing_for_days_disables_with_the_reason(feed_server, settings):
    settings.NEWSDESK_DISABLE_AFTER_DAYS = 7
    feed_server.static("/feed.xml", b"no", status=404)
    source = _source(feed_server, error_count=40, first_error_at=timezone.now() - timedelta(days=7, minutes=1))
    _poll(source)
    assert not source.enabled
    assert "failing since" in source.disabled_reason and "HTTP 404" in source.disabled_reason


def test_success_resets_the_error_streak(feed_server):
    feed_server.static("/feed.xml", _feed(1))
    source = _source(feed_server, error_count=5, first_error_at=timezone.now() - timedelta(days=1), last_error="x")
    _poll(source)
    assert (source.error_count, source.first_error_at, source.last_error) == (0, None, "")


def test_busy_feed_gets_a_short_interval_and_quiet_feed_a_long_one(feed_server, settings):
    settings.NEWSDESK_POLL_MIN_SECONDS = 300
    settings.NEWSDESK_POLL_MAX_SECONDS = 86400
    feed_server.static("/busy.xml", _feed(48, every=timedelta(hours=1)))  # 24 a day
    feed_server.static("/quiet.xml", _feed(3, every=timedelta(days=9)))  # 1 in the last 30 days
    busy, quiet = _source(feed_server, "/busy.xml"), _source(feed_server, "/quiet.xml")
    _poll(busy)
    _poll(quiet)
    assert 23 <= busy.items_per_day <= 25.5
    assert 1690 <= busy.poll_interval <= 1810
    assert quiet.poll_interval >= 43200
    now = timezone.now()
    assert now + timedelta(seconds=1500) < busy.next_poll_at < now + timedelta(seconds=2100)


def test_cache_control_and_ttl_raise_the_interval(feed_server):
    feed_server.static("/feed.xml", _feed(48), headers={"Cache-Control": "max-age=14400"})
    ttl_feed = _feed(48).replace(b"</language>", b"</language><ttl>180</ttl>")
    feed_server.static("/ttl.xml", ttl_feed)
    source, ttl_source = _source(feed_server), _source(feed_server, "/ttl.xml")
    before = timezone.now()
    _poll(source)
    _poll(ttl_source)
    assert source.next_poll_at >= before + timedelta(seconds=14400)
    from newsdesk.ingest.parse import parse_feed

    if parse_feed(body=ttl_feed, headers={}).ttl_seconds:
        assert ttl_source.poll_interval >= 180 * 60


def test_a_source_being_polled_is_not_polled_again(feed_server):
    feed_server.static("/feed.xml", _feed(1))
    source = _source(feed_server, state=SourceState.POLLING, state_changed_at=timezone.now())
    result = source_poll(source_id=source.id, force=True)
    assert result.attempt is None and "polling" in result.skipped
    assert feed_server.hits("/feed.xml") == 0


def test_a_stale_polling_claim_is_taken_over(feed_server):
    feed_server.static("/feed.xml", _feed(1))
    source = _source(feed_server, state=SourceState.POLLING, state_changed_at=timezone.now() - timedelta(hours=3))
    assert _poll(source).items_new == 1
    assert source.state == SourceState.IDLE


def test_a_duplicate_message_after_the_poll_does_nothing(feed_server):
    feed_server.static("/feed.xml", _feed(1))
    source = _source(feed_server)
    assert source_poll(source_id=source.id).attempt is not None
    assert source_poll(source_id=source.id).attempt is None
    assert feed_server.hits("/feed.xml") == 1


def test_a_parser_crash_is_recorded_and_the_batch_goes_on(feed_server, monkeypatch):
    feed_server.static("/a.xml", _feed(1))
    feed_server.static("/b.xml", _feed(2))
    a, b = _source(feed_server, "/a.xml"), _source(feed_server, "/b.xml")
    real = poll.parse_feed

    def flaky(**kwargs):
        if kwargs["base_url"].endswith("/a.xml"):
            raise RecursionError("boom")
        return real(**kwargs)

    monkeypatch.setattr(poll, "parse_feed", flaky)
    results = sources_poll(source_ids=[a.id, b.id], force=True)
    a.refresh_from_db()
    assert {r.source_id: r.attempt.outcome for r in results} == {a.id: "error", b.id: "ok"}
    assert "RecursionError" in a.last_error and a.state == SourceState.IDLE
    assert Article.objects.filter(source=b).count() == 2


def test_connection_refused_is_an_error_not_a_crash():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = Source.objects.create(name="down", url=f"http://127.0.0.1:{port}/feed.xml")
    attempt = _poll(source)
    assert attempt.outcome == "error" and "fetch failed" in source.last_error


def test_poll_command_polls_due_sources_or_the_ones_named(feed_server):
    from io import StringIO

    from django.core.management import CommandError, call_command

    feed_server.static("/a.xml", _feed(3))
    feed_server.static("/b.xml", _feed(2, start=10))
    a = _source(feed_server, "/a.xml")
    b = _source(feed_server, "/b.xml", next_poll_at=timezone.now() + timedelta(hours=1))
    out = StringIO()
    call_command("poll", stdout=out, verbosity=0)
    assert "polled=1 new_items=3" in out.getvalue()
    assert feed_server.hits("/b.xml") == 0, "not due"
    out = StringIO()
    call_command("poll", "--source", str(b.id), stdout=out, verbosity=0)
    assert "polled=1 new_items=2" in out.getvalue()
    out = StringIO()
    call_command("poll", "--all", stdout=out, verbosity=0)
    assert "polled=2 new_items=0" in out.getvalue() and "unchanged=2" in out.getvalue()
    assert Article.objects.count() == 5 and a.articles.count() == 3
    with pytest.raises(CommandError, match="no feed source with id 999999"):
        call_command("poll", "--source", "999999", verbosity=0)
