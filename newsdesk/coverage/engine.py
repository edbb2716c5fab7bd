"""The clustering algorithm, independent of where its index lives.

One article at a time (streaming, as production receives them):

1. Weigh its features by inverse document frequency. Frequencies are counts
   kept as articles arrive (one upsert per term), so weights cost a lookup.
2. Fetch candidates through the inverted index: stored articles that share one
   of its most distinctive terms, published within the time window. Only those
   are ever compared; the cost does not grow with the number of articles kept.
3. Score each candidate with :func:`doc_similarity` (the same function the
   pair evaluation uses) and each candidate story by its best members.
4. Join the best story above the threshold, or start a new one. Among
   stories that fit, time proximity prefers the one still being covered
   (:func:`_story_quiet`). When the article binds two stories strongly, they
   were one story: merge them into the older one (lowest id, so the result does not depend on timing).

Storage is an interface (:class:`Store`): :mod:`newsdesk.coverage.memory` for
evaluation and tests, :mod:`newsdesk.coverage.dbstore` for production. Both
run this same code.
"""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .links import NO_LINKS, Links, links_merge_group, links_story_pairs_forbidden
from .particulars import CITY, MONTH_WORD, PLACE_WORD
from .text import Features

GRAM_PREFIX = "#"  # grams share the df table with terms; the prefix keeps them apart.
PARTICULAR_PREFIX = "@"  # particulars share a document's names dict; the prefix keeps them apart.


