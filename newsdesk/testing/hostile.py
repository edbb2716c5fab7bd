"""Hypothesis strategies and contracts for issue #16's hostile classes, shared by
tests and bench/fuzz.py: drop file names through a real inbox scan, the search
syntax, and the dashboard's filter parameters (on the page and its feeds).

The targets that read or write the database use whichever one Django is set
up with: the test database in tests, a throwaway SQLite file in bench/fuzz.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from hypothesis import strategies as st

# --- Drop file names ------------------------------------------------------------

# Bytes that broke or fooled the scan before: not UTF-8, newlines that forge a
# note line, terminal escapes, bidi overrides, skipped suffixes, long names.
_NAME_PIECES = st.sampled_from(
    [
        b"\xff",
        b"\xc3(",
        b"\xed\xa0\x80",  # an encoded surrogate
        b"\n",
        b"\r",
        b"\nreason: forged",
        b"\x1b[31m",
        b"\t",
        b" ",
        b"\xe2\x80\xae",  # RIGHT-TO-LEFT OVERRIDE
        "é".encode(),
        "油".encode(),
        b"..",
        b"~",
        b".tmp",
        b".json",
        b".card.txt",
        b".md",
        b"%s%n",
        b"a" * 120,
    ]
)


@st.composite
def drop_names(draw) -> bytes:
    """A file name as bytes: never empty, no '/', no NUL, at most 255 bytes, not '.' or '..'."""
    parts = draw(st.lists(_NAME_PIECES | st.binary(min_size=1, max_size=8), min_size=1, max_size=5))
    name = b"".join(parts).replace(b"/", b"_").replace(b"\x00", b"_")[:250]
    if name in (b"", b".", b".."):
        name = b"x" + name
    return name


@st.composite
def drop_inboxes(draw) -> list[tuple[bytes, bytes]]:
    """A few files (name, content) dropped together into one inbox."""
    names = draw(st.lists(drop_names(), min_size=1, max_size=6, unique=True))
    bodies = st.sampled_from([b"A title\n\nA body.\n", b'{"title": "T", "body": "B"}', b"", b"\xff\xfe\x00x", b"x"])
    return [(name, draw(bodies)) for name in names]


_NOTE_KEYS = ("file: ", "failed_at: ", "reason: ", "where: ", "inbox: ", "The file is kept")


def names_target(files: list[tuple[bytes, bytes]]) -> None:
    """Drop the files into a fresh inbox and scan it for real: no exception, and
    every file not skipped by name ends in done/ or failed/; every failed one
    has a note whose every line is one of its keys (no forged line)."""
    from django.conf import settings

    from newsdesk.drops.inbox import name_skipped
    from newsdesk.drops.scan import drop_source_scan
    from newsdesk.models import Source, SourceKind

    root = Path(tempfile.mkdtemp(prefix="fuzz-drops-"))
    old_root, old_settle = settings.NEWSDESK_DROP_ROOT, settings.NEWSDESK_DROP_SETTLE_SECONDS
    settings.NEWSDESK_DROP_ROOT, settings.NEWSDESK_DROP_SETTLE_SECONDS = root, 0
    source = Source.objects.create(name="fuzz inbox", kind=SourceKind.DROP, inbox="box")
    try:
        box = os.path.join(os.fsencode(root), b"box")
        os.makedirs(box)
        for name, data in files:
            with open(os.path.join(box, name), "wb") as handle:
                handle.write(data)
        drop_source_scan(source=source)
        left = [n for n in os.listdir(box) if n not in (b"processing", b"done", b"failed")]
        assert all(name_skipped(os.fsdecode(n)) for n in left), left
        failed = os.path.join(box, b"failed")
        for note in (n for n in os.listdir(failed) if n.endswith(b".error.txt")):
            with open(os.path.join(failed, note), encoding="utf-8") as handle:
                for line in handle.read().splitlines():
                    assert line.startswith(_NOTE_KEYS), line
    finally:
        settings.NEWSDESK_DROP_ROOT, settings.NEWSDESK_DROP_SETTLE_SECONDS = old_root, old_settle
        source.delete()
        shutil.rmtree(root, ignore_errors=True)


# --- Search syntax --------------------------------------------------------------

_SEARCH_PIECES = st.sampled_from(
    ['"', "-", ":", "source:", "lang:", "country:", '-"', '"a b', "http://x", "*", "(", ")", "AND", "OR", "NEAR",
     "^", "'", "\\", "%", "_", " ", "\u3000", "é", "油", "\u0301", "\x00", "\x1f", "\ufffe", "a" * 40, "NOT"]
)  # fmt: skip


@st.composite
def search_queries(draw) -> str:
    parts = draw(st.lists(_SEARCH_PIECES | st.text(max_size=10), max_size=30))
    text = "".join(parts)
    return text * draw(st.sampled_from([1, 1, 1, 20, 200]))  # now and then far over the box's cap


def search_target(text: str) -> None:
    """Parsing never raises, and the database never sees the text as syntax (the query runs)."""
    from django.http import QueryDict

    from newsdesk.web.filters import ArticleFilter
    from newsdesk.web.search import MAX_QUERY_LENGTH, MAX_TERMS, search_parse

    query = search_parse(text=text)
    assert len(query.words) + len(query.phrases) + len(query.excluded) <= MAX_TERMS
    flt = ArticleFilter.from_query(QueryDict(urlencode({"q": text})))
    assert len(flt.q) <= MAX_QUERY_LENGTH
    list(flt.queryset()[:5])


# --- Filter parameters ------------------------------------------------------------

_VALUES = st.sampled_from(
    ["9999-12-31", "0001-01-01", "0000-00-00", "2026-02-30", "99999-01-01", "2026-12-06", "-1", "0", "1",
     "999999999999", "9" * 40, "1e309", "NaN", "MX", "Mexico", "mx", "xx", "es", "zzz", "done", "pending",
     "covered", "newest", "", " ", "\x00", "%00", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
     "1776000000.000000_5", "n_1_1.000000_1", "999999999999.999999_999999999999999999", "<script>", "' OR 1=1 --"]
)  # fmt: skip
_PARAMS = st.sampled_from(["from", "to", "country", "lang", "source", "category", "status", "coverage", "q", "sort",
                           "before", "format", "page"])  # fmt: skip


@st.composite
def filter_params(draw) -> list[tuple[str, str]]:
    return draw(st.lists(st.tuples(_PARAMS, _VALUES | st.text(max_size=12)), max_size=8))


_CLIENT = None


def filters_target(params: list[tuple[str, str]]) -> None:
    """The dashboard and its three feeds answer any parameters without a 500."""
    global _CLIENT
    from django.test import Client

    if _CLIENT is None:
        _CLIENT = Client(HTTP_HOST="localhost", raise_request_exception=True)
    query = urlencode(params)
    for path in ("/", "/feeds/rss/", "/feeds/atom/", "/feeds/json/"):
        response = _CLIENT.get(f"{path}?{query}")
        assert response.status_code < 500, (path, query, response.status_code)


def size_of(value: object) -> int:
    """How big a fuzz input is, to time it against: characters or bytes in it."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(size_of(v) for v in value)
    if isinstance(value, dict):
        return sum(size_of(k) + size_of(v) for k, v in value.items())
    return 1


# name: (strategy, contract, needs the database)
HOSTILE_TARGETS = {
    "names": (drop_inboxes(), names_target, True),
    "search": (search_queries(), search_target, True),
    "filters": (filter_params(), filters_target, True),
}
