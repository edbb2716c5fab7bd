"""Every text path is linear in its input (issue #16 item 1).

Each path gets each adversarial repetition at n and 8n units, best of three;
quadratic code takes ~64x longer on the larger input, linear code ~8x, and
the test fails only above 3x the linear ratio (newsdesk/testing/linear.py)
so a busy machine does not make it flaky.
Where a path cuts its input before any costly step, a test checks the cut
without a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsdesk.drops.card import MAX_HEADER_CHARS
from newsdesk.drops.errors import DropRejected
from newsdesk.drops.formats import drop_parse
from newsdesk.enrich.chunking import text_chunks
from newsdesk.ingest import sanitize
from newsdesk.testing.linear import PATTERNS, growth_within_limit, text_paths
from newsdesk.web.search import MAX_QUERY_LENGTH, search_parse

PATHS = text_paths()


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
@pytest.mark.parametrize("path", sorted(PATHS))
def test_text_path_grows_linearly(path, pattern):
    measured = growth_within_limit(PATHS[path], PATTERNS[pattern])
    assert measured.ratio <= measured.limit, f"{path} on {pattern!r} {measured}"


def test_html_to_text_reads_at_most_its_input_cap():
    tail = "<b>never read</b>"
    value = "a" * sanitize.HTML_TO_TEXT_MAX_INPUT + tail
    assert "never" not in sanitize.html_to_text(value)


def test_html_to_text_still_drops_blocks_and_tags():
    value = "a<script>x</SCRIPT >b<!-- c -->d<style\n>e</style>f <x <!--g <i>h</i> 5 < 6 > 4 &amp;"
    assert sanitize.html_to_text(value) == "a b d f h 5 < 6 > 4 &"
    # An opener without its closer is a tag like any other; text after it stays.
    assert sanitize.html_to_text("<script>a<b>c") == "a c"
    assert sanitize.html_to_text("x<!--y") == "x<!--y"


def test_card_header_longer_than_the_cap_is_refused_before_matching():
    header = "Feb 9 • 11:00 UTC " + "x" * MAX_HEADER_CHARS + " (ES)"
    with pytest.raises(DropRejected, match="header longer than"):
        drop_parse(data=f"{header}\nTitle\n\nBody".encode(), name="a.card.txt", mtime=datetime(2026, 12, 6, tzinfo=UTC))


def test_search_query_is_cut_before_parsing():
    query = search_parse(text="a" * MAX_QUERY_LENGTH + " tail")
    assert query.words == ("a" * MAX_QUERY_LENGTH,)


def test_chunks_of_a_long_token_need_no_recursion():
    # 200,000 characters without a space cut at 10 each: 20,000 cuts, far
    # past Python's recursion limit when each cut recursed.
    chunks = text_chunks(text="x" * 200_000, limit=10)
    assert len(chunks) == 20_000
    assert "".join(c.text + c.after for c in chunks) == "x" * 200_000