@dataclass(frozen=True, slots=True)
class Params:
    """Tuning of the clustering. One set of defaults serves every corpus."""

    window_hours: float = 1440.0
    query_terms: int = 12  # distinctive terms an article is indexed under
    # An article is searched by twice the terms it is indexed under: a long
    # article's top terms drift from those of the story's earlier members, and
    # matching its 13th-24th terms against their index terms finds them. Fewer
    # postings per term keep the read the same size or smaller (24 x 50 <
    # 12 x 200); rare terms (names) are the ones that find a story anyway.
    search_terms: int = 24
    postings_per_term: int = 50  # most recent postings read per search term
    candidates: int = 40  # candidate articles scored in full
    join_threshold: float = 0.35
    merge_threshold: float = 0.7
    weight_terms: float = 0.95
    weight_grams: float = 0.0
    # Names and numbers already weigh in the terms (rare, so heavy by idf); a
    # separate overlap score mostly double-counts them, and in German, where
    # every noun is capitalised, it rewards topic words. A small share only.
    weight_names: float = 0.05
    story_top: int = 1  # a story's member evidence: mean of its best members' similarities
    centroid_weight: float = 0.7  # share of the story score from the story's summed vector
    centroid_terms: int = 200  # terms kept in a story's summed vector
    # The story vector is the sum of its members' unit vectors; dividing the
    # dot product by |sum|**0.9 instead of |sum| leaves a story of one as it
    # is and gives a large, coherent story a slight pull (its norm grows with
    # its size), a "rich get richer" prior as in Dirichlet-process clustering:
    # a running story is where the next article on the topic most likely goes.
    centroid_norm_power: float = 0.9
    # Cosines of sparse word vectors crowd near zero; the square root spreads
    # them so the score rises about linearly with how much of a story two
    # texts share (graded pairs: Pearson +0.02, ranking unchanged). Applied
    # to member and story scores alike; the thresholds above are on this scale.
    score_power: float = 0.5
    time_decay: float = 0.15  # similarity lost at the far edge of the window
    # Time proximity between stories that all fit the article. Coverage of
    # one story comes in waves at its own rhythm; when several stories pass
    # the join threshold (near-identical topics: "stocks fall on China data"
    # on Monday and on Tuesday), the one still being covered is the likelier
    # home. A story's rhythm is the mean gap between its candidate members;
    # it counts as gone quiet after ``tempo_gaps`` such gaps (never under
    # ``tempo_floor_hours``, about a feed's timestamp resolution), and its
    # score for the choice loses up to ``tempo_weight``. Only the choice:
    # whether to join at all is decided on content alone, so a late follow-up
    # of a story with no fresher rival still joins (sparse streams, stories
    # that run for weeks). Stories of one article have no rhythm and lose
    # nothing. 0.3 rather than 0.2: UCI headlines 0.835 -> 0.840 (0.4 costs
    # giveme5w1h's long-running events 0.012); files without times unchanged.
    tempo_weight: float = 0.3
    tempo_gaps: float = 5.0
    tempo_floor_hours: float = 1.0
    # Two stories that are both being covered right now (quiet <= 0.1) and
    # that one article fits well are one story that arrival order split in
    # two (two outlets' first reports seconds apart each started one): they
    # merge at this lower bar. Below about 0.55 merges cascade across
    # related topics, so the bar stays well above that.
    merge_threshold_active: float = 0.65
    active_quiet: float = 0.1
    df_prior_docs: int = 50  # pretend the index holds this many unrelated documents
    # Optional semantic backend (:mod:`newsdesk.coverage.semantic`): when both
    # sides carry a sentence embedding (English text), the score is
    # (1 - semantic_weight) x lexical + semantic_weight x cosine, the cosine
    # rescaled from [semantic_floor, 1] to [0, 1] and clipped at 0. The same
    # mix scores members and the story's summed embedding; the thresholds
    # above stay as they are. Measured in docs/benchmarks.md ("semantic
    # backend"): weights 0.3-0.7 and floors -0.1-0.3 tried on every part of
    # the three sets; 0.5 and 0 improved all of them.
    semantic_weight: float = 0.5
    semantic_floor: float = 0.0
    # A headline alone (``headline_terms`` terms or fewer, on either side)
    # gives the word score a handful of words to go on: the cosine is then
    # rescaled from ``semantic_floor_headline`` (None: the same floor).
    headline_terms: int = 12
    semantic_floor_headline: float | None = None
    # Particulars (:mod:`newsdesk.coverage.particulars`): when both sides
    # name a kind of particular, sharing none of it multiplies the score by
    # (1 - penalty); sharing one multiplies it by (1 + bonus). Names count as
    # a kind: the capitalised words (not figures) of each side, when both
    # have ``names_min`` or more.
    # Measured on ECB+ (two same-kind events per topic) against giveme5w1h,
    # UCI and SemEval (docs/benchmarks.md): places, years and names separate
    # events; figures and days conflict as often between reports of one
    # event (tolls rise, outlets round, leads cite earlier dates), so they do
    # not push. Heavier penalties (0.3) gain ECB+ precision but cost giveme's
    # long-running events and SemEval's graded pairs more than they gain.
    conflict_place: float = 0.15
    conflict_year: float = 0.15
    conflict_day: float = 0.0
    conflict_number: float = 0.0
    conflict_names: float = 0.2
    names_min: int = 2
    # Names are compared without the words either side used as a place name
    # (``particulars.PLACE_WORD``): where is its own kind.
    names_without_places: bool = True
    # Two cities of one country and none in common count as a conflict on
    # where (``particulars.CITY``), for the count only.
    cities_apart: bool = True
    shared_year: float = 0.0
    shared_day: float = 0.0
    shared_number: float = 0.0
    # Many kinds in conflict, few shared: when two articles conflict on
    # ``conflict_many_kinds`` or more kinds (place, year, day, figure,
    # names), where or who among them, and agree on ``conflict_many_shared``
    # or fewer, the score is further multiplied by (1 - conflict_many).
    # Each kind alone is weak evidence (above), but reports of one event
    # nearly always agree on something: measured (docs/benchmarks.md,
    # "Same-kind events worded alike"), 0.1% of ECB+'s pairs of one event
    # are that far apart, 0.3% of giveme5w1h's and none of UCI's, against
    # 8.9%, 16% and 0% of pairs of two events, and 97% of the pairs of two
    # same-kind events in the whole-path bench's generated news (two rate
    # decisions, two rail strikes, worded alike in one language). When the
    # article is that far from every member of a story it was compared
    # with, the story scores no more than its members (its summed vector
    # does not count); not when it is that far from the story's core alone:
    # a core holds only what half the members agree on, so an article's
    # particulars conflict with it more often than with its matching member
    # (giveme5w1h recall 0.872 -> 0.858 when it did). 0.7 rather than 0.5:
    # two reports of two events written from one template (a house style)
    # score about 0.8 before it, and 0.4 at half that still joins;
    # giveme5w1h, ECB+ and UCI read the same at 0.5 and 0.7, SemEval 0.001
    # lower (docs/benchmarks.md, "Same-kind events in one country").
    conflict_many: float = 0.7
    conflict_many_kinds: int = 3
    conflict_many_shared: int = 1
    # A story's core: the particulars at least this share of its members
    # (those the article's search found) hold.
    core_share: float = 0.5
    # A late report: a story none of whose found members is within
    # ``window_hours`` of the article (a follow-up months later: the
    # gunman's profile after the shooting, a trailer weeks after the
    # first) is searched up to ``late_window_hours`` away, among the
    # ``late_candidates`` best late hits, and joined only on the story's
    # own particulars, which recurring same-kind events (next year's
    # election, the same team's next injury) do not share:
    # - its score reaches ``late_join_threshold`` (above the join bar);
    # - nothing in the article conflicts with the story's core (place,
    #   year, names);
    # - it shares ``late_names_min`` or more of the core's names that are
    #   rare in the index: idf at least ``late_name_rarity`` x the idf of
    #   a name seen once (at 100,000 articles: held by about 20 or fewer);
    # - at least ``late_names_held`` of its own most distinctive names
    #   (among its ``query_terms``) occur in the story's words ("Berlin's New
    #   Year's Eve safe zones" names Berlin, which the Cologne story of two
    #   years before does not); words, not only names: a Title-Case headline
    #   names its story's film or team in words not read as names.
    # A late story is never merged with another by this article.
    late_window_hours: float = 17520.0
    late_candidates: int = 10
    late_join_threshold: float = 0.4
    late_names_min: int = 2
    late_name_rarity: float = 0.75
    late_names_held: float = 0.5


