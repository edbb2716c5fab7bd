"""Side stories and late reports that the stream left alone: the refinement's lone join, and the late
tier's names looked for among the story's words (issue #18, giveme5w1h half B)."""

from __future__ import annotations

from dataclasses import replace

from newsdesk.coverage.engine import Params, doc_assign, doc_similarity
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineParams, stories_refine
from newsdesk.coverage.text import text_features
from tests.support.coverage import FILLER

HOUR = 3600.0
DAY = 24 * HOUR

FERRY = [
    ("Ferry sinks off Crete, twelve missing",
     "The ferry Aegean Star sank off Heraklion, Crete on Tuesday with 140 people aboard; captain Nikos Petrakis "
     "was rescued, the coast guard in Greece said."),
    ("Coast guard searches for twelve missing after Crete ferry sinking",
     "Rescuers off Heraklion pulled 128 people from the sea after the Aegean Star went down and twelve are still "
     "missing, the coast guard in Greece said."),
    ("Aegean Star ferry sinks near Heraklion",
     "The Aegean Star, carrying 140 passengers and crew, sank near Heraklion on Crete after taking on water, the "
     "coast guard in Greece said."),
    ("Hopes fade for twelve missing ferry passengers off Crete",
     "Divers searching the wreck of the Aegean Star off Heraklion found no survivors on Wednesday, the coast guard "
     "in Greece said."),
]  # fmt: skip
# A side story of the sinking: the captain's profile, sharing his name and the ship's with the reports.
CAPTAIN = (
    "Aegean Star captain had a long career",
    "Nikos Petrakis, 58, grew up in a fishing village and learned to sail from his father; colleagues describe a "
    "careful man who never drank at sea.",
)
# The same profile set on Malta: where conflicts with the reports' Greece.
CAPTAIN_MALTA = (
    CAPTAIN[0],
    "Nikos Petrakis, 58, grew up in a fishing village on Malta and learned to sail from his father; colleagues "
    "describe a careful man who never drank at sea.",
)


def _ferry_and(lone: tuple[str, str]) -> tuple[MemoryStore, int, int]:
    """Filler, the four reports in one story and the lone article in a story of its own: (store, story, lone key)."""
    store = MemoryStore()
    rows = [*FILLER, *FERRY, lone]
    for n, (title, body) in enumerate(rows, 1):
        doc_assign(doc_key=n, at=60.0 * n, features=text_features(title=title, body=body), store=store,
                   params=Params())  # fmt: skip
    reports, key = list(range(len(FILLER) + 1, len(rows))), len(rows)
    story = store.story_of(reports[0])
    store.stories_apply(moves={k: story for k in reports if store.story_of(k) != story})
    if store.story_of(key) == story:
        store.stories_apply(moves={key: -1})
    assert {store.story_of(k) for k in reports} == {story} != {store.story_of(key)}
    return store, story, key


def _links(store: MemoryStore, story: int, key: int) -> tuple[float, float]:
    """The lone article's mean and best similarity with the story's members."""
    docs = {d.key: d for d in store.all_docs()}
    sims = [doc_similarity(docs[key], d, params=Params()) for d in docs.values() if d.story == story]
    return sum(sims) / len(sims), max(sims)


def test_a_side_story_just_under_the_merge_bar_joins_the_story_on_names_that_agree():
    store, story, key = _ferry_and(CAPTAIN)
    refine, params = RefineParams(), Params()
    mean, best = _links(store, story, key)
    # Under the merge's bar (the merge alone leaves it out), over the lone bar, one report at the join bar.
    assert refine.lone_join <= mean < refine.merge_threshold and best >= params.join_threshold
    assert stories_refine(docs=store.all_docs(), params=params, refine=replace(refine, lone_join=0.0)).moves == {}
    result = stories_refine(docs=store.all_docs(), params=params, refine=refine)
    assert result.moves == {key: story}
    store.stories_apply(moves=result.moves)
    assert not stories_refine(docs=store.all_docs(), params=params, refine=refine).changed  # a fixed point


def test_a_lone_article_naming_too_few_of_the_story_s_names_stays_alone():
    store, story, key = _ferry_and(CAPTAIN)
    lone = next(d for d in store.all_docs() if d.key == key)
    shared = {"petrak", "star"}  # the captain's name and the ship's; the reports also name Heraklion, Crete
    assert shared <= lone.name_words()
    assert stories_refine(docs=store.all_docs(), params=Params(), refine=RefineParams()).moves == {key: story}
    stricter = RefineParams(lone_names=len(shared) + 1)
    assert stories_refine(docs=store.all_docs(), params=Params(), refine=stricter).moves == {}


def test_a_lone_article_whose_place_conflicts_with_the_story_s_stays_alone():
    store, story, key = _ferry_and(CAPTAIN_MALTA)
    docs = {d.key: d for d in store.all_docs()}
    assert "p:MT" in docs[key].particulars
    assert all("p:GR" in d.particulars for d in docs.values() if d.story == story)
    mean, best = _links(store, story, key)
    assert RefineParams().lone_join <= mean and best >= Params().join_threshold  # the links alone would join it
    assert stories_refine(docs=store.all_docs(), params=Params(), refine=RefineParams()).moves == {}


TRAILER = [
    ("First Trailer For Avengers Infinity War Arrives Online",
     "The studio released the first trailer for the next team-up film on Wednesday, showing Thanos gathering the "
     "stones, and producer Kevin Feige said the film opens in May."),
    ("Avengers Infinity War Trailer Breaks Viewing Record",
     "The first trailer was watched 230 million times in a day, the studio said on Thursday, ahead of Kevin "
     "Feige's film opening in May with Thanos as its villain."),
    ("Watch The Avengers Infinity War Trailer Here",
     "Thanos hunts the stones in the first trailer for the film, which producer Kevin Feige called the biggest "
     "crossover the studio has attempted."),
]  # fmt: skip
# Three months on: its most distinctive name, the film's, is in the story's Title-Case headlines only.
TRAILER_LATE = (
    "Second trailer for the superhero film is out",
    "The second trailer for the Avengers film, Infinity War, shows more of Thanos and the stones, three months "
    "after the first, and producer Feige says the film opens a week early.",
)


def test_a_late_report_finds_its_own_names_in_the_words_of_the_story_s_title_case_headlines():
    params = Params()
    assert params.window_hours * HOUR < 90 * DAY
    store = MemoryStore(centroid_terms=params.centroid_terms)
    for n, (title, lead) in enumerate(FILLER * 6, 1):  # enough articles for the story's names to count as rare
        doc_assign(doc_key=n, at=n * 60.0, features=text_features(title=title, body=lead), store=store, params=params)
    stories = set()
    for n, (title, lead) in enumerate(TRAILER, 1000):
        doc_assign(doc_key=n, at=DAY + n, features=text_features(title=title, body=lead), store=store, params=params)
        stories.add(store.story_of(n))
    assert len(stories) == 1
    reports = store.docs([1000, 1001, 1002])
    # The headlines name the film in words, but a Title-Case headline's capitals say nothing of names.
    assert all("avenge" in d.terms and "avenge" not in d.name_stems for d in reports)
    features = text_features(title=TRAILER_LATE[0], body=TRAILER_LATE[1])
    assert "avenge" in features.names
    doc_assign(doc_key=2000, at=DAY + 90 * DAY, features=features, store=store, params=params)
    assert store.story_of(2000) in stories
