"""The clustering engine on the in-memory store: time proximity chooses among stories that fit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from newsdesk.coverage.engine import Params, _story_quiet, doc_assign
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.text import text_features
from tests.support.coverage import FILLER, ZOO, ZOO_LATE, ZOO_OTHER

HOUR = 3600.0
DAY = 24 * HOUR
MARKETS = [
    "Stocks fall on weak China data as factory output slows",
    "Wall Street stocks fall after weak China factory data",
    "Weak China data sends stocks lower, factory output slows",
]
OTHER = [
    "Chelsea beat Arsenal in the London derby",
    "Volcano erupts in Iceland, flights cancelled",
    "New telescope photographs a distant galaxy",
]


def assign(store: MemoryStore, key: int, at: float, title: str, params: Params) -> int:
    doc_assign(doc_key=key, at=at, features=text_features(title=title), store=store, params=params)
    story = store.story_of(key)
    assert story is not None
    return story


def two_days_of_the_same_topic(params: Params) -> tuple[MemoryStore, int, int]:
    """Monday's "stocks fall on China data" story, and Tuesday's, begun by a first article forced apart."""
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for i, title in enumerate(OTHER):  # a little document frequency, so the weights are not all equal
        assign(store, i + 1, i * HOUR, title, params)
    monday = {assign(store, 10 + i, 10 * HOUR + i * 600, title, params) for i, title in enumerate(MARKETS)}
    assert len(monday) == 1
    tuesday = assign(store, 20, DAY + 10 * HOUR, MARKETS[0], replace(params, join_threshold=2.0))
    assert tuesday not in monday
    return store, monday.pop(), tuesday


def test_an_article_fitting_two_stories_joins_the_one_still_being_covered():
    params = replace(Params(), merge_threshold=2.0)  # keep both stories apart to see the choice
    store, monday, tuesday = two_days_of_the_same_topic(params)
    later = DAY + 11 * HOUR
    assert assign(store, 100, later, MARKETS[1], params) == tuesday

    # Without time proximity the bigger Monday story wins on content: the choice above is the time signal's.
    plain = replace(params, tempo_weight=0.0)
    store, monday, tuesday = two_days_of_the_same_topic(plain)
    assert assign(store, 100, later, MARKETS[1], plain) == monday


def test_a_late_follow_up_still_joins_a_story_with_no_fresher_rival():
    params = Params()
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for i, title in enumerate(OTHER):
        assign(store, i + 1, i * HOUR, title, params)
    story = {assign(store, 10 + i, 10 * HOUR + i * 600, t, params) for i, t in enumerate(MARKETS)}
    assert len(story) == 1
    # Ten days later the story has gone quiet, but content alone decides whether to join.
    assert assign(store, 50, 10 * DAY, MARKETS[1], params) in story


def test_quiet_is_judged_by_the_story_s_own_rhythm():
    params = Params()
    assert _story_quiet(10 * DAY, [0.0], params=params) == 0.0  # one article: no rhythm, no penalty
    burst = [0.0, 60.0, 120.0]  # three articles a minute apart: the one-hour floor applies
    assert _story_quiet(120.0 + 10 * 60, burst, params=params) < 0.2
    assert _story_quiet(120.0 + 10 * HOUR, burst, params=params) > 0.99
    slow = [0.0, DAY, 2 * DAY]  # one article a day: quiet only after several days
    assert _story_quiet(3 * DAY, slow, params=params) == pytest.approx(1 - 2 ** (-1 / 5))
    assert _story_quiet(2 * DAY + 10 * HOUR, slow, params=params) < _story_quiet(
        120.0 + 10 * HOUR, burst, params=params
    )


def two_stories_of_one_burst(params: Params) -> tuple[MemoryStore, int, int]:
    """Two outlets' first reports a minute apart, the second forced into a story of its own."""
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for i, title in enumerate(OTHER):
        assign(store, i + 1, i * HOUR, title, params)
    first = assign(store, 10, 10 * HOUR, MARKETS[0], params)
    second = assign(store, 11, 10 * HOUR + 60, MARKETS[1], replace(params, join_threshold=2.0))
    assert first != second
    return store, first, second


def test_stories_both_being_covered_merge_at_the_lower_bar_quiet_ones_do_not():
    # Bars set apart so the test sees which one applies: 0.3 while both are active, never otherwise.
    params = replace(Params(), merge_threshold=2.0, merge_threshold_active=0.3)
    store, first, second = two_stories_of_one_burst(params)
    assert assign(store, 12, 10 * HOUR + 120, MARKETS[2], params) == first
    assert store.story_of(11) == first  # the younger story was merged into the older

    store, first, second = two_stories_of_one_burst(params)
    # Two days later neither one-article story counts as active: no merge, one of them is joined.
    assert assign(store, 12, 2 * DAY, MARKETS[2], params) in {first, second}
    assert store.story_of(10) != store.story_of(11)


def zoo_story(params: Params) -> tuple[MemoryStore, int]:
    """Unrelated news, then three reports of the Cincinnati Zoo gorilla on day 1: one story."""
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for i, (title, lead) in enumerate(FILLER):
        doc_assign(
            doc_key=i + 1, at=i * HOUR, features=text_features(title=title, body=lead), store=store, params=params
        )
    stories = set()
    for i, (title, lead) in enumerate(ZOO):
        features = text_features(title=title, body=lead)
        doc_assign(doc_key=20 + i, at=DAY + i * HOUR, features=features, store=store, params=params)
        stories.add(store.story_of(20 + i))
    assert len(stories) == 1
    return store, stories.pop()


def assign_at(store: MemoryStore, at: float, text: tuple[str, str], params: Params) -> int | None:
    doc_assign(doc_key=100, at=at, features=text_features(title=text[0], body=text[1]), store=store, params=params)
    return store.story_of(100)


def test_a_late_report_joins_its_story_on_the_story_s_own_names():
    """Six months on (far outside the 60-day window) a report naming Harambe, the Cincinnati Zoo and its
    director joins the story; without the late tier it starts a story of its own."""
    params = Params()
    assert params.window_hours * HOUR < 180 * DAY
    store, story = zoo_story(params)
    assert assign_at(store, 180 * DAY, ZOO_LATE, params) == story

    off = replace(params, late_window_hours=0.0)
    store, story = zoo_story(off)
    assert assign_at(store, 180 * DAY, ZOO_LATE, off) != story


def test_a_same_kind_event_months_later_does_not_join_a_late_story():
    """Another gorilla shot at another zoo a year later shares the topic's words but not the story's names:
    the late tier keeps it out, though its score passes the join bar (a tier on score alone takes it)."""
    params = Params()
    store, story = zoo_story(params)
    assert assign_at(store, 400 * DAY, ZOO_OTHER, params) != story

    on_score_alone = replace(params, late_join_threshold=params.join_threshold, late_names_min=0, late_names_held=0.0)
    store, story = zoo_story(on_score_alone)
    assert assign_at(store, 400 * DAY, ZOO_OTHER, on_score_alone) == story