@dataclass(slots=True)
class Doc:
    """An article as the clustering sees it: weighted, unit-length vectors.

    ``names`` holds the name stems with their idf and, under keys starting
    with ``@``, the article's particulars (``@p:MX``, ``@y:2008``...) with
    weight 0, so every store keeps them where it keeps the names.
    """

    key: int
    at: float  # seconds since the epoch
    terms: dict[str, float]
    grams: dict[str, float]
    names: dict[str, float]  # name stem -> idf; "@" + particular -> 0.0
    story: int | None = None
    embedding: Any = None  # unit-length numpy vector from the semantic backend, or None
    _split: tuple[dict[str, float], frozenset[str]] | None = field(default=None, repr=False, compare=False)
    _words: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def split_names(self) -> tuple[dict[str, float], frozenset[str]]:
        """(name stems -> idf, particulars), read once from ``names``."""
        if self._split is None:
            self._split = names_split(self.names)
        return self._split

    def name_words(self) -> frozenset[str]:
        """The name stems that are words (:func:`names_words`), read once."""
        if self._words is None:
            self._words = names_words(self.split_names()[0])
        return self._words

    @property
    def particulars(self) -> frozenset[str]:
        return self.split_names()[1]

    @property
    def name_stems(self) -> dict[str, float]:
        return self.split_names()[0]

    def index_terms(self, count: int) -> list[str]:
        """The article's most distinctive terms: what it is indexed and searched under."""
        ranked = sorted(self.terms.items(), key=lambda kv: (-kv[1], kv[0]))
        return [t for t, _ in ranked[:count]]


def names_words(stems: Iterable[str]) -> frozenset[str]:
    """The name stems that are words, not figures: what :func:`particulars_relation` compares as who."""
    return frozenset(n for n in stems if not n[:1].isdigit())


def names_split(names: dict[str, float]) -> tuple[dict[str, float], frozenset[str]]:
    """A document's ``names`` as (name stems -> idf, particulars without their prefix)."""
    plain = {k: w for k, w in names.items() if not k.startswith(PARTICULAR_PREFIX)}
    parts = frozenset(k[1:] for k in names if k.startswith(PARTICULAR_PREFIX))
    return plain, parts


@dataclass(slots=True)
class Candidate:
    key: int
    story: int
    hits: float
    late: bool = False  # published outside the ``near`` range the search was given


@dataclass(slots=True)
class Assignment:
    story: int
    created: bool
    score: float | None
    evidence: dict = field(default_factory=dict)
    merged: list[int] = field(default_factory=list)


class Store(Protocol):
    """Where the index lives. Every method is called inside :meth:`Store.locked`."""

    def doc_count(self) -> int: ...

    def df(self, keys: Sequence[str]) -> dict[str, int]: ...

    def candidates(
        self,
        *,
        terms: Sequence[str],
        since: float,
        until: float,
        per_term: int,
        near: tuple[float, float] | None = None,
    ) -> list[Candidate]:
        """Articles holding the terms, published in [since, until] (the newest ``per_term`` per term).

        With ``near``, those published outside it are marked ``late``. A store
        may return only the ``Params.candidates`` best near ones and the
        ``Params.late_candidates`` best late ones (by hits, then key).
        """
        ...

    def docs(self, keys: Sequence[int]) -> list[Doc]: ...

    def doc_save(self, *, doc: Doc, index_terms: Sequence[str], df_keys: Sequence[str]) -> None: ...

    def story_create(self, *, doc: Doc) -> int: ...

    def story_merge(self, *, source: int, target: int) -> None: ...

    def centroids(self, keys: Sequence[int]) -> dict[int, dict[str, float]]: ...

    def stories_of(self, keys: Sequence[int]) -> dict[int, int]:
        """The current story of each of these articles that has one (editors' links name few)."""
        ...


def _idf(df: int, n: int, prior: int) -> float:
    return math.log((n + prior + 1) / (df + 1)) + 1.0


def _unit(vec: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(v * v for v in vec.values()))
    if not norm:
        return {}
    return {k: v / norm for k, v in vec.items()}


def features_grams(features: Features, params: Params) -> dict[str, float]:
    """The character n-grams that count: none while the scoring gives them no weight.

    A zero weight adds exactly 0.0 to every similarity, so their document
    frequencies are neither read nor written and no gram vector is stored
    (real articles carry ~240 grams against ~50 terms: most of an
    assignment's writes). Giving grams a weight needs ``recluster`` first.
    """
    return features.grams if params.weight_grams else {}


