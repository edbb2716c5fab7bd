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
from newsdesk.ops.prefork import (
    ForkedCallError,
    _read_only_file_mappings,
    file_pages_release,
    forked_call,
    in_pool_child,
    malloc_trim,
    web_warm,
)

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


def _mapped_kb(path: Path, field: str) -> int:
    """``field`` (Rss, Anonymous...) summed over this process's mappings of ``path``."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and ":" not in head[0]:
            inside = len(head) > 5 and head[5] == str(path)
        elif inside and line.startswith(field + ":"):
            total += int(head[1])
    return total


def test_file_pages_release_unmaps_read_only_file_pages_which_read_back_the_same(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    import mmap

    data = os.urandom(4 * 2**20)
    models, copy = tmp_path / "models.bin", tmp_path / "copy.bin"
    models.write_bytes(data)
    copy.write_bytes(data)
    with models.open("rb") as ro_file, copy.open("r+b") as rw_file:
        read_only = mmap.mmap(ro_file.fileno(), 0, prot=mmap.PROT_READ)
        # A private copy this process wrote to: its pages hold what the file does not.
        written = mmap.mmap(rw_file.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
        written[: 2**20] = b"\x01" * 2**20
        assert bytes(read_only) == data and bytes(written[2**20 :]) == data[2**20 :]  # every page resident
        assert _mapped_kb(models, "Rss") >= 4096
        copy_rss = _mapped_kb(copy, "Rss")
        assert copy_rss >= 4096

        assert file_pages_release(min_kb=1024) >= 4096
        assert _mapped_kb(models, "Rss") == 0
        assert _mapped_kb(copy, "Rss") == copy_rss
        # Read again: the same bytes, from the page cache; the written copy kept what was written.
        assert bytes(read_only) == data
        assert bytes(written[: 2**20]) == b"\x01" * 2**20 and bytes(written[2**20 :]) == data[2**20 :]
        read_only.close()
        written.close()


def test_read_only_file_mappings_skips_writable_anonymous_and_copied_on_write_mappings():
    smaps = """\
7f0000000000-7f0000100000 r--p 00000000 fe:00 11   /lib/models.so
Rss:                1024 kB
Anonymous:             0 kB
7f0000100000-7f0000101000 r--p 00100000 fe:00 11   /lib/models.so
Rss:                   4 kB
Anonymous:             4 kB
7f0000101000-7f0000102000 rw-p 00101000 fe:00 11   /lib/models.so
Rss:                   4 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Rss:                1024 kB
Anonymous:          1024 kB
7f0000300000-7f0000400000 r-xp 00000000 fe:00 12   /lib/code.so
Rss:                 512 kB
Anonymous:             0 kB
7f0000400000-7f0000500000 r--p 00000000 fe:00 13   /lib/cold.so
Rss:                   0 kB
Anonymous:             0 kB
7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   4 kB
Anonymous:             0 kB
"""
    assert _read_only_file_mappings(smaps) == [
        (0x7F0000000000, 0x100000, 1024),
        (0x7F0000300000, 0x100000, 512),
    ]


def test_gunicorn_runs_cores_plus_one_threaded_workers_unless_told(monkeypatch):
    monkeypatch.delenv("GUNICORN_WORKERS", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    conf = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))
    assert conf["workers"] == multiprocessing.cpu_count() + 1
    assert conf["threads"] == 2
    assert conf["preload_app"] is True and callable(conf["when_ready"])
    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    assert runpy.run_path(str(ROOT / "config" / "gunicorn.py"))["workers"] == 7


def _allocate_and_report(mb: int) -> tuple[int, int]:
    block = bytearray(os.urandom(1024)) * (mb * 1024)  # written: resident in the forked process only
    return os.getpid(), len(block)


def _fail() -> None:
    raise ValueError("no window today")


def _rss_kb() -> int:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc: Linux")
def test_forked_call_returns_the_job_s_result_and_keeps_none_of_its_memory():
    before = _rss_kb()
    pid, size = forked_call(_allocate_and_report, 64)
    assert pid != os.getpid() and size == 64 * 2**20
    assert _rss_kb() - before < 16 * 1024  # the 64 MB lived and died in the forked process
    with pytest.raises(ForkedCallError, match="ValueError: no window today"):
        forked_call(_fail)


@pytest.mark.django_db(transaction=True)
def test_forked_call_uses_connections_of_its_own_and_the_caller_s_reopen():
    from django.utils import timezone

    from newsdesk.models import Heartbeat

    Heartbeat.objects.create(name="forked-call", at=timezone.now())
    count = forked_call(lambda: Heartbeat.objects.filter(name="forked-call").count())
    assert count == 1  # the forked process read the committed row through its own connection
    assert Heartbeat.objects.filter(name="forked-call").count() == 1  # and this one still works


@pytest.mark.django_db
def test_forked_call_refuses_to_run_inside_a_transaction():
    with pytest.raises(RuntimeError, match="inside a transaction"):
        forked_call(os.getpid)


def test_only_a_pool_child_forks_the_pass(monkeypatch):
    from newsdesk.ops import memory

    monkeypatch.setattr(memory, "_master_pid", 0)
    assert not in_pool_child()  # no worker (tests, eager tasks)
    monkeypatch.setattr(memory, "_master_pid", os.getpid())
    assert not in_pool_child()  # the master itself, or a solo pool
    monkeypatch.setattr(memory, "_master_pid", os.getpid() + 1)
    assert in_pool_child()
