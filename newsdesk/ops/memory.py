"""The worker's memory guard: replace a child that grew, never one that started big.

Celery's ``worker_max_memory_per_child`` compares a child's peak RSS with a
fixed size. A child forked from a master that preloaded the language models
starts at that size (about 1 GB with high accuracy), so a fixed limit near it
replaced a child after nearly every task, silently, and enrichment fell to a
few articles a second.

The guard keeps Celery's mechanism (billiard checks after each task, once the
result is reported, so no task is lost or run twice) but sets its limit when
the worker starts: the master's RSS once every preload is done, plus
``NEWSDESK_WORKER_MAX_GROWTH_KB``. Children are forked from that master and
start at its size, so the limit measures what a child added. A replaced
child logs ``event=worker_recycled`` as it exits and counts itself in Redis
(``newsdesk_worker_recycles`` in /metrics).

Preloads (the language detector, a semantic encoder) register with
:func:`worker_preload_register`; the guard runs them before it measures, so
the baseline includes them whatever order the modules were imported in.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from celery.signals import task_postrun, worker_init, worker_process_shutdown

log = logging.getLogger("newsdesk.ops")

RECYCLES_KEY = "newsdesk:metrics:worker_recycles"

_preloads: list[Callable[[], None]] = []
# Set in the master at worker_init; children inherit them through fork.
_baseline_kb = 0
_limit_kb = 0
_master_pid = 0
# A child gives its freed heap pages back at most this often (a trim costs 3-4 ms).
TRIM_EVERY_SECONDS = 1.0
_last_trim = 0.0


def worker_preload_register(func: Callable[[], None]) -> Callable[[], None]:
    """Run ``func`` in the worker master before the pool forks (shared pages, measured baseline)."""
    if func not in _preloads:
        _preloads.append(func)
    return func


def rss_kb() -> int:
    """This process's resident set size now, in kB (0 where /proc cannot say)."""
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kb() -> int:
    """The peak RSS billiard compares with the limit (``ru_maxrss``)."""
    from billiard.compat import mem_rss

    return int(mem_rss())


def guard_limit_kb(*, baseline_kb: int, growth_kb: int) -> int | None:
    """The per-child limit Celery enforces: the started size plus the allowed growth (None: off)."""
    if growth_kb <= 0:
        return None
    return baseline_kb + growth_kb


@worker_init.connect
def _guard_start(sender: Any = None, **_: Any) -> None:
    from django.conf import settings

    from .prefork import file_pages_release, malloc_trim

    global _baseline_kb, _limit_kb, _master_pid
    _master_pid = os.getpid()
    for preload in list(_preloads):
        preload()
    # Everything the master built (Django, the app, the models' Python side)
    # lives as long as the children do: out of the collector's reach, a
    # child's collections never write to those objects' pages, which stay
    # shared with the master instead of being copied into every child.
    gc.collect()
    # The models' build freed its decompression buffers; give those pages
    # back before the children inherit them (about 40-90 MB).
    malloc_trim()
    # The file pages the models were built from (lingua's compressed models in
    # its extension module, 57 MB): no child reads them again; unmapped, they
    # stay in the page cache (newsdesk/ops/prefork.py).
    released_kb = file_pages_release()
    gc.freeze()
    # The size now, after the trim: the children start at it (their peak RSS
    # starts at their size at the fork, not at the master's earlier peak).
    _baseline_kb = rss_kb() or peak_rss_kb()
    limit = guard_limit_kb(baseline_kb=_baseline_kb, growth_kb=settings.NEWSDESK_WORKER_MAX_GROWTH_KB)
    _limit_kb = limit or 0
    if sender is not None:
        sender.max_memory_per_child = limit
    log.info(
        "event=memory_guard baseline_kb=%d growth_kb=%d limit_kb=%s file_pages_released_kb=%d",
        _baseline_kb,
        settings.NEWSDESK_WORKER_MAX_GROWTH_KB,
        limit or "off",
        released_kb,
    )


@task_postrun.connect
def _child_trim(**_: Any) -> None:
    """After a task, in a pool child: give back the heap pages its batch freed.

    Freed memory stays in the child's malloc arenas otherwise, counted against
    it (and against the memory guard) until something reuses it; a batch's
    rows, texts and vectors are freed when the task ends.
    """
    global _last_trim
    if not _master_pid or os.getpid() == _master_pid:
        return  # not a prefork child (solo pool, eager tasks, tests)
    now = time.monotonic()
    if now - _last_trim < TRIM_EVERY_SECONDS:
        return
    _last_trim = now
    from .prefork import malloc_trim

    malloc_trim()


def recycle_record(*, pid: int, peak_kb: int) -> None:
    """Log one recycle and count it in Redis; Redis trouble is logged, never raised."""
    log.warning(
        "event=worker_recycled reason=memory pid=%s peak_kb=%d baseline_kb=%d growth_kb=%d limit_kb=%d",
        pid,
        peak_kb,
        _baseline_kb,
        peak_kb - _baseline_kb,
        _limit_kb,
    )
    try:
        from .celery_hooks import _client

        _client().incr(RECYCLES_KEY)
    except Exception as exc:  # redis errors of every kind; an exiting child must not hang on them
        log.warning("event=metrics_write_failed error=%s", type(exc).__name__)


def recycles_count(client: Any) -> int:
    value = client.get(RECYCLES_KEY)
    return int(value or 0)


@worker_process_shutdown.connect
def _child_exit(pid: int | None = None, exitcode: int | None = None, **_: Any) -> None:
    from billiard.pool import EX_RECYCLE

    if exitcode != EX_RECYCLE or not _limit_kb:
        return
    peak = peak_rss_kb()
    if peak > _limit_kb:  # not a max-tasks-per-child recycle
        recycle_record(pid=pid or os.getpid(), peak_kb=peak)
