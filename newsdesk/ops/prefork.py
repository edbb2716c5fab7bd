"""What a pre-forking master builds once so that its children share it.

gunicorn (``preload_app``) and the Celery worker fork their children from a
master that has already imported the app. Whatever a child builds after the
fork is private to that child, and every page of the master's a child writes
to is copied into it (CPython writes reference counts on every object it
touches). Two things here keep those copies down:

- :func:`web_warm`: Django builds the URL resolver (and imports every view
  module through it) and compiles templates on the first request that needs
  them, i.e. once in every gunicorn worker. The master builds them once
  before forking instead: about 10-15 MB less in each worker
  (docs/benchmarks.md, "Memory of the production process set").
- :func:`malloc_trim`: lingua builds its models from compressed files and
  frees the scratch memory again; glibc keeps those free pages resident (and
  every forked child inherits them) until they are given back. A trim once
  the Celery master has built everything: its RSS 1,218 -> 1,140 MB
  (docs/benchmarks.md). Capping malloc arenas as well changed nothing
  measurable, so it is not done.
- :func:`file_pages_release`: lingua's extension module carries its models
  compressed in its read-only data (57 MB). The master reads all of it once
  while it builds the models, and those file pages stay mapped in it for
  good, though no child ever reads them again (a fork does not copy a file
  mapping's page table: a child maps only the pages it touches). Counted in
  the process set's PSS, they were its largest private part after the heap
  (docs/benchmarks.md, "issue #17, h21mem"). Unmapping them
  (``madvise(MADV_DONTNEED)`` on read-only file mappings that hold no
  modified page) leaves them in the page cache, where the kernel can reclaim
  them; a page that is read again is mapped again from there.

- :func:`forked_call`: a pool child runs a job whose working set is large
  and brief (the refinement pass: +70-80 MB over a 10,000-article window) in
  a process forked from it for the job. What the job allocated goes back to
  the system when that process exits; run in the child itself, about half of
  it stayed there after the job, even after a collection and a trim
  (pymalloc's arenas, pinned by the few objects that outlive it), until the
  child was replaced.

Neither :func:`web_warm` nor the trims touch the database: nothing there opens
a connection to be inherited across the fork.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("newsdesk.ops")


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    # musl and macOS have no malloc_trim: nothing to give back there.
    return libc if hasattr(libc, "malloc_trim") else None


def malloc_trim() -> bool:
    """Give free heap pages back to the system (glibc's ``malloc_trim(0)``); True if any were."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


_MADV_DONTNEED = 4  # Linux


def _read_only_file_mappings(smaps: str) -> list[tuple[int, int, int]]:
    """(start, length, resident kB) of each file mapping in ``smaps`` (``/proc/<pid>/smaps``'s text) that
    nothing can have written: not writable, and no anonymous (copied-on-write) page in it, so that
    dropping its pages loses nothing a re-read of the file would not give back."""
    out: list[tuple[int, int, int]] = []
    current: dict | None = None

    def close() -> None:
        written = current is None or "w" in current["perms"] or current.get("Anonymous", 1) != 0
        if not written and current["path"].startswith("/") and current.get("Rss", 0) > 0:
            out.append((current["start"], current["end"] - current["start"], current["Rss"]))

    for line in smaps.splitlines():
        head = line.split(maxsplit=5)
        if head and "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            close()
            start, end = (int(x, 16) for x in head[0].split("-"))
            path = head[5].strip() if len(head) > 5 else ""
            current = {"start": start, "end": end, "perms": head[1], "path": path}
        elif current is not None and line.endswith(" kB"):
            key, _, value = line.partition(":")
            current[key] = int(value.split()[0])
    close()
    return out


def file_pages_release(*, min_kb: int = 1024) -> int:
    """Unmap the resident pages of this process's read-only file mappings of ``min_kb`` or more
    (Linux); they stay in the page cache. Returns the kB unmapped (0 where this cannot be done)."""
    libc = _libc()
    try:
        smaps = Path("/proc/self/smaps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    if libc is None or not hasattr(libc, "madvise"):
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.madvise.restype = ctypes.c_int
    released = 0
    for start, length, rss in _read_only_file_mappings(smaps):
        if rss >= min_kb and libc.madvise(start, length, _MADV_DONTNEED) == 0:
            released += rss
    return released


_PR_SET_PDEATHSIG = 1  # Linux prctl


class ForkedCallError(RuntimeError):
    """The job raised in its forked process (the message carries its traceback) or the process died."""


def in_pool_child() -> bool:
    """Whether this process is a prefork pool child of the Celery worker (not its master, not solo, not eager)."""
    from . import memory

    return bool(memory._master_pid) and os.getpid() != memory._master_pid


def forked_call(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)`` run in a process forked from this one; its result comes back pickled.

    The forked process opens database connections of its own (this one's are
    closed first and reopen on their next use: a connection shared across a
    fork would interleave two processes' messages), dies with this process
    (Linux), and leaves through ``os._exit``, so nothing of this one's runs
    twice. An exception in it is raised here as :class:`ForkedCallError`.
    """
    from django.db import connections

    if any(c.in_atomic_block for c in connections.all(initialized_only=True)):
        raise RuntimeError("forked_call inside a transaction: the forked process could not see its writes")
    connections.close_all()
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the job's process
        code = 1
        try:
            os.close(read_fd)
            libc = _libc_any()
            if libc is not None:
                libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:  # the parent died before the line above
                os._exit(1)
            try:
                out: tuple = ("ok", func(*args, **kwargs))
            except BaseException as exc:  # everything goes back to the caller
                out = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view) :]
            code = 0
        finally:
            try:
                connections.close_all()
            finally:
                os._exit(code)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
    except BaseException:  # interrupted here (a time limit, a shutdown): the job goes with it
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    if not data:
        raise ForkedCallError(f"the forked process {pid} died without a result (wait status {status})")
    kind, value = pickle.loads(data)  # noqa: S301  (written by our own fork)
    if kind == "error":
        raise ForkedCallError(value)
    return value


def _libc_any() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "prctl") else None


def _template_names(root: Path) -> list[str]:
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and path.suffix in {".html", ".txt", ".xml"}
    )


def web_warm() -> dict[str, int]:
    """Build the URL resolver and compile every template, in the master; return what was built."""
    from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
    from django.template.utils import get_app_template_dirs
    from django.urls import get_resolver
    from django.urls.resolvers import URLResolver

    resolver = get_resolver()
    patterns = 0
    stack = [resolver]
    while stack:
        current = stack.pop()
        for entry in current.url_patterns:  # imports each urls module and, through it, the views
            entry.pattern.regex  # noqa: B018  (compiled once, cached on the pattern)
            patterns += 1
            if isinstance(entry, URLResolver):
                stack.append(entry)
    resolver._populate()  # the reverse() tables

    templates = 0
    for engine in engines.all():
        dirs = [Path(d) for d in getattr(engine, "dirs", [])]
        if getattr(engine, "app_dirs", False):
            dirs += [Path(d) for d in get_app_template_dirs("templates")]
        for root in dirs:
            if not root.is_dir():
                continue
            for name in _template_names(root):
                try:
                    engine.get_template(name)
                    templates += 1
                except (TemplateDoesNotExist, TemplateSyntaxError, UnicodeDecodeError):
                    continue  # not a Django template (a fragment of another engine, a text file)
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)  # loads the message catalogues once
    translation.deactivate()
    gc.collect()
    malloc_trim()
    log.info("event=web_warm url_patterns=%d templates=%d", patterns, templates)
    return {"url_patterns": patterns, "templates": templates}
