"""The shared circuit breaker and rate limit (Redis), used across worker processes."""

from __future__ import annotations

import threading
import time

import pytest

from newsdesk.enrich.breaker import breaker_allow, breaker_failure, breaker_state, breaker_success
from newsdesk.enrich.ratelimit import RateLimited, rate_acquire


@pytest.fixture(autouse=True)
def clean(settings, fast_translation):
    settings.NEWSDESK_TRANSLATION_BREAKER_COOLDOWN = 0.3


def test_opens_after_threshold_then_one_probe_then_closes():
    assert not breaker_failure(provider="p", reason="500")
    assert not breaker_failure(provider="p", reason="500")
    assert breaker_failure(provider="p", reason="500")
    assert breaker_state(provider="p").state == "open"
    assert not breaker_allow(provider="p", probe_seconds=5)
    time.sleep(0.35)
    assert breaker_state(provider="p").state == "half_open"
    assert breaker_allow(provider="p", probe_seconds=5)  # the probe
    assert not breaker_allow(provider="p", probe_seconds=5)  # everybody else waits for it
    breaker_success(provider="p")
    assert breaker_state(provider="p").state == "closed"
    assert breaker_allow(provider="p", probe_seconds=5)


def test_failed_probe_reopens_with_doubled_cooldown():
    for _ in range(3):
        breaker_failure(provider="p", reason="500")
    time.sleep(0.35)
    assert breaker_allow(provider="p", probe_seconds=5)
    assert breaker_failure(provider="p", reason="still 500")
    state = breaker_state(provider="p")
    assert state.state == "open"
    assert 0.4 < state.open_seconds <= 0.6


def test_waiting_callers_proceed_when_the_probe_succeeds():
    for _ in range(3):
        breaker_failure(provider="p", reason="500")
    time.sleep(0.35)
    assert breaker_allow(provider="p", probe_seconds=5)
    threading.Timer(0.2, lambda: breaker_success(provider="p")).start()
    started = time.monotonic()
    assert breaker_allow(provider="p", probe_seconds=5, wait=2)
    assert 0.15 < time.monotonic() - started < 1.5


def test_retry_after_opens_at_once_for_that_long():
    assert breaker_failure(provider="p", reason="429", retry_after=2)
    assert 1.5 < breaker_state(provider="p").open_seconds <= 2


def test_breakers_are_per_provider():
    for _ in range(3):
        breaker_failure(provider="a", reason="500")
    assert breaker_state(provider="a").state == "open"
    assert breaker_state(provider="b").state == "closed"


def test_rate_limit_is_shared_between_threads_and_refuses_long_waits():
    waits: list[float] = []
    threads = [
        threading.Thread(target=lambda: waits.append(rate_acquire(provider="p", per_second=20, max_wait=5)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Five callers at 20/s get slots 0, 50, 100, 150, 200 ms apart.
    assert sorted(round(w, 2) for w in waits)[-1] >= 0.15
    with pytest.raises(RateLimited):
        for _ in range(50):
            rate_acquire(provider="q", per_second=1, max_wait=0.5)
