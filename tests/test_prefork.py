"""What the pre-forking masters build once, and what beat does not load (newsdesk/ops/prefork.py, config/)."""

from __future__ import annotations

import json
import multiprocessing
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connections
from django.template import engines

from config.celery import _beat_only
from newsdesk.ops.prefork import malloc_trim, web_warm

ROOT = Path(__file__).resolve().parents[1]
# What only the worker needs: beat must not import any of it.
WORKER_ONLY = ("newsdesk.tasks", "lingua", "feedparser", "deep_translator", "numpy", "newsdesk.enrich.providers")


def test_beat_is_told_apart_from_the_other_commands():
    assert _beat_only(["celery", "-A", "config", "beat", "--loglevel=INFO"])
    assert _beat_only(["celery", "--app=config", "beat", "-s", "var/schedule"])
    assert not _beat_only(["celery", "-A", "config", "worker", "--concurrency=2"])
    # An embedded beat runs tasks: it is a worker.
    assert not _beat_only(["celery", "-A", "config", "worker", "-B"])
    assert not _beat_only(["manage.py", "shell"])
    assert not _beat_only(["pytest"])


def _imported_after_loader_init(command: str) -> dict[str, bool]:
    """Start the Celery app as ``celery -A config <command>`` does and run the loader's
    start-up (what beat's init_loader runs: django.setup, checks, task autodiscovery);
    report which worker-only modules ended up imported."""
    code = f"""
import json, sys
sys.argv = ["celery", "-A", "config", {command!r}]
from config.celery import app
app.loader.init_worker()
print(json.dumps({{m: m in sys.modules for m in {list(WORKER_ONLY)!r}}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "CELERY_SKIP_CHECKS"}
    env.setdefault("DEBUG", "true")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_beat_imports_none_of_what_only_the_worker_needs():
    beat = _imported_after_loader_init("beat")
    assert not any(beat.values()), f"beat imported {[m for m, v in beat.items() if v]}"
    # The same start-up as a worker imports the tasks and their dependencies:
    # the check above can tell the difference.
    worker = _imported_after_loader_init("worker")
    assert worker["newsdesk.tasks"] and worker["lingua"] and worker["feedparser"]


def test_web_warm_builds_the_url_resolver_and_the_templates_without_the_database():
    from django.urls import clear_url_caches, get_resolver

    clear_url_caches()
    built = web_warm()
    assert built["url_patterns"] > 50
    assert built["templates"] > 20
    resolver = get_resolver()
    assert resolver._populated
    cached = engines["django"].engine.template_loaders[0].get_template_cache
    assert "base.html" in cached and "newsdesk/dashboard.html" in cached
    # No connection is opened in the master: a forked worker would inherit it.
    assert all(c.connection is None for c in connections.all())


def test_malloc_trim_gives_freed_heap_back_on_glibc():
    if not (sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION")):
        pytest.skip("glibc only")
    import resource

    def rss_kb() -> int:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() // 1024

    # 80 MB of blocks above pymalloc's size, most freed out of order: glibc keeps their pages until trimmed.
    blocks = [bytearray(4000) for _ in range(20_000)]
    keep = blocks[::97]
    del blocks
    before = rss_kb()
    assert malloc_trim() is True
    assert rss_kb() < before
    del keep


def test_gunicorn_runs_cores_plus_one_threaded_workers_unless_told(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    assert conf["workers"] == multiprocessing.cpu_count() + 1
    assert conf["threads"] == 2
    assert conf["preload_app"] is True and callable(conf["when_ready"])
    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    assert runpy.run_path(str(ROOT / "config" / "gunicorn.py"))["workers"] == 7