def doc_build(*, key: int, at: float, features: Features, store: Store, params: Params, embedding: Any = None) -> Doc:
    """Weigh features by the store's current document frequencies."""
    gram_tf = features_grams(features, params)
    df = store.df([*features.terms, *(GRAM_PREFIX + g for g in gram_tf)])
    n = store.doc_count()
    prior = params.df_prior_docs
    terms = {t: (1 + math.log(tf)) * _idf(df.get(t, 0), n, prior) for t, tf in features.terms.items()}
    grams = {g: (1 + math.log(tf)) * _idf(df.get(GRAM_PREFIX + g, 0), n, prior) for g, tf in gram_tf.items()}
    names = {t: _idf(df.get(t, 0), n, prior) for t in features.names if t in features.terms}
    names.update((PARTICULAR_PREFIX + p, 0.0) for p in features.particulars)
    return Doc(key=key, at=at, terms=_unit(terms), grams=_unit(grams), names=names, embedding=embedding)


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    # Terms missing from b add exactly 0.0: skipping them gives the same sum, in the same order
    # (the shared keys in a's order, each product a[k] * b[k], summed left to right).
    shared = [k for k in a if k in b]
    return sum(map(operator.mul, map(a.__getitem__, shared), map(b.__getitem__, shared)))


def _name_overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """Share of the smaller side's name weight that the other side also has."""
    if not a or not b:
        return 0.0
    shared = sum(w for k, w in a.items() if k in b)
    return shared / min(sum(a.values()), sum(b.values()))


@functools.lru_cache(maxsize=1024)
def _kinds(parts: frozenset[str]) -> dict[str, set[str]]:
    """The particulars by kind (their two-character prefix). Read only: the result is shared.

    Cached: an article's particulars are compared with every candidate's and
    with each candidate story's core, a few hundred times per assignment, and
    the same frozenset object comes back each time (its hash is kept).
    """
    out: dict[str, set[str]] = {}
    for p in parts:
        out.setdefault(p[:2], set()).add(p)
    return out


def _cities_apart(ka: dict[str, set[str]], kb: dict[str, set[str]]) -> bool:
    """Whether both sides name cities (``c:`` particulars) and none in common."""
    ca, cb = ka.get(CITY), kb.get(CITY)
    return bool(ca and cb and ca.isdisjoint(cb))


@functools.lru_cache(maxsize=1024)
def _place_words(parts: frozenset[str]) -> frozenset[str]:
    """The name stems a side used as a place name (its ``w:`` particulars)."""
    return frozenset(p[2:] for p in parts if p.startswith(PLACE_WORD))


# Particulars that mark a word (a place name, a month of a date) rather than say where or when.
_MARKS = (PLACE_WORD, MONTH_WORD)


@functools.lru_cache(maxsize=1024)
def _month_words(parts: frozenset[str]) -> frozenset[str]:
    """The name stems a side wrote as a month of a date (its ``m:`` particulars)."""
    return frozenset(p[2:] for p in parts if p.startswith(MONTH_WORD))


def particulars_relation(
    a: frozenset[str],
    b: frozenset[str],
    names_a: Iterable[str],
    names_b: Iterable[str],
    *,
    params: Params,
    words_a: frozenset[str] | None = None,
    words_b: frozenset[str] | None = None,
) -> tuple[float, bool]:
    """How the particulars of two sides move their score, and whether they conflict on many kinds.

    For each kind (place, year, day, figure, and the names) that both sides
    mention: sharing none is evidence of two events (the score is multiplied
    by 1 - that kind's conflict penalty), sharing one is evidence of one (by
    1 + its bonus). A side silent on a kind says nothing. The flag says
    whether they conflict on ``conflict_many_kinds`` kinds or more and share
    ``conflict_many_shared`` or fewer (``Params.conflict_many``). ``words_a`` /
    ``words_b``: ``names_words(names_a)`` / ``(names_b)`` when the caller keeps them.
    """
    factor = 1.0
    shared_kinds = conflict_kinds = 0
    strong = False  # a conflict on where or who: figures, days and years alone never count as many
    if a and b:
        ka, kb = _kinds(a), _kinds(b)
        for kind, conflict, shared in (
            ("p:", params.conflict_place, 0.0),
            ("y:", params.conflict_year, params.shared_year),
            ("d:", params.conflict_day, params.shared_day),
            ("n:", params.conflict_number, params.shared_number),
        ):
            sa, sb = ka.get(kind), kb.get(kind)
            if sa and sb:
                if sa.isdisjoint(sb):
                    factor *= 1.0 - conflict
                    conflict_kinds += 1
                    strong = strong or kind == "p:"
                elif kind == "p:" and params.cities_apart and _cities_apart(ka, kb):
                    # One country, two of its cities and none in common: for
                    # the count (not the factor), where conflicts.
                    conflict_kinds += 1
                    strong = True
                else:
                    factor *= 1.0 + shared
                    shared_kinds += 1
    wa = names_words(names_a) if words_a is None else words_a
    wb = names_words(names_b) if words_b is None else words_b
    if len(wa) >= params.names_min and len(wb) >= params.names_min:
        if wa.isdisjoint(wb):
            factor *= 1.0 - params.conflict_names
            conflict_kinds += 1
            strong = True
        else:
            # For the count (not the factor), who is compared without the
            # places both sides name: a country both name is one shared
            # place, counted above, not also a shared name (two earthquakes
            # in Russia, their cities, dates, figures and officials all
            # different, agree on where alone). A month in common that
            # either side wrote as a date ("November 3", capitalised in
            # English) is a date, counted under days; "Theresa May" is who.
            # Sharing nothing else, the names conflict for the count.
            where = _place_words(a) & _place_words(b) if params.names_without_places else frozenset()
            if (wa & wb) - _month_words(a) - _month_words(b) - where:
                shared_kinds += 1
            elif not where or (len(wa - where) >= params.names_min and len(wb - where) >= params.names_min):
                conflict_kinds += 1
                strong = True
    many = strong and conflict_kinds >= params.conflict_many_kinds and shared_kinds <= params.conflict_many_shared
    return factor, many


