"""Bounded property tests for the ingest parsers (strategies in newsdesk/testing/fuzz.py).

Any feed or dropped file is either refused with the parser's own error or
parsed into items that keep the contract (``check_item``).
The long run is ``bench/fuzz.py --seconds N``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from newsdesk.testing.fuzz import drop_files, drop_target, feed_documents, feed_target

# Derandomized: CI sees the same 150 inputs each run; bench/fuzz.py explores at random.
BOUNDED = settings(
    max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@BOUNDED
@given(feed_documents())
def test_parse_feed_refuses_or_keeps_the_item_contract(body):
    feed_target(body)


@BOUNDED
@given(drop_files())
def test_drop_parse_refuses_or_keeps_the_item_contract(name_and_data):
    drop_target(name_and_data)
