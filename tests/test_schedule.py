"""The polling policy: adaptive interval, server floors, jitter, error backoff."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from newsdesk.httpheaders import max_age_seconds, retry_after_seconds
from newsdesk.ingest import schedule

NOW = datetime(2026, 2, 9, 12, 0, tzinfo=UTC)


def test_busy_feeds_poll_every_few_minutes_quiet_ones_hourly_to_daily(settings):
    settings.NEWSDESK_POLL_MIN_SECONDS = 300
    settings.NEWSDESK_POLL_MAX_SECONDS = 86400
    assert schedule.interval_for_rate(items_per_day=500) == 300  # wire service: the floor
    assert schedule.interval_for_rate(items_per_day=24) == 1800  # hourly items: every 30 min
    assert schedule.interval_for_rate(items_per_day=1) == 43200  # daily items: twice a day
    assert schedule.interval_for_rate(items_per_day=0.1) == 86400  # weekly blog: daily
    assert schedule.interval_for_rate(items_per_day=0) == 86400  # nothing recent: daily


def test_rate_counts_items_over_their_span_but_at_least_a_day():
    assert schedule.items_per_day_from(count=48, oldest=NOW - timedelta(days=2), now=NOW) == 24
    # One item an hour ago is one a day, not 24 a day.
    assert schedule.items_per_day_from(count=1, oldest=NOW - timedelta(hours=1), now=NOW) == 1
    assert schedule.items_per_day_from(count=0, oldest=None, now=NOW) == 0


def test_quiet_polls_stretch_the_interval_up_to_the_maximum(settings):
    settings.NEWSDESK_POLL_MAX_SECONDS = 1000
    assert schedule.interval_when_quiet(current=600) == 660
    assert schedule.interval_when_quiet(current=990) == 1000


def test_server_floors_raise_the_delay_and_jitter_never_lowers_it():
    rng = random.Random(1)
    delays = [schedule.with_jitter(seconds=1000, rng=rng) for _ in range(200)]
    assert min(delays) >= 1000 and max(delays) <= 1100
    assert len(set(delays)) > 50, "jitter must spread sources"
    assert schedule.next_poll_delay(interval=300, floors=(7200, None), cap=86400) >= 7200
    assert schedule.next_poll_delay(interval=300, floors=(None, 60), cap=86400) >= 300
    # A silly max-age cannot park a feed beyond the cap.
    assert schedule.next_poll_delay(interval=300, floors=(10**9,), cap=86400) <= 86400


def test_error_backoff_doubles_and_is_capped(settings):
    settings.NEWSDESK_POLL_MIN_SECONDS = 300
    settings.NEWSDESK_ERROR_BACKOFF_MAX_SECONDS = 3600
    assert [schedule.error_backoff(error_count=n, base=300) for n in (1, 2, 3, 4, 5, 50)] == [
        300,
        600,
        1200,
        2400,
        3600,
        3600,
    ]


def test_disable_only_after_the_configured_days_of_failing(settings):
    settings.NEWSDESK_DISABLE_AFTER_DAYS = 7
    assert not schedule.should_disable(first_error_at=None, now=NOW)
    assert not schedule.should_disable(first_error_at=NOW - timedelta(days=6, hours=23), now=NOW)
    assert schedule.should_disable(first_error_at=NOW - timedelta(days=7), now=NOW)


def test_header_parsing():
    """One reading of Cache-Control and Retry-After serves the fetcher, the scheduler and the translators."""
    assert max_age_seconds("public, max-age=600") == 600
    assert max_age_seconds("no-cache") is None
    assert max_age_seconds('s-maxage=900, max-age="300"') == 300  # ours is a private cache
    assert max_age_seconds("public, s-maxage=900") == 900
    assert retry_after_seconds("120", now=NOW) == 120
    assert retry_after_seconds("1.5", now=NOW) == 1.5
    assert retry_after_seconds("Mon, 09 Feb 2026 13:00:00 GMT", now=NOW) == 3600
    assert retry_after_seconds("Mon, 09 Feb 2026 13:00:00 -0000", now=NOW) == 3600  # no zone: UTC
    assert retry_after_seconds("Mon, 09 Feb 2026 11:00:00 GMT", now=NOW) == 0  # past: now
    assert retry_after_seconds("soon", now=NOW) is None
    assert retry_after_seconds("-5", now=NOW) is None
