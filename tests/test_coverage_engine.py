"""The clustering engine on the in-memory store: time proximity chooses among stories that fit."""

from __future__ import annotations

from dataclasses import replace

import pytest

from newsdesk.coverage import engine
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


class _SearchRecorded(MemoryStore):
    """The in-memory store, noting how far back each candidate search reached."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.since: dict[float, float] = {}  # article time -> its search's lower bound

    def candidates(self, *, terms, since, until, per_term, near=None):
        self.since[near[0] + (near[1] - near[0]) / 2] = since
        return super().candidates(terms=terms, since=since, until=until, per_term=per_term, near=near)


# Late arrivals without two rare names of their own: a headline, a text naming nothing.
ZOO_LATE_NAMELESS = [
    ("Six months on, a gorilla's death still haunts the zoo", ""),
    ("the gorilla's death still haunts the zoo six months after a boy fell into its enclosure", ""),
]


def test_the_late_search_reaches_back_only_for_an_article_that_could_join_a_late_story():
    """An article naming two rare names searches the late window; one without searches only the window."""
    params = Params()
    store = _SearchRecorded(centroid_terms=params.centroid_terms)
    for i, (title, lead) in enumerate([*FILLER, *ZOO]):
        doc_assign(
            doc_key=i + 1, at=i * HOUR, features=text_features(title=title, body=lead), store=store, params=params
        )
    late = 180 * DAY
    doc_assign(
        doc_key=100, at=late, features=text_features(title=ZOO_LATE[0], body=ZOO_LATE[1]), store=store, params=params
    )
    assert store.since[late] == late - params.late_window_hours * HOUR
    later = 200 * DAY
    title, lead = ZOO_LATE_NAMELESS[0]
    doc_assign(doc_key=101, at=later, features=text_features(title=title, body=lead), store=store, params=params)
    assert store.since[later] == later - params.window_hours * HOUR


def test_the_late_work_cut_decides_as_the_full_late_search(monkeypatch):
    """The same stream with the late work cut (no late search for an article without two rare names, no
    scoring of late stories that could not pass the names test) and with all of it done: the same story
    for every article and the same score (late reports with names, without, a same-kind event)."""
    from newsdesk.coverage import engine

    headlines = [(title, "") for title in [*MARKETS, *OTHER]]
    stream = [*FILLER, *ZOO, *ZOO_LATE_NAMELESS, ZOO_LATE, ZOO_OTHER, *ZOO_LATE_NAMELESS, *headlines]
    times = [i * HOUR for i in range(len(FILLER) + len(ZOO))]
    times += [70 * (k + 1) * DAY for k in range(len(stream) - len(times))]  # each beyond the window of the last
    hopeful = engine._late_stories_hopeful
    dropped: list[int] = []

    def hopeful_noted(doc, late_members, *, found_near, params, n_docs):
        kept = hopeful(doc, late_members, found_near=found_near, params=params, n_docs=n_docs)
        dropped.append(len({m.story for m in late_members} - found_near - kept))
        return kept

    def run(possible, hopeful_stories) -> tuple[list[tuple[int, float | None]], dict[float, float]]:
        monkeypatch.setattr(engine, "late_join_possible", possible)
        monkeypatch.setattr(engine, "_late_stories_hopeful", hopeful_stories)
        params = Params()
        store = _SearchRecorded(centroid_terms=params.centroid_terms)
        out = []
        for key, ((title, lead), at) in enumerate(zip(stream, times, strict=True), start=1):
            result = doc_assign(
                doc_key=key, at=at, features=text_features(title=title, body=lead), store=store, params=params
            )
            out.append((result.story, result.score))
        return out, store.since

    cut, cut_since = run(engine.late_join_possible, hopeful_noted)
    # As before the cut: every late candidate scored (those of stories found in the window are then skipped).
    full, full_since = run(
        lambda doc, *, params, n_docs: True, lambda doc, late_members, **_: {m.story for m in late_members}
    )
    assert cut == full
    # Both cuts did happen, for some articles and not all: the comparison is not of two identical runs.
    cut_short = {at for at, since in cut_since.items() if since != full_since[at]}
    assert cut_short and cut_short != set(cut_since)
    assert any(dropped)
    # And the late report did join its story, 210 days on, in both (the late tier is exercised).
    late_key = len(FILLER) + len(ZOO) + len(ZOO_LATE_NAMELESS) + 1
    assert cut[late_key - 1][0] == cut[len(FILLER)][0]


def _sides(seed: int):
    import random

    rng = random.Random(seed)
    words = [f"w{i}" for i in range(60)] + [str(i) for i in range(10)] + ["2024x", "zürich"]
    a = {w: rng.random() for w in rng.sample(words, 25)}
    b = {w: rng.random() for w in rng.sample(words, 40)}
    return a, b


@pytest.mark.parametrize("seed", range(20))
def test_cosine_is_the_sum_of_the_shared_products_in_order(seed):
    a, b = _sides(seed)
    small, big = (a, b) if len(a) <= len(b) else (b, a)
    expected = sum(v * big[k] for k, v in small.items() if k in big)
    assert engine._cosine(a, b) == expected and engine._cosine(b, a) == expected  # bit for bit


@pytest.mark.parametrize("seed", range(20))
def test_kept_name_words_give_the_relation_they_are_computed_for(seed):
    import random

    rng = random.Random(seed)
    stems = [f"n{i}" for i in range(8)] + ["12", "2024", "mex"]
    kinds = ["p:MX", "p:US", "y:2024", "y:2023", "d:11-03", "n:12", "n:40", "c:MX-monterrey", "w:mex"]
    params = Params()
    for _ in range(30):
        na = {s: rng.random() * 3 for s in rng.sample(stems, rng.randint(0, 6))}
        nb = {s: rng.random() * 3 for s in rng.sample(stems, rng.randint(0, 6))}
        pa, pb = frozenset(rng.sample(kinds, rng.randint(0, 5))), frozenset(rng.sample(kinds, rng.randint(0, 5)))
        a = engine.Doc(key=1, at=0.0, terms={}, grams={}, names={**na, **{"@" + p: 0.0 for p in pa}})
        b = engine.Doc(key=2, at=0.0, terms={}, grams={}, names={**nb, **{"@" + p: 0.0 for p in pb}})
        assert a.name_words() == {n for n in na if not n[:1].isdigit()}
        plain = engine.particulars_relation(pa, pb, na, nb, params=params)
        kept = engine.particulars_relation(
            pa, pb, na, nb, params=params, words_a=a.name_words(), words_b=b.name_words()
        )
        assert kept == plain
        assert engine.particulars_factor(pa, pb, na, nb, params=params, words_a=a.name_words()) == plain[0]


@pytest.mark.parametrize("share", [0.3, 0.5, 1.0, 1.5])
def test_a_story_core_of_one_member_is_what_counting_gives(share):
    """One member: the particulars all held (or none when the share asks for more than one),
    the names whose summed weight reaches the bar, as the counted path gives."""
    from collections import Counter

    names = {"mex": 0.4, "obrador": 2.5, "pemex": 1.0, "@p:MX": 0.0, "@y:2024": 0.0}
    doc = engine.Doc(key=1, at=0.0, terms={}, grams={}, names=names)
    need = max(1.0, share)
    stems, parts = doc.split_names()
    counted_names, counted_parts = Counter(), Counter()
    counted_names.update(stems)
    counted_parts.update(parts)
    expected = (
        frozenset(p for p, c in counted_parts.items() if c >= need),
        frozenset(n for n, c in counted_names.items() if c >= need),
    )
    assert engine.story_core([doc], share=share) == expected
    assert engine.story_core([doc, doc], share=share) == (
        (parts if share <= 1 else frozenset()),
        frozenset(n for n, w in stems.items() if 2 * w >= max(1.0, 2 * share)),
    )