def particulars_factor(
    a: frozenset[str],
    b: frozenset[str],
    names_a: Iterable[str],
    names_b: Iterable[str],
    *,
    params: Params,
    pair: bool = False,
    words_a: frozenset[str] | None = None,
) -> float:
    """How the particulars of two articles (``pair``) or an article and a story's core move their score.

    See :func:`particulars_relation`; between two articles, many kinds in
    conflict and few shared push further (``Params.conflict_many``).
    """
    factor, many = particulars_relation(a, b, names_a, names_b, params=params, words_a=words_a)
    if pair and many:
        factor *= 1.0 - params.conflict_many
    return factor


def doc_similarity(a: Doc, b: Doc, *, params: Params) -> float:
    """How likely two articles report the same story, in [0, 1]."""
    return _doc_similarity(a, b, params=params)[0]


def _doc_similarity(a: Doc, b: Doc, *, params: Params) -> tuple[float, bool]:
    """:func:`doc_similarity`, and whether the two conflict on many kinds (:func:`particulars_relation`)."""
    names_a, parts_a = a.split_names()
    names_b, parts_b = b.split_names()
    score = params.weight_terms * _cosine(a.terms, b.terms)
    if params.weight_grams:  # a zero weight adds exactly 0.0: skip the (long) gram vectors
        score += params.weight_grams * _cosine(a.grams, b.grams)
    score += params.weight_names * _name_overlap(names_a, names_b)
    lexical = max(score, 0.0) ** params.score_power
    if a.embedding is not None and b.embedding is not None and params.semantic_weight:
        cosine = float(a.embedding @ b.embedding)
        lexical = _semantic_mix(lexical, cosine, params=params, terms=min(len(a.terms), len(b.terms)))
    # particulars_factor(..., pair=True), keeping the flag for the caller.
    factor, many = particulars_relation(
        parts_a, parts_b, names_a, names_b, params=params, words_a=a.name_words(), words_b=b.name_words()
    )
    if many:
        factor *= 1.0 - params.conflict_many
    return min(1.0, lexical * factor) * _time_factor(a, b, params=params), many


def story_core(members: Sequence[Doc], *, share: float) -> tuple[frozenset[str], frozenset[str]]:
    """A story's core: the particulars that at least ``share`` of ``members`` hold, and the names
    whose weights, summed over the members, reach ``share`` times their number.

    A particular counts once per member. A name counts with its weight in each
    member (its rarity), so a rare name held by fewer members can be core
    where a common one needs more of them; the refinement's thresholds were
    tuned with this reading (docs/benchmarks.md, h24lex, "noticed").

    The story model: a story is what most of its members agree on (where,
    when, which figures, who), not only the sum of their words. A member's
    stray mention (a place named in passing) stays out of the core.
    """
    if not members:
        return frozenset(), frozenset()
    need = max(1.0, share * len(members))
    if len(members) == 1:  # what the counts below give for one member, without them
        stems, ps = members[0].split_names()
        return ps if need <= 1 else frozenset(), frozenset(n for n, w in stems.items() if w >= need)
    parts: Counter[str] = Counter()
    names: Counter[str] = Counter()
    for m in members:
        stems, ps = m.split_names()
        parts.update(ps)
        names.update(stems)
    return (
        frozenset(p for p, c in parts.items() if c >= need),
        frozenset(n for n, c in names.items() if c >= need),
    )


def _semantic_mix(lexical: float, cosine: float, *, params: Params, terms: int) -> float:
    floor = params.semantic_floor
    if terms <= params.headline_terms and params.semantic_floor_headline is not None:
        floor = params.semantic_floor_headline
    sem = max(0.0, (cosine - floor) / (1.0 - floor))
    return (1.0 - params.semantic_weight) * lexical + params.semantic_weight * sem


