"""Two waves of one topic's coverage, hours apart, are two stories (refine.Waves)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from newsdesk.coverage.engine import Params, doc_assign
from newsdesk.coverage.links import links_build
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineParams, Waves, stories_refine
from newsdesk.coverage.text import text_features

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0

# One company, two events: a recall in the morning, the quarter's results in the evening.
RECALL = [
    "Acme recalls 40,000 cars over faulty brake pedals",
    "Acme recalling 40,000 vehicles to fix brake pedals",
    "Faulty brake pedals: Acme recalls 40,000 cars",
    "Acme brake pedal recall covers 40,000 vehicles",
    "Acme issues recall of 40,000 cars for brake pedal flaw",
    "Brake pedal flaw prompts Acme recall of 40,000 cars",
]
RESULTS = [
    "Acme shares slide after quarterly profit misses forecasts",
    "Acme quarterly profit misses forecasts, shares slide",
    "Acme profit falls short of forecasts; shares drop",
    "Shares in Acme drop as quarterly profit disappoints",
    "Acme stock slides on quarterly profit miss",
    "Acme misses profit forecasts for the quarter",
]
# One event reported in many words: the evening's reports are as unlike each other as the morning's.
AGAIN = (
    [
        "Acme recalls 40,000 cars over faulty brake pedals",
        "Regulators push Acme into brake recall",
        "Acme to fix brakes on 40,000 vehicles",
        "Drivers of Acme sedans told to visit dealers over pedals",
        "Brake flaw: what Acme owners need to know",
        "Acme dealers swamped as pedal recall begins",
    ],
    [
        "Acme recall: 40,000 cars with sticking pedals",
        "Safety agency opens file on Acme brake complaints",
        "Acme admits brake pedal defect in sedans",
        "Owners wait for Acme brake repairs",
        "Acme pedal problem hits 40,000 cars",
        "Acme says no crashes linked to brake flaw",
    ],
)
# The glued story is bigger than the bisection's cap here, as the big glued stories of a busy
# desk are (``split_max``): only the cut at the quiet gap can reach it.
CAPPED = RefineParams(split_max=5)
OFF = replace(CAPPED, waves=Waves(gap_hours=0.0))
REVIVED = replace(CAPPED, waves=Waves(revived=True))  # opt-in: off by default (its cost on big stories)


def _glued(first: list[str], second: list[str], *, gap_h: float = 6.0, step_s: float = 20.0):
    """Each wave's headlines ``step_s`` apart, the second wave ``gap_h`` hours after the first, all in one story."""
    times = [T0 + n * step_s for n in range(len(first))]
    times += [times[-1] + gap_h * HOUR + n * step_s for n in range(len(second))]
    store = MemoryStore()
    for key, (title, at) in enumerate(zip([*first, *second], times, strict=True), 1):
        doc_assign(doc_key=key, at=at, features=text_features(title=title, body=""), store=store, params=Params())
    keys = list(range(1, len(times) + 1))
    glued = store.story_of(1)
    store.stories_apply(moves={k: glued for k in keys if store.story_of(k) != glued})
    return store, keys, times, glued


def test_a_story_of_two_waves_apart_in_time_and_content_is_cut_at_the_gap():
    store, keys, times, glued = _glued(RECALL, RESULTS)
    early, late = set(keys[: len(RECALL)]), set(keys[len(RECALL) :])
    # Without the rule the capped story stays glued: nothing else looks at it.
    assert not stories_refine(docs=store.all_docs(), params=Params(), refine=OFF).changed
    result = store.window_refine(now=times[-1], params=Params(), refine=CAPPED)
    assert result.changed and glued in result.split
    stories = {k: store.story_of(k) for k in keys}
    assert {stories[k] for k in early} == {glued}  # the earlier wave (as big, and older) keeps the id
    assert len({stories[k] for k in late}) == 1 and stories[keys[-1]] != glued
    # A fixed point: the merge does not join the waves back, and the next pass moves nothing.
    assert not store.window_refine(now=times[-1], params=Params(), refine=CAPPED).changed


