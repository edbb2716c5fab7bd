"""A worker's lean pass decides what the cached one decides.

The database pass keeps no pairwise similarity (``RefineCache(keep_sims=False)``) and holds the
window's vectors as float16 rows of one matrix (``Vectors``), giving a document its float32
vector only while it is compared. Neither may change a decision: the same moves, merges, splits
and "why" as a pass over documents that carry their own float32 vectors with every similarity kept.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from newsdesk.coverage.engine import Doc, Params, doc_assign
from newsdesk.coverage.links import NO_LINKS, links_build
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineCache, RefineParams, Vectors, members_evidence, stories_refine
from newsdesk.coverage.text import text_features
from tests.test_coverage_refine import CHILE_EN, CHILE_ES, JAPAN_EN, JAPAN_ES, LOHAN, REID, T0

EVENTS = [CHILE_EN + CHILE_ES, JAPAN_EN + JAPAN_ES, REID, LOHAN]
DIMS = 64


def _window(seed: int) -> tuple[list[Doc], dict[int, np.ndarray], list[int]]:
    """The events' reports in a shuffled stream, their stories scrambled as a greedy stream might
    leave them (glued, scattered), and float16-valued vectors near their event's direction."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    rows = [(title, body, e) for e, event in enumerate(EVENTS) for title, body in event]
    rng.shuffle(rows)
    store = MemoryStore()
    for n, (title, body, _) in enumerate(rows, 1):
        doc_assign(doc_key=n, at=T0 + 60 * n, features=text_features(title=title, body=body), store=store,
                   params=Params())  # fmt: skip
    keys = [n for n in range(1, len(rows) + 1)]
    stories = sorted({store.story_of(k) for k in keys})
    store.stories_apply(moves={k: rng.choice(stories) for k in keys if rng.random() < 0.4})
    centres = nrng.normal(size=(len(EVENTS), DIMS))
    vectors: dict[int, np.ndarray] = {}
    for n, (_, _, e) in enumerate(rows, 1):
        if n % 7 == 0:
            continue  # no vector yet (not translated): lexical only
        v = centres[e] + nrng.normal(scale=0.8, size=DIMS)
        vectors[n] = (v / np.linalg.norm(v)).astype(np.float16)  # as the database stores it
    return store.all_docs(), vectors, keys


def _copies(docs: list[Doc]) -> list[Doc]:
    return [replace(d, embedding=None, _split=None) for d in docs]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("linked", [False, True], ids=["no-links", "links"])
def test_the_lean_pass_decides_what_the_cached_pass_decides(seed, linked):
    docs, vectors, keys = _window(seed)
    params = replace(Params(), semantic_weight=0.5)
    refine = RefineParams()
    links = (
        links_build(must=[(keys[0], keys[5])], cannot=[(keys[1], keys[2]), (keys[3], keys[9])]) if linked else NO_LINKS
    )

    carried = _copies(docs)
    for d in carried:
        if d.key in vectors:
            d.embedding = vectors[d.key].astype(np.float32)
    cached = RefineCache()
    expected = stories_refine(docs=carried, params=params, refine=refine, links=links, cache=cached)
    assert cached.sims  # the reference kept its similarities

    lean_docs = _copies(docs)
    order = sorted(vectors)
    lean = Vectors(order, np.stack([vectors[k] for k in order]))
    kept = RefineCache(keep_sims=False)
    got = stories_refine(docs=lean_docs, params=params, refine=refine, links=links, cache=kept, vectors=lean)

    assert expected.changed  # a window with something to repair, or the comparison proves nothing
    assert (got.moves, got.merged, got.split) == (expected.moves, expected.merged, expected.split)
    assert not kept.sims
    # Every vector was given back: the window holds float16 rows only.
    assert all(d.embedding is None for d in lean_docs)

    why = members_evidence(docs=carried, moves=expected.moves, keys=expected.moves, params=params)
    lean_why = members_evidence(docs=lean_docs, moves=got.moves, keys=got.moves, params=params, vectors=lean)
    assert lean_why == why
    assert all(d.embedding is None for d in lean_docs)


def test_vectors_give_float32_only_while_attached_and_leave_a_doc_s_own_vector_alone():
    docs, vectors, _ = _window(7)
    order = sorted(vectors)
    lean = Vectors(order, np.stack([vectors[k] for k in order]))
    own = np.ones(DIMS, dtype=np.float32)
    mine, other = _copies(docs[:2])
    mine.embedding = own
    with lean.attached([mine, other]):
        assert mine.embedding is own
        if other.key in vectors:
            assert other.embedding.dtype == np.float32
            assert np.array_equal(other.embedding, vectors[other.key].astype(np.float32))
    assert mine.embedding is own and other.embedding is None
