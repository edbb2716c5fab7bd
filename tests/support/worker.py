"""A real Celery worker process for end-to-end tests (no eager mode).

The worker runs ``celery -A config worker`` in a subprocess against the same
Redis and the same test database as the test process.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connection

from newsdesk.embedded_redis import process_stop
from newsdesk.testing.workers import celery_worker_command

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """DATABASE_URL of the database the test run is using right now."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


@contextmanager
def celery_worker(
    extra_env: dict[str, str] | None = None, concurrency: int = 1, include: str = "", purge: bool = True
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker on every queue; ``include`` names extra task modules it imports (``--include``).
    The queues are emptied first unless ``purge`` is false (the test queued its messages already)."""
    from config.celery import app

    if purge:
        app.control.purge()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "true",
            "NEWSDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
            "NEWSDESK_TRANSLATORS": ",".join(settings.NEWSDESK_TRANSLATORS),
            "NEWSDESK_GOOGLE_TRANSLATE_URL": settings.NEWSDESK_GOOGLE_TRANSLATE_URL,
            "NEWSDESK_LIBRETRANSLATE_URL": settings.NEWSDESK_LIBRETRANSLATE_URL,
            "NEWSDESK_DROP_ROOT": str(settings.NEWSDESK_DROP_ROOT),
            # High-accuracy lingua costs ~1 GB and 15-30 s per worker start; the
            # detector itself is tested in-process (tests/test_language.py), so
            # workers started by tests use the light models unless a test says otherwise.
            "NEWSDESK_LANGUAGE_ACCURACY": os.environ.get("NEWSDESK_LANGUAGE_ACCURACY", "low"),
            **(extra_env or {}),
        }
    )
    log = open(ROOT / "var" / f"test-worker-{os.getpid()}.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        celery_worker_command(
            name=f"test-{os.getpid()}@%h",
            concurrency=concurrency,
            extra=[f"--include={include}"] if include else [],
        ),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        process_stop(proc, timeout=20)
        log.close()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
