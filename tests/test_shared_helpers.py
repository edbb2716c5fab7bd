"""The small rules that used to be written two or three times, each now in one place."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from newsdesk.drops.text import text_lines_clean
from newsdesk.enrich.translate import translation_clean
from newsdesk.ingest.sanitize import text_clean
from newsdesk.ingest.urls import url_is_http
from newsdesk.languages import display_summary, display_title
from newsdesk.web.cards import time_label
from newsdesk.web.charts import ranked_bars, scaled, time_positions


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a", True),
        ("HTTP://EXAMPLE.ORG", True),
        ("  http://example.org  ", True),
        ("javascript:alert(1)", False),
        ("ftp://example.org/f", False),
        ("http:///no-host", False),
        ("//example.org/a", False),
        ("mailto:desk@example.org", False),
        ("http://[::1", False),  # unparseable
        ("", False),
    ],
)
def test_url_is_http(url, ok):
    assert url_is_http(url) is ok


def test_text_cleaning_shares_one_base_and_adds_what_each_place_needs():
    dirty = "a\x00b\x0bc\x85d\ufffe\ud800e\tf\ng"
    assert text_clean(dirty) == "abcde\tf\ng"
    # A provider's answer also loses bidi overrides that could disguise it.
    assert translation_clean(text=f"{dirty}\u202eh\u2066i") == "abcde\tf\nghi"
    # A dropped file's lines end in \n whatever wrote them.
    assert text_lines_clean(text="one\r\ntwo\rthree\x00") == "one\ntwo\nthree"


def test_display_text_prefers_english_and_falls_back_to_the_original():
    both = SimpleNamespace(title_en="Quake", title_orig="Sismo", summary_en="", summary_orig="Un sismo")
    assert (display_title(both), display_summary(both)) == ("Quake", "Un sismo")


def test_time_label_is_the_seed_cards_in_utc():
    mexico = timezone(timedelta(hours=-6))
    assert time_label(datetime(2026, 2, 9, 5, 0, tzinfo=mexico)) == "Feb 9 • 11:00 UTC"
    assert time_label(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == "Dec 31 • 23:59 UTC"


def test_chart_geometry():
    assert scaled(5, maximum=10, length=300) == 150
    assert scaled(5, maximum=0, length=300) == 0
    bars = ranked_bars(Counter({"b": 1, "a": 4, "c": 4}), width=300)
    assert [(b.label, b.count, b.width) for b in bars] == [("a", 4, 300), ("c", 4, 300), ("b", 1, 75)]
    assert ranked_bars(Counter({"big": 1000, "tiny": 1}), width=300)[-1].width == 2  # still visible
    t0 = datetime(2026, 2, 9, tzinfo=UTC)
    assert time_positions([t0, t0 + timedelta(hours=1), t0 + timedelta(hours=4)], width=300) == [0, 75, 300]
    assert time_positions([t0, t0], width=300) == [0, 0]