def _time_factor(a: Doc, b: Doc, *, params: Params) -> float:
    window = params.window_hours * 3600.0
    if window <= 0:
        return 1.0
    return 1.0 - params.time_decay * min(1.0, abs(a.at - b.at) / window)


def _story_quiet(at: float, member_times: list[float], *, params: Params) -> float:
    """How far a story has gone quiet at ``at``, 0 (active) .. 1, judged by its own rhythm."""
    if len(member_times) < 2:
        return 0.0
    first, last = min(member_times), max(member_times)
    rhythm_h = (last - first) / (len(member_times) - 1) / 3600.0
    scale_h = max(params.tempo_floor_hours, params.tempo_gaps * rhythm_h)
    gap_h = max(0.0, at - last) / 3600.0
    return 1.0 - 2.0 ** (-gap_h / scale_h)


def centroid_add(centroid: dict[str, float], vec: dict[str, float], *, keep: int) -> dict[str, float]:
    """A story's summed term vector after adding one member, cut to its ``keep`` heaviest terms."""
    out = dict(centroid)
    for k, v in vec.items():
        out[k] = out.get(k, 0.0) + v
    if len(out) > keep:
        out = dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))[:keep])
    return out


def doc_evidence(a: Doc, b: Doc, *, score: float, limit: int = 8) -> dict:
    """Why two articles were linked: the shared terms that weigh most, shared names and particulars, the score."""
    shared = sorted(((a.terms[t] * b.terms[t], t) for t in a.terms if t in b.terms), reverse=True)
    names = sorted(t for t in a.name_stems if t in b.name_stems)
    return {
        "score": round(score, 4),
        "shared_terms": [t for _, t in shared[:limit]],
        "shared_names": names[:limit],
        "shared_particulars": sorted(p for p in a.particulars & b.particulars if p[:2] not in _MARKS)[:limit],
        "matched_article": b.key,
    }


