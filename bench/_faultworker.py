"""``celery`` with a fault injected into the feed parser library (benches only).

A feed whose bytes carry ``NEWSDESK-FAULT-CRASH`` makes the process that
parses it die at once (as a segfault or the OOM killer would); one carrying
``NEWSDESK-FAULT-RAISE`` makes the parser raise an unexpected exception (a
parser bug). The patch sits in the two feed readers themselves, ``feedparser.parse``
and Newsdesk's fast RSS reader (``newsdesk.ingest.fastfeed.fast_feed``, patched
before the parser module imports it), so the suite exercises whatever the
pipeline does around them, whichever reader a feed takes. Every
trigger is appended to ``$NEWSDESK_FAULT_LOG`` so the suite can prove the
fault really fired.
"""

from __future__ import annotations

import os
import sys

import feedparser

from bench._faultlib import CRASH_MARKER, RAISE_MARKER
from newsdesk.ingest import fastfeed

_real_parse = feedparser.parse
_real_fast_feed = fastfeed.fast_feed


def _note(what: str) -> None:
    path = os.environ.get("NEWSDESK_FAULT_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(f"{what} pid={os.getpid()}\n")


def _head(data: object) -> bytes:
    if isinstance(data, bytes | bytearray):
        return bytes(data[:4096])
    getvalue = getattr(data, "getvalue", None)  # io.BytesIO
    if callable(getvalue):
        value = getvalue()
        return value[:4096] if isinstance(value, bytes) else b""
    return b""


def _fault(data: object) -> None:
    head = _head(data)
    if CRASH_MARKER in head:
        _note("crash")
        os._exit(137)
    if RAISE_MARKER in head:
        _note("raise")
        raise ValueError("injected parser failure")


def _parse(data, *args, **kwargs):
    _fault(data)
    return _real_parse(data, *args, **kwargs)


def _fast_feed(*, body, headers):
    _fault(body)
    return _real_fast_feed(body=body, headers=headers)


feedparser.parse = _parse
fastfeed.fast_feed = _fast_feed

if __name__ == "__main__":
    from celery.__main__ import main

    sys.argv[0] = "celery"
    sys.exit(main())
