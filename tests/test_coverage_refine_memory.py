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

from newsdesk.coverage.burst import refine_scope
from newsdesk.coverage.engine import Doc, Params, doc_assign, doc_similarity
from newsdesk.coverage.links import NO_LINKS, links_build
from newsdesk.coverage.memory import MemoryStore
from newsdesk.coverage.refine import RefineCache, RefineParams, Vectors, Weights, members_evidence, stories_refine
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


def _links(keys: list[int], linked: bool):
    """An editor's must-link and two cannot-links over the window, or none."""
    if not linked:
        return NO_LINKS
    return links_build(must=[(keys[0], keys[5])], cannot=[(keys[1], keys[2]), (keys[3], keys[9])])


def _lean(vectors: dict) -> Vectors:
    """The window's vectors as the database pass holds them: one float16 matrix."""
    order = sorted(vectors)
    return Vectors(order, np.stack([vectors[k] for k in order]))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("linked", [False, True], ids=["no-links", "links"])
def test_the_lean_pass_decides_what_the_cached_pass_decides(seed, linked):
    docs, vectors, keys = _window(seed)
    params = replace(Params(), semantic_weight=0.5)
    refine = RefineParams()
    links = _links(keys, linked)

    carried = _copies(docs)
    for d in carried:
        if d.key in vectors:
            d.embedding = vectors[d.key].astype(np.float32)
    cached = RefineCache()
    expected = stories_refine(docs=carried, params=params, refine=refine, links=links, cache=cached)
    assert cached.sims  # the reference kept its similarities

    lean_docs = _copies(docs)
    lean = _lean(vectors)
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
    lean = _lean(vectors)
    own = np.ones(DIMS, dtype=np.float32)
    mine, other = _copies(docs[:2])
    mine.embedding = own
    with lean.attached([mine, other]):
        assert mine.embedding is own
        if other.key in vectors:
            assert other.embedding.dtype == np.float32
            assert np.array_equal(other.embedding, vectors[other.key].astype(np.float32))
    assert mine.embedding is own and other.embedding is None


def _kept(docs: list[Doc]) -> tuple[list[Doc], Weights]:
    """Copies of ``docs`` whose weights a :class:`Weights` keeps, as the database pass reads them."""
    weights = Weights()
    return [weights.keep(d) for d in _copies(docs)], weights


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("linked", [False, True], ids=["no-links", "links"])
def test_weights_kept_apart_decide_what_documents_with_their_own_dicts_decide(seed, linked):
    docs, vectors, keys = _window(seed)
    params = replace(Params(), semantic_weight=0.5)
    refine = RefineParams()
    links = _links(keys, linked)
    lean = _lean(vectors)

    whole = _copies(docs)
    expected = stories_refine(
        docs=whole, params=params, refine=refine, links=links, cache=RefineCache(keep_sims=False), vectors=lean
    )
    compact, weights = _kept(docs)
    assert len(weights) == len(docs) and all(d.terms is None and d.names is None for d in compact)
    got = stories_refine(
        docs=compact,
        params=params,
        refine=refine,
        links=links,
        cache=RefineCache(keep_sims=False),
        vectors=lean,
        weights=weights,
    )
    assert expected.changed
    assert (got.moves, got.merged, got.split) == (expected.moves, expected.merged, expected.split)
    # Every dict was given back: between comparisons the window holds its compact rows only.
    assert all(d.terms is None and d.names is None and d._split is None for d in compact)

    why = members_evidence(docs=whole, moves=expected.moves, keys=expected.moves, params=params, vectors=lean)
    lean_why = members_evidence(
        docs=compact, moves=got.moves, keys=got.moves, params=params, vectors=lean, weights=weights
    )
    assert lean_why == why
    assert all(d.terms is None for d in compact)

    refine_all = RefineParams(core_postings=1000)
    for touched in ({keys[0]}, {d.story for d in docs[:3]}):
        stories = {d.story for d in docs if d.key in touched} | touched
        assert [d.key for d in refine_scope(compact, stories, refine_all, weights=weights)] == [
            d.key for d in refine_scope(whole, stories, refine_all)
        ]


def test_weights_give_the_same_dicts_back_only_while_attached():
    docs, _, _ = _window(8)
    original = _copies(docs[:3])
    compact, weights = _kept(docs[:3])
    with pytest.raises((TypeError, AttributeError)):
        doc_similarity(compact[0], compact[1], params=Params())  # detached: a read fails, it never sees nothing
    with weights.attached(compact[:2]):
        for mine, theirs in zip(compact[:2], original[:2], strict=True):
            assert list(mine.terms.items()) == list(theirs.terms.items())  # same keys, same order, same values
            assert list(mine.names.items()) == list(theirs.names.items())
        assert compact[2].terms is None
        with weights.attached(compact):  # nested: gives only what is not attached, takes back only that
            assert compact[2].terms is not None
        assert compact[2].terms is None and compact[0].terms is not None
        assert doc_similarity(compact[0], compact[1], params=Params()) == doc_similarity(
            original[0], original[1], params=Params()
        )
    assert all(d.terms is None for d in compact)
    # A document with a weight that is not a float (an older writer's integer) keeps its own dicts.
    odd = replace(original[0], names={**original[0].names, "@y:2011": 0})
    assert Weights().keep(odd).names is odd.names


def test_weights_hold_a_window_in_well_under_half_of_the_dicts_bytes():
    import tracemalloc

    docs, _, _ = _window(9)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        # 40 copies of the window, each with fresh dicts and floats, as a JSON read gives them.
        window = [
            replace(
                d,
                key=n * 1000 + d.key,
                terms={k: float(repr(w)) for k, w in d.terms.items()},
                names={k: float(repr(w)) for k, w in d.names.items()},
                _split=None,
            )
            for n in range(40)
            for d in docs
        ]
        as_dicts = tracemalloc.get_traced_memory()[0] - before
        weights = Weights()
        for d in window:
            weights.keep(d)
        kept = tracemalloc.get_traced_memory()[0] - before
        del window, weights
        before = tracemalloc.get_traced_memory()[0]
        bare = [replace(d, key=n * 1000 + d.key, terms=None, names=None, _split=None) for n in range(40) for d in docs]
        bare_bytes = tracemalloc.get_traced_memory()[0] - before  # the documents without any weight
    finally:
        tracemalloc.stop()
    assert len(bare) == 40 * len(docs)
    # What the weights themselves take: under half of the dicts' bytes.
    assert kept - bare_bytes < 0.5 * (as_dicts - bare_bytes), (kept, as_dicts, bare_bytes)
