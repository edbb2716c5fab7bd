"""Bounded property tests for issue #16's hostile classes (strategies in newsdesk/testing/hostile.py).

Drop file names through a real inbox scan, the search syntax run as a
database query, and the filter parameters on the dashboard and its feeds.
The long, timed run is ``bench/fuzz.py --target names|search|filters``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from newsdesk.testing.hostile import (
    drop_inboxes,
    filter_params,
    filters_target,
    names_target,
    search_queries,
    search_target,
)

pytestmark = pytest.mark.django_db


def bounded(examples: int):
    return settings(
        max_examples=examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )


@bounded(40)
@given(drop_inboxes())
def test_any_file_names_end_in_done_or_failed_with_an_honest_note(files):
    names_target(files)


@bounded(100)
@given(search_queries())
def test_any_search_text_parses_and_runs(text):
    search_target(text)


@bounded(40)
@given(filter_params())
def test_any_filter_parameters_answer_without_a_500(params):
    filters_target(params)
