"""Adversarial repetitions and a growth check for every text path (issue #16).

Each text path is timed on a pattern repeated n and 8n times, best of three.
Linear code takes about 8x as long on the larger input, quadratic code 64x;
3x the linear ratio tells them apart on a noisy machine. Times are CPU time
of this process (other work on the machine does not count), and "the linear
ratio" is the larger of 8 and what plain linear passes over the same two
inputs (encode, decode, split lines) measure: past the CPU caches even a
copy costs more per character, and that is not the code's fault.
tests/test_linear_time.py asserts it for every path and pattern;
bench/fuzz.py --target timing sweeps many sizes and prints the figures.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FACTOR = 8
# n grows until the small input takes this long, so timer noise does not decide.
MIN_SECONDS = 0.0005
MAX_UNITS = 200_000

# What an attacker repeats: unclosed tags and comments, character references,
# CDATA openers, nested quotes, runs without spaces, combining marks.
PATTERNS: dict[str, str] = {
    "unclosed_tag": "<x",
    "unclosed_script": "<script",
    "unclosed_comment": "<!--",
    "comment_opener_text": "<!--x",
    "cdata_opener": "<![CDATA[",
    "charref": "&#",
    "escaped_script": "&lt;script",
    "nested_quotes": "\"'«“‘(",
    "no_spaces": "a",
    "combining_marks": "e\u0301\u0302",
    "spaces": " ",
    "newlines": "\n",
    "sentence_ends": ".)",
    "lone_lt": "< ",
}

_REFERENCE = datetime(2026, 12, 6, tzinfo=UTC)


def _quietly(call: Callable[[], object]) -> None:
    """Run ``call``; the module's own clear refusal is a valid outcome here."""
    from newsdesk.drops.errors import DropRejected
    from newsdesk.ingest.parse import FeedRejected

    with contextlib.suppress(DropRejected, FeedRejected):
        call()


def _feed(text: str) -> bytes:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        f"<title>{escaped}</title><description>{escaped}</description>"
        "<link>http://127.0.0.1/a</link></item></channel></rss>"
    ).encode("utf-8", "surrogatepass")


def _encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class TextPath:
    """``prepare`` builds the path's input from the hostile text (not timed); ``run`` takes it."""

    prepare: Callable[[str], Any]
    run: Callable[[Any], object]


def text_paths() -> dict[str, TextPath]:
    """Every text path of issue #16 item 1, each fed one hostile string."""
    from newsdesk.coverage.text import text_features
    from newsdesk.drops.formats import drop_parse
    from newsdesk.enrich.chunking import text_chunks
    from newsdesk.enrich.language import detect_language
    from newsdesk.ingest.parse import parse_feed
    from newsdesk.ingest.sanitize import html_clean, html_to_text, plain_text
    from newsdesk.web.search import search_parse

    def same(text: str) -> str:
        return text

    def drop(name: str) -> Callable[[bytes], object]:
        return lambda data: _quietly(lambda: drop_parse(data=data, name=name, mtime=_REFERENCE))

    def url_size(text: str) -> int:
        return len(text.encode("utf-8", "surrogatepass"))

    return {
        "html_to_text": TextPath(same, html_to_text),
        "html_clean": TextPath(same, html_clean),
        "plain_text": TextPath(same, plain_text),
        "parse_feed": TextPath(
            _feed, lambda body: _quietly(lambda: parse_feed(body=body, base_url="http://127.0.0.1/"))
        ),
        "drop_card": TextPath(
            lambda s: _encoded(f"Feb 9 • 11:00 UTC 🇲🇽 Mexico {s} (ES)\n{s}\n\n{s}"), drop("a.card.txt")
        ),
        "drop_card_header": TextPath(lambda s: _encoded(f"Feb 9 • 11:00 UTC x{s}\ntitle\n\nbody"), drop("b.card.txt")),
        "drop_text": TextPath(lambda s: _encoded(f"{s}\n\n{s}"), drop("a.txt")),
        "drop_markdown": TextPath(lambda s: _encoded(f"# {s}\n\n{s}"), drop("a.md")),
        "drop_json": TextPath(lambda s: _encoded(json.dumps({"title": s, "body": s, "summary": s})), drop("a.json")),
        "drop_ndjson": TextPath(
            lambda s: _encoded(json.dumps({"title": s}) + "\n" + json.dumps({"title": s})), drop("a.ndjson")
        ),
        "language": TextPath(same, lambda s: detect_language(text=s)),
        "chunks": TextPath(same, lambda s: text_chunks(text=s, limit=500)),
        "chunks_url_size": TextPath(same, lambda s: text_chunks(text=s, limit=500, size=url_size)),
        "search_query": TextPath(same, lambda s: search_parse(text=s)),
        "coverage_text": TextPath(same, lambda s: text_features(title=s, body=s, body_chars=len(s))),
    }


def best_of(call: Callable[[Any], object], value: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        call(value)
        best = min(best, time.process_time() - start)
    return best


def _linear_passes(value: str | bytes) -> object:
    """Plain linear passes over an input: decode or encode, strip, split lines."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogatepass").strip().splitlines()
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass").strip().splitlines()


@dataclass(frozen=True)
class Growth:
    units: int
    small: float  # CPU seconds for unit * units
    large: float  # CPU seconds for unit * (units * FACTOR)
    baseline: float  # the same ratio for plain linear passes over both inputs

    @property
    def ratio(self) -> float:
        return self.large / max(self.small, 1e-9)

    @property
    def limit(self) -> float:
        return 3 * max(FACTOR, self.baseline)

    def __str__(self) -> str:
        return (
            f"x{self.units}: {self.small * 1000:.2f} ms, x{self.units * FACTOR}: {self.large * 1000:.2f} ms, "
            f"ratio {self.ratio:.1f} (limit {self.limit:.0f}; linear passes {self.baseline:.1f})"
        )


def growth(path: TextPath, unit: str, *, units: int = 256) -> Growth:
    """Time ``path`` on unit*n and unit*(8n), n grown until unit*n takes MIN_SECONDS."""
    small_input = path.prepare(unit * units)
    small = best_of(path.run, small_input)
    while small < MIN_SECONDS and units * FACTOR <= MAX_UNITS:
        units *= 2
        small_input = path.prepare(unit * units)
        small = best_of(path.run, small_input)
    large_input = path.prepare(unit * (units * FACTOR))
    large = best_of(path.run, large_input)
    baseline = best_of(_linear_passes, large_input) / max(best_of(_linear_passes, small_input), 1e-9)
    return Growth(units, small, large, baseline)


def growth_within_limit(path: TextPath, unit: str, *, attempts: int = 3) -> Growth:
    """The first of up to ``attempts`` measurements within its limit, else the lowest ratio.

    A burst of other work on the machine can slow one large run; it does not
    slow three in a row, while a quadratic path fails every time.
    """
    best = growth(path, unit)
    for _ in range(attempts - 1):
        if best.ratio <= best.limit:
            break
        again = growth(path, unit)
        best = min(best, again, key=lambda g: g.ratio / g.limit)
    return best