def test_one_event_covered_again_after_a_quiet_gap_stays_one_story():
    """The second wave links to the first (about 0.44) better than it holds together (0.37)."""
    store, keys, times, glued = _glued(*AGAIN)
    assert not store.window_refine(now=times[-1], params=Params(), refine=CAPPED).changed
    assert {store.story_of(k) for k in keys} == {glued}
    # A bar above that link's ratio to the cohesion (1.18) would cut it: the ratio is the test.
    loose = replace(CAPPED, waves=Waves(ratio=1.3))
    assert store.window_refine(now=times[-1], params=Params(), refine=loose).changed


def test_a_gap_within_the_story_s_own_rhythm_is_no_cut():
    """Reports two hours apart, then a gap of six: less than five of the story's own gaps."""
    store, _, times, _ = _glued(RECALL, RESULTS, gap_h=6.0, step_s=2 * HOUR)
    assert not store.window_refine(now=times[-1], params=Params(), refine=CAPPED).changed
    # The same story with its reports seconds apart is cut (the content alone did not change).
    store, _, times, _ = _glued(RECALL, RESULTS, gap_h=6.0, step_s=20.0)
    assert store.window_refine(now=times[-1], params=Params(), refine=CAPPED).changed
    # A gap under ``gap_hours`` is no cut either, whatever the rhythm.
    store, _, times, _ = _glued(RECALL, RESULTS, gap_h=0.5, step_s=1.0)
    assert not store.window_refine(now=times[-1], params=Params(), refine=CAPPED).changed


def test_the_merge_does_not_join_two_waves_back():
    store, keys, _, _ = _glued(RECALL, RESULTS)
    late = keys[len(RECALL) :]
    apart = store.story_create(doc=store.all_docs()[late[0] - 1])
    store.stories_apply(moves={k: apart for k in late})
    eager = replace(CAPPED, merge_threshold=0.01, merge_exclusive=False, merge_conflict=False)
    assert not stories_refine(docs=store.all_docs(), params=Params(), refine=eager).changed
    # Without the rule the same merge joins them.
    merged = stories_refine(docs=store.all_docs(), params=Params(), refine=replace(eager, waves=Waves(gap_hours=0.0)))
    assert merged.merged


def test_an_editors_must_link_across_the_gap_keeps_the_waves_together():
    store, keys, _, _ = _glued(RECALL, RESULTS)
    links = links_build(must=[(keys[0], keys[-1])], cannot=[])
    assert not stories_refine(docs=store.all_docs(), params=Params(), refine=CAPPED, links=links).changed


# -- a story with members older than the window (revived): its new wave is cut too, whatever its size --


def _revived_pass(first: list[str], second: list[str], refine: RefineParams):
    """The second wave a day after the first, the pass's window holding the second wave only."""
    store, keys, times, glued = _glued(first, second, gap_h=24.0)
    window = replace(refine, window_hours=12.0)
    result = store.window_refine(now=times[-1], params=Params(), refine=window)
    return store, keys, glued, result


def test_a_revived_storys_big_new_wave_leaves_it_at_the_quiet_gap():
    store, keys, glued, result = _revived_pass(RECALL, RESULTS, REVIVED)
    early, late = keys[: len(RECALL)], keys[len(RECALL) :]
    assert result.changed
    assert {store.story_of(k) for k in early} == {glued}  # the older members keep the story
    assert len({store.story_of(k) for k in late}) == 1 and store.story_of(late[0]) != glued
    # Without the whole-story cut the window part (over ``split_max``) is not examined at all.
    store, keys, glued, result = _revived_pass(RECALL, RESULTS, replace(CAPPED, waves=Waves(revived=False)))
    assert not result.changed and {store.story_of(k) for k in keys} == {glued}


def test_a_revived_event_covered_again_a_day_later_stays_one_story():
    store, keys, glued, _ = _revived_pass(*AGAIN, REVIVED)
    assert {store.story_of(k) for k in keys} == {glued}
