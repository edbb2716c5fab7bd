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

Neither touches the database: nothing here opens a connection to be
inherited across the fork.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from pathlib import Path

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