def doc_assign(
    *,
    doc_key: int,
    at: float,
    features: Features,
    store: Store,
    params: Params,
    embedding: Any = None,
    links: Links = NO_LINKS,
) -> Assignment:
    """Join the article to its best story or start one. Call inside ``store.locked``.

    ``links`` are the editors' decisions (:mod:`newsdesk.coverage.links`):
    an article with must-partners in a story joins it, a story holding a
    cannot-partner is never joined, and no merge joins a cannot-linked pair.
    """
    doc = doc_build(key=doc_key, at=at, features=features, store=store, params=params, embedding=embedding)
    index_terms = doc.index_terms(params.query_terms)
    df_keys = [*features.terms, *(GRAM_PREFIX + g for g in features_grams(features, params))]
    if links and links.must_of(doc_key):
        placed = _doc_assign_must(doc=doc, store=store, links=links, index_terms=index_terms, df_keys=df_keys)
        if placed is not None:
            return placed
    forbidden = set(store.stories_of(sorted(links.cannot_of(doc_key))).values()) if links else set()
    window = params.window_hours * 3600.0
    reach = max(window, params.late_window_hours * 3600.0)
    # The late search reaches back only for an article that could join a late
    # story at all (:func:`late_join_possible`); otherwise every late story
    # would be dropped after scoring. The postings older than the window are
    # the oldest of each term's list: cutting them leaves the rest as it was.
    back = reach if late_join_possible(doc, params=params, n_docs=store.doc_count()) else window
    found = store.candidates(
        terms=doc.index_terms(params.search_terms),
        since=at - back,
        until=at + reach,
        per_term=params.postings_per_term,
        near=(at - window, at + window),
    )
    found = [c for c in found if c.key != doc_key]
    found.sort(key=lambda c: (-c.hits, c.key))
    near = [c for c in found if not c.late][: params.candidates]
    late_keys = {c.key for c in [c for c in found if c.late][: params.late_candidates]}
    scored: list[tuple[float, Doc]] = []
    # Whether the article conflicts with each candidate on many kinds: known from the pair's score.
    many_with: dict[int, bool] = {}
    others = [o for o in store.docs([c.key for c in near] + sorted(late_keys)) if o.story not in forbidden]
    # A late member counts only for a story found nowhere in the window, and
    # only if that story could pass late_joinable's names test: the others
    # are dropped below whatever they score, so they are not scored.
    late_hopeful = _late_stories_hopeful(
        doc,
        [o for o in others if o.key in late_keys],
        found_near={o.story for o in others if o.key not in late_keys},
        params=params,
        n_docs=store.doc_count(),
    )
    for other in others:
        if other.key not in late_keys or other.story in late_hopeful:
            score, many_with[other.key] = _doc_similarity(doc, other, params=params)
            scored.append((score, other))
    # A story scores by its best few members: one lucky overlap with a big
    # story is weaker evidence than several. Ties go to the older story.
    # A story with a member inside the window is judged on those members
    # alone, exactly as without the late search.
    current = {other.story for _, other in scored if other.key not in late_keys}
    by_story: dict[int, list[tuple[float, Doc]]] = {}
    for score, other in scored:
        assert other.story is not None
        if other.key in late_keys and other.story in current:
            continue
        by_story.setdefault(other.story, []).append((score, other))
    late = set(by_story) - current
    best_by_story: dict[int, tuple[float, Doc]] = {}
    for story_key, members in by_story.items():
        members.sort(key=lambda sm: (-sm[0], sm[1].key))
        top = members[: params.story_top]
        best_by_story[story_key] = (sum(sc for sc, _ in top) / len(top), top[0][1])
    if params.centroid_weight:
        cents = store.centroids(sorted(best_by_story))
        sem_cents: dict[int, Any] = {}
        semantic = doc.embedding is not None and params.semantic_weight
        if semantic and hasattr(store, "centroid_embeddings"):
            sem_cents = store.centroid_embeddings(sorted(best_by_story))
        for story_key, (member_score, match) in list(best_by_story.items()):
            cent = cents.get(story_key, {})
            # The same products summed in the same order as sum(v * v for v in ...), without a generator.
            norm = math.sqrt(sum(map(operator.mul, cent.values(), cent.values()))) or 1.0
            cs = _cosine(doc.terms, cent) / norm**params.centroid_norm_power
            cs = max(cs, 0.0) ** params.score_power
            sem_cent = sem_cents.get(story_key)
            if sem_cent is not None:
                sem_norm = float((sem_cent @ sem_cent) ** 0.5) or 1.0
                cs = _semantic_mix(cs, float(doc.embedding @ sem_cent) / sem_norm, params=params, terms=len(doc.terms))
            cs *= _time_factor(doc, match, params=params)
            core_parts, core_names = story_core([d for _, d in by_story[story_key]], share=params.core_share)
            cs *= particulars_factor(
                doc.particulars, core_parts, doc.name_stems, core_names, params=params, words_a=doc.name_words()
            )
            mixed = (1 - params.centroid_weight) * member_score + params.centroid_weight * min(1.0, cs)
            # A story none of whose members the article could share (many
            # kinds in conflict with each, ``conflict_many``): the summed
            # vector of a story of one kind of event would carry it where no
            # member would (its words are the kind's words, and a big story's
            # summed vector scores near 1 whatever its particulars), so the
            # members' score caps the story's.
            if params.conflict_many and all(many_with[d.key] for _, d in by_story[story_key]):
                mixed = min(mixed, member_score)
            best_by_story[story_key] = (mixed, match)
    for story_key in sorted(late):
        members = [d for _, d in by_story[story_key]]
        if not late_joinable(doc, best_by_story[story_key][0], members, params=params, n_docs=store.doc_count()):
            del best_by_story[story_key]
    content_best = max((sc for sc, _ in best_by_story.values()), default=0.0)
    active: set[int] = set()
    for story_key, (sc, match) in list(best_by_story.items()):
        times = [d.at for _, d in by_story[story_key]]
        quiet = _story_quiet(doc.at, times, params=params)
        best_by_story[story_key] = (sc * (1.0 - params.tempo_weight * quiet), match)
        # A story of one article has no rhythm: active only within the floor.
        if quiet <= params.active_quiet and (len(times) > 1 or doc.at - max(times) <= params.tempo_floor_hours * 3600):
            active.add(story_key)
    ranked = sorted(best_by_story.items(), key=lambda kv: (-kv[1][0], kv[0]))
    if not ranked or content_best < params.join_threshold:
        story = store.story_create(doc=doc)
        doc.story = story
        store.doc_save(doc=doc, index_terms=index_terms, df_keys=df_keys)
        return Assignment(story=story, created=True, score=None, evidence={})
    story, (score, match) = ranked[0]

    def merge_bar(other: int) -> float:
        both_active = story in active and other in active
        return params.merge_threshold_active if both_active else params.merge_threshold

    merged = sorted(
        s for s, (sc, _) in ranked[1:] if min(sc, score) >= merge_bar(s) and story not in late and s not in late
    )
    if merged and links:
        merged = links_merge_group(merged, forbidden=_forbidden_pairs(store, links), seed=[story])
    if merged:
        target = min([story, *merged])
        for source in sorted({story, *merged} - {target}):
            store.story_merge(source=source, target=target)
        story = target
    else:
        merged = []
    doc.story = story
    store.doc_save(doc=doc, index_terms=index_terms, df_keys=df_keys)
    return Assignment(
        story=story,
        created=False,
        score=score,
        evidence=doc_evidence(doc, match, score=score),
        merged=[s for s in sorted({*merged, ranked[0][0]}) if s != story],
    )


