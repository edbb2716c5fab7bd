"""A side story that the stream left alone joins its event's story in the refinement (the lone join), on the
model's reading only (issue #18, giveme5w1h half B; h26g5 measured the rule, h27g5 landed it for the model).

Words alone link a side story's region or occasion to other events as well (Likud's resolution and a
Palestinian girl's indictment: "Israel", "West Bank"; a film's Super Bowl trailer and the halftime show), so
without sentence vectors the lone join does not run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from newsdesk.coverage import semantic
from newsdesk.coverage.engine import Params, doc_assign, doc_similarity
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineParams, stories_refine
from newsdesk.coverage.text import text_features
from tests.support.coverage import FILLER

needs_use = pytest.mark.skipif(
    not all(map(semantic._importable, semantic.USE_V3.packages)), reason="the default install's encoder is absent"
)

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


def _params() -> Params:
    return Params(semantic_weight=semantic.USE_V3.weight, semantic_floor=semantic.USE_V3.floor)


def _ferry_and(
    lone: tuple[str, str], *, vectors: bool = True, unread: frozenset[int] = frozenset()
) -> tuple[MemoryStore, int, int]:
    """Filler, the four reports in one story and the lone article in a story of its own: (store, story, lone key).

    With ``vectors``, every article carries the default model's sentence vector, as enrichment gives it, but
    the reports at the positions in ``unread`` (0-3: a language the model does not read)."""
    store = MemoryStore()
    rows = [*FILLER, *FERRY, lone]
    embedded = semantic.encoder().embed([semantic.embed_text(title=t, lead=b) for t, b in rows]) if vectors else None
    skip = {len(FILLER) + 1 + x for x in unread}
    for n, (title, body) in enumerate(rows, 1):
        vector = embedded[n - 1] if embedded is not None and n not in skip else None
        doc_assign(doc_key=n, at=60.0 * n, features=text_features(title=title, body=body), store=store,
                   params=_params(), embedding=vector)  # fmt: skip
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
    sims = [doc_similarity(docs[key], d, params=_params()) for d in docs.values() if d.story == story]
    return sum(sims) / len(sims), max(sims)


@needs_use
def test_a_side_story_just_under_the_merge_bar_joins_the_story_on_names_that_agree():
    store, story, key = _ferry_and(CAPTAIN)
    refine, params = RefineParams(), _params()
    mean, best = _links(store, story, key)
    # Under the merge's bar (the merge alone leaves it out), over the lone bar, one report at the join bar.
    assert refine.lone_join <= mean < refine.merge_threshold and best >= params.join_threshold
    assert stories_refine(docs=store.all_docs(), params=params, refine=replace(refine, lone_join=0.0)).moves == {}
    result = stories_refine(docs=store.all_docs(), params=params, refine=refine)
    assert result.moves == {key: story}
    store.stories_apply(moves=result.moves)
    assert not stories_refine(docs=store.all_docs(), params=params, refine=refine).changed  # a fixed point


@needs_use
def test_a_lone_article_naming_too_few_of_the_story_s_names_stays_alone():
    store, story, key = _ferry_and(CAPTAIN)
    lone = next(d for d in store.all_docs() if d.key == key)
    shared = {"petrak", "star"}  # the captain's name and the ship's; the reports also name Heraklion, Crete
    assert shared <= lone.name_words()
    assert stories_refine(docs=store.all_docs(), params=_params(), refine=RefineParams()).moves == {key: story}
    stricter = RefineParams(lone_names=len(shared) + 1)
    assert stories_refine(docs=store.all_docs(), params=_params(), refine=stricter).moves == {}


@needs_use
def test_a_lone_article_whose_place_conflicts_with_the_story_s_stays_alone():
    store, story, key = _ferry_and(CAPTAIN_MALTA)
    docs = {d.key: d for d in store.all_docs()}
    assert "p:MT" in docs[key].particulars
    assert all("p:GR" in d.particulars for d in docs.values() if d.story == story)
    mean, best = _links(store, story, key)
    # Bars the links alone pass: the lone bar, and a member at the join bar.
    loose, params = RefineParams(lone_join=0.2), replace(_params(), join_threshold=0.3)
    assert loose.lone_join <= mean < loose.merge_threshold and best >= params.join_threshold
    assert stories_refine(docs=store.all_docs(), params=params, refine=loose).moves == {}
    # The same profile without the conflicting place joins at those bars.
    store, story, key = _ferry_and(CAPTAIN)
    assert stories_refine(docs=store.all_docs(), params=params, refine=loose).moves == {key: story}


@needs_use
def test_without_sentence_vectors_a_side_story_stays_alone():
    store, story, key = _ferry_and(CAPTAIN, vectors=False)
    params = Params()
    docs = {d.key: d for d in store.all_docs()}
    sims = [doc_similarity(docs[key], d, params=params) for d in docs.values() if d.story == story]
    # The words alone would let it join (over the lone bar, a report at the join bar)...
    assert RefineParams().lone_join <= sum(sims) / len(sims) and max(sims) >= params.join_threshold
    # ...but words alone are no evidence of a side story of this event rather than another of its region.
    assert stories_refine(docs=store.all_docs(), params=params, refine=RefineParams()).moves == {}


@needs_use
def test_a_member_the_model_does_not_read_does_not_keep_a_side_story_out():
    store, story, key = _ferry_and(CAPTAIN)
    docs = {d.key: d for d in store.all_docs()}
    first = min(k for k, d in docs.items() if d.story == story)
    weakest = min(
        (k for k, d in docs.items() if d.story == story),
        key=lambda k: doc_similarity(docs[key], docs[k], params=_params()),
    )
    # One report without a vector (a language the model does not read), not the one at the join bar: it still joins.
    store, story, key = _ferry_and(CAPTAIN, unread=frozenset({weakest - first}))
    assert stories_refine(docs=store.all_docs(), params=_params(), refine=RefineParams()).moves == {key: story}
    # No report with a vector: the words still link it as the rule asks (the mean, a member at the join bar), but
    # nothing the model read does, and the article's own vector is not enough.
    store, story, key = _ferry_and(CAPTAIN, unread=frozenset(range(len(FERRY))))
    mean, best = _links(store, story, key)
    assert RefineParams().lone_join <= mean < RefineParams().merge_threshold and best >= _params().join_threshold
    assert next(d for d in store.all_docs() if d.key == key).embedding is not None
    assert stories_refine(docs=store.all_docs(), params=_params(), refine=RefineParams()).moves == {}
