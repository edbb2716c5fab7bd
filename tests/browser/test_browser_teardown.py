"""A browser session leaves no test database behind on PostgreSQL.

Chromium keeps its connections to the live server open between requests, and
each one's request thread keeps its database connection; the slow suite's
``DROP DATABASE`` at the end of the session used to find that session still
open and leave ``test_<name>`` (CI's ``test_test``) behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from tests.browser.conftest import CHROMIUM

ROOT = Path(__file__).resolve().parents[2]
# One browser test that requests pages over a kept-alive connection (the one that left it behind).
NESTED = "tests/browser/test_accounts_browser.py::test_sign_in_save_a_view_and_open_its_feed"


def _exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def _drop(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_browser_session_drops_its_test_database_when_it_ends():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database is a file pytest-django removes; the leftover was PostgreSQL's")
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium at /usr/bin/chromium: apt-get install -y chromium")
    parts = urlsplit(settings.DATABASE_URL)
    name = f"{parts.path.lstrip('/')}_browserdrop"  # the nested run's own database (test_ + this)
    nested = f"test_{name}"
    env = {**os.environ, "DATABASE_URL": urlunsplit(parts._replace(path=f"/{name}"))}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", NESTED],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "1 passed" in done.stdout, done.stdout[-3000:]
        assert "Error when trying to teardown test databases" not in done.stdout + done.stderr
        assert not _exists(nested), f"the nested session left {nested} behind"
    finally:
        _drop(nested)