def late_joinable(doc: Doc, score: float, members: Sequence[Doc], *, params: Params, n_docs: int) -> bool:
    """Whether a late report may join a story whose found ``members`` are all outside the window.

    The evidence a recurring event of the same kind lacks (see ``Params.late_window_hours``):
    a score above ``late_join_threshold``, no conflict with the story's core,
    two or more of the core's rare names shared, and its own distinctive names in the story.
    """
    if score < params.late_join_threshold or not members:
        return False
    core_parts, core_names = story_core(members, share=params.core_share)
    stems = doc.name_stems
    if (
        particulars_factor(doc.particulars, core_parts, stems, core_names, params=params, words_a=doc.name_words())
        < 1.0
    ):
        return False
    rare = _late_rare_names(core_names, stems, params=params, n_docs=n_docs)
    if len(rare) < params.late_names_min:
        return False
    # Looked for among the story's words, not its names alone: a Title-Case headline's words are not
    # read as names ("Avengers Infinity War Trailer Breaks Record"), yet they name the story's own.
    held = {t for m in members for t in m.terms}
    mine = [t for t in doc.index_terms(params.query_terms) if t in stems and not t[:1].isdigit()]
    return sum(t in held for t in mine) >= params.late_names_held * len(mine)


def late_join_possible(doc: Doc, *, params: Params, n_docs: int) -> bool:
    """Whether :func:`late_joinable` could accept any late story for this article.

    It needs ``late_names_min`` of the story's core names among the article's
    own rare names; an article with fewer rare names than that (most
    headlines, any text without names) can join no late story, whatever the
    search finds. (A rarity of 0 or less lets names the article lacks count:
    then it is always possible.)
    """
    if params.late_name_rarity <= 0:
        return True
    stems = doc.name_stems
    return len(_late_rare_names(stems, stems, params=params, n_docs=n_docs)) >= params.late_names_min


def _late_stories_hopeful(
    doc: Doc, late_members: Sequence[Doc], *, found_near: set[int | None], params: Params, n_docs: int
) -> set[int | None]:
    """The stories of ``late_members`` that :func:`late_joinable` could accept.

    Not those with a member found in the window (``found_near``: judged on
    those alone), nor those whose late members hold fewer than
    ``late_names_min`` of the article's rare names between them (a core
    name is held by one of them at least).
    """
    stories = {m.story for m in late_members} - found_near
    if params.late_name_rarity <= 0:
        return stories
    stems = doc.name_stems
    own = set(_late_rare_names(stems, stems, params=params, n_docs=n_docs))
    held: dict[int | None, set[str]] = {}
    for m in late_members:
        if m.story in stories:
            held.setdefault(m.story, set()).update(own.intersection(m.name_stems))
    return {story for story, names in held.items() if len(names) >= params.late_names_min}


def _late_rare_names(names: Iterable[str], stems: dict[str, float], *, params: Params, n_docs: int) -> list[str]:
    """Those of ``names`` that the article holds as rare names (idf in ``stems``), not figures."""
    # idf of a name held by one document of the index, the rarest there is.
    once = _idf(0, n_docs, params.df_prior_docs)
    return [n for n in names if not n[:1].isdigit() and stems.get(n, 0.0) >= params.late_name_rarity * once]


def _forbidden_pairs(store: Store, links: Links) -> set[frozenset[int]]:
    return links_story_pairs_forbidden(links, lambda keys: store.stories_of(sorted(keys)))


def _doc_assign_must(
    *, doc: Doc, store: Store, links: Links, index_terms: list[str], df_keys: list[str]
) -> Assignment | None:
    """Join the story of the article's must-partners (an editor's decision), or None when none is in a story yet.

    Partners in several stories bring them together, lowest id first, as far
    as cannot-links allow; the article joins the lowest.
    """
    stories = sorted(set(store.stories_of(sorted(links.must_of(doc.key))).values()))
    forbidden_own = set(store.stories_of(sorted(links.cannot_of(doc.key))).values())
    stories = [s for s in stories if s not in forbidden_own]
    if not stories:
        return None
    story, rest = stories[0], stories[1:]
    if rest:
        rest = links_merge_group(rest, forbidden=_forbidden_pairs(store, links), seed=[story])
        for source in rest:
            store.story_merge(source=source, target=story)
    doc.story = story
    store.doc_save(doc=doc, index_terms=index_terms, df_keys=df_keys)
    return Assignment(story=story, created=False, score=None, evidence={"by_editor": True}, merged=rest)


def pair_similarity(
    *,
    a: Features,
    b: Features,
    store: Store,
    params: Params,
    at: float = 0.0,
    embedding_a: Any = None,
    embedding_b: Any = None,
) -> float:
    """Score two articles with the clustering's own similarity (for the pair evaluation)."""
    doc_a = doc_build(key=-1, at=at, features=a, store=store, params=params, embedding=embedding_a)
    doc_b = doc_build(key=-2, at=at, features=b, store=store, params=params, embedding=embedding_b)
    return doc_similarity(doc_a, doc_b, params=params)
