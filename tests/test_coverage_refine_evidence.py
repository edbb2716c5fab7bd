"""A moved member's "why" names its closest fellow member, however large its story.

``members_evidence`` scores a story of more than ``_EVIDENCE_SCAN`` members by bounds first
(``refine._Closest``); these tests hold it to what comparing with every fellow finds: the same
member, the same score, the same evidence, under the shipped settings and under settings that
make each part of the bound count (grams weighed, shared bonuses, no semantic part, no time decay).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace

import numpy as np
import pytest

from newsdesk.coverage import refine as refine_mod
from newsdesk.coverage.engine import Doc, Params, doc_evidence, doc_similarity
from newsdesk.coverage.refine import Vectors, Weights, members_evidence

DIMS = 32
T0 = 1_700_000_000.0
PARTICULARS = ["@p:FR", "@p:DE", "@y:2019", "@y:2020", "@d:2019-05-01", "@n:12", "@c:paris", "@w:paris"]


def _unit(weights: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {k: w / norm for k, w in weights.items()}


def _story_docs(seed: int, *, stories: int = 2, size: int = 70) -> list[Doc]:
    """Stories of ``size`` members: a few events each (shared words, names, a vector direction),
    some members without a vector, some headlines (few terms), times spread over days."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    docs: list[Doc] = []
    key = 0
    for story in range(1, stories + 1):
        events = [
            ([f"s{story}e{e}w{i}" for i in range(6)], [f"s{story}e{e}n{i}" for i in range(3)], nrng.normal(size=DIMS))
            for e in range(4)
        ]
        for _ in range(size):
            key += 1
            words, names, centre = rng.choice(events)
            n_terms = rng.choice([3, 6, 10, 16])
            chosen = rng.sample(words, min(len(words), n_terms // 2 + 1))
            chosen += [f"v{rng.randrange(60)}" for _ in range(n_terms - len(chosen))]  # a shared vocabulary
            terms = _unit({t: rng.uniform(0.5, 3.0) for t in chosen})
            stems = {n: rng.uniform(1.0, 6.0) for n in rng.sample(names, rng.randrange(0, 4))}
            stems.update({n: rng.uniform(1.0, 6.0) for n in rng.sample(["alice", "bob", "carol"], rng.randrange(0, 2))})
            parts = {p: 0.0 for p in rng.sample(PARTICULARS, rng.randrange(0, 4))}
            grams = _unit({f"g{rng.randrange(40)}": rng.uniform(0.1, 1.0) for _ in range(5)})
            embedding = None
            if rng.random() > 0.15:
                v = centre + nrng.normal(scale=rng.choice([0.3, 1.0, 3.0]), size=DIMS)
                embedding = (v / np.linalg.norm(v)).astype(np.float32)
            at = T0 + rng.uniform(0, 30 * 86400)
            docs.append(
                Doc(
                    key=key, at=at, terms=terms, grams=grams, names={**stems, **parts}, embedding=embedding, story=story
                )
            )
    return docs


def _every_fellow(docs: list[Doc], moves: dict[int, int], keys, params: Params) -> dict[int, tuple[float | None, dict]]:
    """The reference: each key compared with every fellow member of its story."""
    story = {d.key: moves.get(d.key, d.story or 0) for d in docs}
    out = {}
    for key in sorted(keys):
        doc = next(d for d in docs if d.key == key)
        others = [m for m in docs if story[m.key] == story[key] and m.key != key]
        if not others:
            out[key] = (None, {})
            continue
        score, best = max(
            ((doc_similarity(doc, m, params=params), m) for m in others), key=lambda sm: (sm[0], -sm[1].key)
        )
        out[key] = (score, doc_evidence(doc, best, score=score))
    return out


SETTINGS = {
    "shipped": Params(semantic_weight=0.3, semantic_floor=0.2, semantic_floor_headline=0.0),
    "grams": Params(weight_terms=0.6, weight_grams=0.35, weight_names=0.05, semantic_weight=0.3),
    "bonuses": Params(shared_year=0.2, shared_day=0.1, shared_number=0.05, semantic_weight=0.5),
    "lexical": Params(semantic_weight=0.0),
    "no-decay": Params(time_decay=0.0, window_hours=0.0, semantic_weight=0.3),
    "short-window": Params(window_hours=24.0, semantic_weight=0.3, score_power=1.0),
}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_a_large_story_s_why_is_the_closest_fellow_s(seed, setting):
    params = SETTINGS[setting]
    docs = _story_docs(seed)
    rng = random.Random(seed)
    keys = [d.key for d in docs]
    moves = {k: rng.choice([1, 2]) for k in rng.sample(keys, 40)}  # members moved between the two stories
    asked = rng.sample(keys, 60)
    assert sum(1 for d in docs if moves.get(d.key, d.story) == 1) > refine_mod._EVIDENCE_SCAN
    expected = _every_fellow(docs, moves, asked, params)
    got = members_evidence(docs=docs, moves=moves, keys=asked, params=params)
    assert got == expected
    assert list(got) == sorted(got)


def test_the_bounds_spare_most_comparisons_and_never_undercut_a_score():
    params = SETTINGS["shipped"]
    docs = _story_docs(4, stories=1, size=300)
    closest = refine_mod._Closest(docs, params)
    scored = 0
    for doc in docs[:30]:
        bound = closest.bounds(doc)
        for j, m in enumerate(docs):
            if m.key != doc.key:
                assert bound[j] >= doc_similarity(doc, m, params=params)
        calls = []
        original = refine_mod.doc_similarity

        def counting(a, b, *, params, _calls=calls, _original=original):
            _calls.append(b.key)
            return _original(a, b, params=params)

        refine_mod.doc_similarity = counting
        try:
            closest.of(doc)
        finally:
            refine_mod.doc_similarity = original
        scored += len(calls)
    assert scored < 30 * 299 / 2  # the point of the bounds: most fellows are never scored


def test_lean_documents_give_the_same_why():
    params = SETTINGS["shipped"]
    docs = _story_docs(5)
    keys = [d.key for d in docs]
    expected = members_evidence(docs=docs, moves={}, keys=keys, params=params)
    lean = [replace(d, embedding=None, _split=None) for d in docs]
    with_vector = [d for d in docs if d.embedding is not None]
    vectors = Vectors([d.key for d in with_vector], np.stack([d.embedding for d in with_vector]))
    weights = Weights()
    lean = [weights.keep(d) for d in lean]
    got = members_evidence(docs=lean, moves={}, keys=keys, params=params, vectors=vectors, weights=weights)
    assert got == expected
    assert all(d.embedding is None and d.terms is None for d in lean)  # everything given back
