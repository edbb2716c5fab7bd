from __future__ import annotations

import os
import time

import pytest

from tests.support.http import LoopbackServer
from tests.support.translator import fast_settings, provider_served


@pytest.fixture
def feed_server():
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def drop(settings, tmp_path):
    """A drop-folder source whose inbox exists (settle time 0); the folder is `drop.box`."""
    from pathlib import Path

    from newsdesk.models import Source, SourceKind

    settings.NEWSDESK_DROP_ROOT = tmp_path / "drops"
    settings.NEWSDESK_DROP_SETTLE_SECONDS = 0
    source = Source.objects.create(name="Wire inbox", kind=SourceKind.DROP, inbox="wire")
    source.box = Path(settings.NEWSDESK_DROP_ROOT) / "wire"
    source.box.mkdir(parents=True)
    return source


@pytest.fixture
def translator(settings):
    """A loopback Google-protocol translator, wired into settings."""
    with provider_served(settings, "google") as server:
        yield server


@pytest.fixture(autouse=True)
def _allow_loopback_fetch(settings):
    # Test feed servers live on loopback, which the SSRF guard refuses by default.
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture(scope="session", autouse=True)
def _light_language_models():
    """Low-accuracy lingua (0.5 s to load) unless the environment asks otherwise, as for the
    workers tests start (tests/support/worker.py). The shipped high-accuracy models read
    about 1 GB of n-grams (10 s of CPU): tests/test_language.py checks them, marked slow."""
    from django.conf import settings

    settings.NEWSDESK_LANGUAGE_ACCURACY = os.environ.get("NEWSDESK_LANGUAGE_ACCURACY", "low")


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """Django's testing advice: production's PBKDF2 costs most of a second per user created or logged in."""
    from django.conf import settings
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()


@pytest.fixture
def translation_state_clean():
    """No translation state in Redis (breakers, locks, rates, caps) before or after: Redis outlives each test's database."""
    from newsdesk.enrich.redisstate import redis_state_clear

    redis_state_clear()
    yield
    redis_state_clear()


@pytest.fixture
def fast_translation(settings, translation_state_clean):
    """Small deadlines, backoffs and lock margins so fault tests stay quick; translation state in Redis cleared."""
    fast_settings(settings)


@pytest.fixture
def fresh_counts(settings):
    """Saved views' "new" counts are cached in production; these tests check the counting itself."""
    settings.NEWSDESK_NEW_COUNT_CACHE_SECONDS = 0


@pytest.fixture
def fresh_web_cache():
    """The dashboard's cached lists and charts live in Redis, which outlives each test's database."""
    from django.core.cache import cache

    from newsdesk.web.stats import STATS_CACHE_KEYS
    from newsdesk.web.views import CATEGORIES_CACHE_KEY

    cache.delete_many([CATEGORIES_CACHE_KEY, *STATS_CACHE_KEYS])


@pytest.fixture
def cache_down(settings):
    """The cache on a loopback port nothing listens on (Redis unreachable)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }


_deselected = pytest.StashKey[int]()


def pytest_deselected(items):
    config = items[0].config if items else None
    if config is not None:
        config.stash[_deselected] = config.stash.get(_deselected, 0) + len(items)


def pytest_sessionfinish(session, exitstatus):
    """A marker expression that deselects every collected test (``-m "slow and django_db"`` on a
    tree without such tests) is a pass, not pytest's exit 5; collecting nothing at all still fails."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED and session.config.stash.get(_deselected, 0):
        session.exitstatus = pytest.ExitCode.OK


# --cpu-durations=N: the N tests that used the most CPU in this process (setup,
# call and teardown; threads included, subprocesses not). On a shared machine
# wall-clock durations mostly measure the other users.
_cpu = pytest.StashKey[dict]()


def pytest_addoption(parser):
    parser.addoption("--cpu-durations", type=int, default=None, metavar="N", help="show the N most CPU-costly tests")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.process_time()
    yield
    if item.config.getoption("--cpu-durations") is not None:
        item.config.stash.setdefault(_cpu, {})[item.nodeid] = time.process_time() - start


def pytest_terminal_summary(terminalreporter, config):
    count = config.getoption("--cpu-durations")
    if count is None:
        return
    spent = sorted(config.stash.get(_cpu, {}).items(), key=lambda kv: kv[1], reverse=True)
    terminalreporter.write_sep("=", f"most CPU per test (this process), total {sum(s for _, s in spent):.1f}s")
    for nodeid, seconds in spent[: count or None]:
        terminalreporter.write_line(f"{seconds:8.2f}s cpu  {nodeid}")
