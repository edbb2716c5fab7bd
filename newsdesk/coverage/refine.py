"""Refinement behind the stream: re-examine the recent stories as a whole.

Online assignment sees one article at a time, in arrival order: an early
article that happens to bridge two events glues them, and two outlets' first
reports seconds apart start two stories. A periodic pass (beat, every few
minutes, over the last 48 hours) looks at the window's articles together:

1. **Split.** Each story's members are grouped by average linkage of their
   pairwise similarities (:func:`~newsdesk.coverage.engine.doc_similarity`,
   particulars included: a shared year, day or figure pulls, a conflicting
   place, year or set of names pushes). A story whose members fall into
   groups that do not reach ``split_threshold`` on average is split; the
   group holding most members keeps the story's id. Stories with more than
   ``split_max`` members in the window are left whole (their cost grows with
   the square of their size, and big stories are the ones the stream's
   centroid already holds together).
   A story with members older than the window is not split on what the
   window holds of it: its window members are bisected against its latest
   older members (held as one group), and those that do not join them leave
   when the two groups are apart by the same test (a story revived by
   another event: a flight that landed in one year after a flight that
   turned back days before).
2. **Merge.** The pieces are indexed by their core terms (the heaviest
   terms of their members' summed vectors); pieces that share core terms
   are compared by the mean similarity of their members (at most
   ``link_sample`` of each side), and average linkage joins them while that
   mean reaches ``merge_threshold``. The largest story among the joined
   pieces (then the oldest) keeps its id. A lone article left alone joins
   the piece it links to best at a lower bar (``lone_join``) when one of
   the piece's members reaches the join bar with it and its names and
   particulars agree with the piece's core (with sentence vectors only).

Cost is bounded by the window (``window_articles``) and the caps above,
never by the whole index.

Editors' decisions are a plain input (:class:`~newsdesk.coverage.links.Links`):
cannot-linked articles never end in one story, must-linked ones never in two.

The pass is a pure function of the window's documents and their current
stories, and a fixed point: re-running it on its own output changes nothing
(the pass is repeated internally until nothing moves, at most a few times),
so a pass over an unchanged window writes nothing.

No storage here: the caller reads the window's documents (memory store or
database) and applies the returned moves.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from .engine import Doc, Params, doc_evidence, doc_similarity, particulars_factor, story_core
from .linkage import Pair, agglomerate, groups_blocked, must_groups, pair_key
from .links import NO_LINKS, Links
from .particulars import PLACE, YEAR, month_stems


@dataclass(frozen=True, slots=True)
class OwnCore:
    """A group's own core: ``keys`` or more names, places or years that ``share`` of it holds and
    ``other`` of the other group at most; only groups of ``group_min`` members or more have one.

    Two groups are two events when each holds an own core, or when one of them holds a *dated*
    one: ``dated`` or more own keys, a year among them. Same-kind events differ in when; the
    angles of one event (the driver who crashed, the one who retired) differ in who, and one
    angle's own names alone are no second event. A group whose members name a year and names
    of their own that the other group's members never name (``Peter Capaldi``, 2013, against
    reports of Matt Smith's casting) reports another occurrence even when the other group says
    nothing of its own (no date, only the names both share). 0: off.

    A name or place of a core is the group's own only when ``local`` of the window's articles
    that hold it, or more, are in the group: a title or word that many other stories of the
    window use too ("President", "Asian", "GMT") is common vocabulary, not a core. Years are
    exempt (a year is what a dated core is about), and so are months with ``dated_month``. 0: off.

    With ``dated_month``, a group whose own keys hold a year (``dated_share`` of it or more) and a
    month is dated however few its other own keys: a year and a month that the other group never
    names are when, to the month (a dateline: "18 September 2013"). Without publication times the
    other group (which names that year in a fifth of its members at most) is another occurrence
    when the two link less than
    ``RefineParams.split_ratio_dated`` x the weaker cohesion; one event whose datelined reports
    say what the others say links as well across as within, and stays whole.

    With ``where_or_when``, two groups whose own cores hold who alone (no place, no year) while
    ``share`` of each names one year are angles of one event, not two: they agree on when, and
    differ only in who else each quotes (Lindsay Lohan's lawyer in one, her clinic and its town
    in the other). Two events of one kind with no year in common (Tara Reid's rehab and Lindsay
    Lohan's) still split on who. Not where the groups are apart in time already (a story's
    window members against its older members, ``RefineParams.revive_anchors``).
    """

    keys: int = 2
    share: float = 0.5
    other: float = 0.2
    group_min: int = 4
    dated: int = 5
    dated_share: float = 0.75  # the year of a dated core: held by this share of its group or more
    dated_month: bool = True  # a year and a month of its own date a core, however few its other keys
    local: float = 0.34  # a name or place of a core: this share of the window's holders of it in the group, or more
    where_or_when: bool = True  # own cores of who alone in groups naming one year: angles (not in the revival test)


@dataclass(frozen=True, slots=True)
class Waves:
    """Two waves of coverage, not one event: a story whose members fall into an earlier and a later
    group with a quiet gap between them, the later one linking to the earlier one less than each
    holds together.

    One event's reports come at their own rhythm; a second event of the same topic (the company's
    next product, the market's next day, the star's next scandal) comes as a wave of its own,
    hours or days later, with the topic's words and names and little else in common with the
    first. The online assignment joins it on those (the story's summed vector holds them all), and
    a story that grows past ``split_max`` was never re-examined at all. So the pass cuts a story at
    its quiet gaps whatever its size: a gap of ``gap_hours`` or more, and ``gaps`` times the mean
    gap between the members of either side or more, with ``group_min`` members or more on each
    side; the two sides are two stories when the mean similarity across them (at most
    ``RefineParams.link_sample`` evenly spread members of each) is below ``ratio`` times the weaker
    side's mean similarity within, and below ``RefineParams.split_threshold``. The cut that links
    least is taken, then each side is examined again. The merge does not join two such pieces back.
    A story reported at a steady rhythm has no such gap, and one event covered again after a
    quiet night links across it as well as within (``ratio``). 0 ``gap_hours``: off.

    With ``revived``, a story with members older than the window is cut so too, whatever the
    size of its window part: its latest older members (``RefineParams.revive_anchors``) and its
    window members are taken as one story in time; at a cut, the later wave (window members
    only) leaves, the earlier one stays with the story's older members. Without it, such a story
    with more than ``split_max`` window members was never examined (a topic's new wave, days on).
    """

    gap_hours: float = 1.0
    gaps: float = 5.0
    ratio: float = 1.0
    group_min: int = 4
    cuts: int = 4  # the largest gaps tried, at most
    # A story with members older than the window: cut at its waves too. Off by default: on a story
    # of thousands of members the cut moves thousands; saying why for each moved member compared it
    # with every fellow member (bench/coverage.py's recluster of 10k fell from about 800 to 135
    # articles/s with it on, lead, 2026-12-07). ``members_evidence`` now finds the closest fellow by
    # bounds (38 s of CPU down to under 1 s there), but the cut's passes still cost the rebuild
    # about a quarter more CPU (docs/benchmarks.md, h27rec). At the shipped 48 h window it changes
    # nothing on the four evaluation files.
    revived: bool = False


@dataclass(frozen=True, slots=True)
class RefineParams:
    split_threshold: float = 0.5
    split_ratio: float = 0.4
    split_ratio_conflict: float = 0.75
    split_pairs: bool = True  # a story of two lone articles may split (on conflicting particulars alone)
    # A lone member's particulars are not a core: one report also names the
    # victims' countries or a second place ("Tunisians, Algerians among dead
    # in Nice attack"), so it conflicts with the story's core more often than
    # two groups of reports do. With False, a lone member leaves a story only
    # on the relative link (``split_ratio``), not on a conflict with the core
    # (``split_ratio_conflict``); two lone articles still may (``split_pairs``).
    # Measured (docs/benchmarks.md, "h19g5"): of the lone members split on a
    # core conflict, 4 of 5 were reports of the story's own event.
    conflict_lone: bool = False
    merge_threshold: float = 0.4
    # A lone article (a piece of one) that the merge left alone joins the piece it links to best
    # (of all the pieces compared with it) when their mean link reaches ``lone_join`` (below
    # ``merge_threshold``), one of the piece's members scores at the join bar with it
    # (``Params.join_threshold``), nothing in it conflicts with the piece's core (where, which year,
    # who) and it names ``lone_names`` or more of the core's names: a side story of the event (the
    # suspect's profile beside the shooting's reports) that the stream's story score left just under
    # the bar, and that the merge's mean alone cannot tell from another event of the topic (a
    # space station's fall beside a moon mission, both Chinese, both 2018: one name in common).
    # Only on the model's reading (the article and the member at the join bar carry sentence vectors;
    # a member the model does not read, a headline in a language it lacks, may sit in the piece): on
    # words alone the region's or
    # the occasion's vocabulary links other events just as well (Likud's annexation resolution and a
    # Palestinian girl's indictment; a film's Super Bowl trailer and the halftime show), so without
    # vectors (``NEWSDESK_COVERAGE_SEMANTIC=off``) a lone article stays alone.
    # Measured (docs/benchmarks.md, "h26g5" and "h27g5"). 0: off.
    lone_join: float = 0.3
    lone_names: int = 2
    split_ratio_exclusive: float = 0.9  # two groups with cores of their own (OwnCore) link below this x cohesion
    # One group with a dated core of its own (``OwnCore.dated``) links below this x cohesion. Higher
    # than the bar above: the two events' reports share the story's names and words (the role, the
    # company, the kind of flaw), so they link nearly as well as each holds together (0.91-0.95 on
    # ECB+'s Doctor Who castings); what sets them apart is the year and names only one side holds.
    split_ratio_dated: float = 0.95
    own_core: OwnCore = OwnCore()
    waves: Waves = Waves()
    split_by_core: bool = True  # also try the split each name, place or year draws (holders / the others)
    merge_exclusive: bool = True  # pieces that each hold a core of their own do not merge
    merge_conflict: bool = True  # pieces whose cores disagree on who, where or which year do not merge
    split_max: int = 150  # stories with more members in the window are not split
    # A story with members older than the window: its window part is set against its latest
    # ``revive_anchors`` older members, and leaves as a story of its own where the two are apart
    # (the bisection's test). 0: such a story is never split.
    revive_anchors: int = 10
    revive_older_min: int = 2  # fewer older members than this are no story to set the window part against
    core_terms: int = 8  # terms a piece is indexed under to find pieces worth comparing
    core_postings: int = 50  # a core term shared by more pieces than this is too common to find anything
    link_candidates: int = 8  # pieces compared with each piece, those sharing most core terms
    link_sample: int = 20  # members of each side compared (evenly spread over the piece)
    max_rounds: int = 3
    # The window a pass re-examines, and how often beat runs it.
    window_hours: float = 48.0
    window_articles: int = 20_000
    every_seconds: float = 600.0
    every_articles: int = 100


@dataclass(slots=True)
class Refinement:
    """What a pass decided: the new story of each moved article (negative: the n-th new story)."""

    moves: dict[int, int] = field(default_factory=dict)  # article key -> story, or -n for a new one
    merged: dict[int, int] = field(default_factory=dict)  # absorbed story -> surviving story
    split: list[int] = field(default_factory=list)  # stories that gave members to new stories

    @property
    def changed(self) -> bool:
        return bool(self.moves)


@dataclass(slots=True)
class RefineCache:
    """What a pass may reuse from the previous ones over overlapping windows.

    A document's vectors do not change once built, so neither do its
    similarities, nor the split of a story whose members are the same as
    last time. A worker process (or an evaluation) keeps one; it is cleared
    when it grows past ``limit`` entries.
    """

    sims: dict[Pair, float] = field(default_factory=dict)  # article key pair -> similarity
    splits: dict[tuple[int, ...], list[list[int]]] = field(default_factory=dict)  # members -> groups
    limit: int = 3_000_000
    # False: no pairwise similarity is kept, not even within a pass (a worker's passes: 245,000
    # pairs, about 30 MB, for a window of 10,600 documents); each split computes its story's
    # pairs once, and the merge its sampled pairs. The result is the same either way.
    keep_sims: bool = True

    def trim(self) -> None:
        if len(self.sims) + len(self.splits) > self.limit:
            self.sims.clear()
            self.splits.clear()


class Vectors:
    """The window's sentence vectors as the database stores them: float16 rows of one matrix.

    A pass holds every document of its window; as float32 arrays, one per
    document, their vectors were the biggest part of it (2 KB each, 21 MB for
    10,600 documents). Here they take half, in one block, and a document
    gets its float32 vector (the same values: float16 widens exactly) only
    while :meth:`attached` compares it.
    """

    def __init__(self, keys: Sequence[int], matrix: Any):
        self.row = {k: n for n, k in enumerate(keys)}
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.row)

    @contextmanager
    def attached(self, docs: Iterable[Doc]) -> Iterator[None]:
        """Give ``docs`` their float32 vectors for the block (those that have one and none yet)."""
        import numpy as np

        given: list[Doc] = []
        for d in docs:
            row = self.row.get(d.key)
            if row is not None and d.embedding is None:
                d.embedding = self.matrix[row].astype(np.float32)
                given.append(d)
        try:
            yield
        finally:
            for d in given:
                d.embedding = None


class Weights:
    """The window's term and name weights, kept compact: a document's keys and its float64 values.

    As dicts, with a float object for each value, a window's weights were the
    largest part of a pass's memory (22 MB of dicts and 11 MB of floats for
    10,600 documents, docs/benchmarks.md, "h20mem"). Here each document keeps
    a tuple of its keys (interned by the reader: one string serves the whole
    window) and an ``array('d')`` of its values, about a quarter of the
    bytes; :meth:`attached` gives a document its dicts back, the same keys in
    the same order with the same values, only while the pass compares it, so
    every sum runs in the same order and every decision is the same.

    A document that :meth:`keep` took is detached: its ``terms`` and ``names``
    are None until it is attached, so a read outside :meth:`attached` fails
    instead of seeing no terms.
    """

    def __init__(self) -> None:
        self.rows: dict[int, tuple[tuple[str, ...], array, int]] = {}  # key -> (keys, values, terms)

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, doc: Doc) -> Doc:
        """Take ``doc``'s weights and detach it; one with a weight that is not a float keeps its dicts."""
        terms, names = doc.terms, doc.names
        if not all(type(w) is float for w in (*terms.values(), *names.values())):
            return doc
        # One tuple of keys and one array of values (terms, then names), each at its exact size.
        self.rows[doc.key] = ((*terms, *names), array("d", [*terms.values(), *names.values()]), len(terms))
        doc.terms = doc.names = None  # type: ignore[assignment]  (detached: see attached)
        doc._split = None
        return doc

    @contextmanager
    def attached(self, docs: Iterable[Doc]) -> Iterator[None]:
        """Give the detached ones of ``docs`` their ``terms`` and ``names`` for the block."""
        given: list[Doc] = []
        for d in docs:
            if d.terms is None:
                keys, values, n = self.rows[d.key]
                d.terms = dict(zip(keys[:n], values[:n], strict=True))
                d.names = dict(zip(keys[n:], values[n:], strict=True))
                given.append(d)
        try:
            yield
        finally:
            for d in given:
                d.terms = d.names = None  # type: ignore[assignment]
                d._split = None  # read from the names just given back


@contextmanager
def _attached(vectors: Vectors | None, docs: Iterable[Doc], weights: Weights | None = None) -> Iterator[None]:
    """``docs`` with their weights and vectors for the block (those kept apart: :class:`Weights`, :class:`Vectors`)."""
    if vectors is None and weights is None:
        yield
        return
    docs = list(docs)
    with ExitStack() as stack:
        for store in (weights, vectors):
            if store is not None:
                stack.enter_context(store.attached(docs))
        yield


@dataclass(slots=True)
class RefineSchedule:
    """When a replayed stream (evaluation, ``recluster``) runs a refinement pass, as beat would.

    With publication times: every ``every_seconds`` of stream time. Without
    (a file with no times): every ``every_articles`` articles.
    """

    refine: RefineParams
    timed: bool = True
    _last: float | None = None
    _count: int = 0

    def due(self, at: float) -> bool:
        """Whether a pass runs after the article published at ``at`` was assigned."""
        self._count += 1
        if not self.timed:
            return self._count % self.refine.every_articles == 0
        if self._last is None:
            self._last = at
        if at - self._last >= self.refine.every_seconds:
            self._last = at
            return True
        return False


class _Pass:
    """One refinement round over the window's documents (indices into ``docs``)."""

    def __init__(
        self,
        docs: Sequence[Doc],
        *,
        params: Params,
        refine: RefineParams,
        cannot: set[Pair],
        must: list[Pair],
        cache: RefineCache,
        spanning: set[int],
        vectors: Vectors | None = None,
        weights: Weights | None = None,
        window: int | None = None,
        anchors: Mapping[int, list[int]] | None = None,
    ):
        self.spanning = spanning
        self.window = len(docs) if window is None else window  # docs[window:] are older stories' anchors
        self.anchors = anchors or {}
        self.detached: set[int] = set()  # members that left their spanning story: never its id again
        self.vectors = vectors
        self.weights = weights
        self.docs = docs
        self.params = params
        self.refine = refine
        self.cannot = cannot
        self.must = must
        self.cache = cache
        self._sims = cache.sims if cache.keep_sims else None
        # Without kept similarities: the merge's mean link of each pair of samples compared, for
        # this pass's later rounds (the pieces that did not change meet again); a few MB at most.
        self._means: dict[tuple[tuple[int, ...], tuple[int, ...]], float] | None = None if cache.keep_sims else {}
        self._lone_links: list[tuple[float, int, int]] = []  # (mean, lone piece, other piece): lone_join's
        self._lone_best: dict[int, float] = {}  # lone piece -> its best mean link with any piece compared
        self._held: dict[str, int] | None = None  # the window's holders of each key, read once when asked

    def sim(self, i: int, j: int) -> float:
        a, b = self.docs[i], self.docs[j]
        if self._sims is None:
            return doc_similarity(a, b, params=self.params)
        key = pair_key(a.key, b.key)
        got = self._sims.get(key)
        if got is None:
            got = self._sims[key] = doc_similarity(a, b, params=self.params)
        return got

    def split(self, members: list[int]) -> list[list[int]]:
        if len(members) == 1:
            return [members]
        memo = None
        if not self.cannot and not self.must:
            memo = tuple(self.docs[i].key for i in members)
            known = self.cache.splits.get(memo)
            if known is not None:
                index = {self.docs[i].key: i for i in members}
                return [[index[k] for k in g] for g in known]
        waves = self._waves(members)
        if waves is not None:
            groups = [g for side in waves for g in self.split(side)]
        elif len(members) > self.refine.split_max:
            groups = [members]
        else:
            groups = self._split(members)
        if memo is not None:
            self.cache.splits[memo] = [[self.docs[i].key for i in g] for g in groups]
        return groups

    def _attach(self, members: Iterable[int]):
        return _attached(self.vectors, (self.docs[i] for i in members), self.weights)

    def _split(self, members: list[int]) -> list[list[int]]:
        with self._attach(members):  # the story's members, with their weights and vectors while it is examined
            return self._split_attached(members)

    def _split_attached(self, members: list[int]) -> list[list[int]]:
        totals = {}
        for x, i in enumerate(members):
            for y in range(x + 1, len(members)):
                s = self.sim(i, members[y])
                if s > 0:
                    totals[(x, y)] = s
        local = {i: x for x, i in enumerate(members)}
        cannot = {pair_key(local[i], local[j]) for i, j in self.cannot if i in local and j in local}
        seeds = must_groups(
            [[x] for x in range(len(members))],
            [(local[i], local[j]) for i, j in self.must if i in local and j in local],
        )
        seed_totals = self._group_totals(seeds, totals)
        seed_owner = {x: g for g, m in enumerate(seeds) for x in m}
        groups = agglomerate(seeds, seed_totals, threshold=1e-9, blocked=groups_blocked(seed_owner, cannot), stop_at=2)
        spans_cannot = len(groups) == 2 and any((x in groups[0]) != (y in groups[0]) for x, y in cannot)
        if len(groups) == 2 and not spans_cannot and not self._apart(groups, totals, members):
            groups = [sorted(groups[0] + groups[1])]
            if self.refine.split_by_core and not cannot and len(seeds) == len(members):
                groups = self._core_split(members, totals) or groups
        return [[members[x] for x in g] for g in groups]

    def revived(self, story: int, members: list[int]) -> tuple[list[int], list[int]]:
        """A story with members older than the window: (its window members that stay, those that leave).

        Its latest older members (the anchors) are one group, held together, and its window
        members are bisected against them by average linkage; the members that do not join
        the anchors leave when the two groups are apart (:meth:`_apart`, the bisection's test).
        First (``Waves.revived``, any size) the anchors and window members are cut at their waves
        as one story: a later wave leaves whole (and is examined again as a story of its own).
        """
        anchors = self.anchors.get(story)
        refine = self.refine
        if not refine.revive_anchors or len(anchors or ()) < refine.revive_older_min:
            return members, []
        whole = bool(refine.waves.revived and refine.waves.gap_hours)
        if len(members) > refine.split_max and not whole:
            return members, []
        local = set(members)
        if any(i in local or j in local for i, j in (*self.cannot, *self.must)):
            return members, []
        anchors = anchors[-refine.revive_anchors :]
        every = [*anchors, *members]
        k = len(anchors)
        memo = (0, *(self.docs[i].key for i in anchors), 0, *(self.docs[i].key for i in members))
        known = self.cache.splits.get(memo)
        if known is None:
            waves = self._waves(every) if whole else None  # the whole story's waves: anchors, then the window's
            if waves is not None and not set(anchors).isdisjoint(waves[1]):
                waves = None  # the anchors are the story: they stay on one side
            if waves is not None:
                early, late = set(waves[0]), set(waves[1])
                got = (
                    [x for x in range(k, len(every)) if every[x] in early],
                    [x for x in range(k, len(every)) if every[x] in late],
                )
            elif len(members) > refine.split_max:
                got = ([x for x in range(k, len(every))], [])
            else:
                got = self._revived(every, k)
            known = [[self.docs[every[x]].key for x in g] for g in got]
            self.cache.splits[memo] = known
        index = {self.docs[i].key: i for i in members}
        return [index[key] for key in known[0]], [index[key] for key in known[1]]

    def _revived(self, every: list[int], k: int) -> tuple[list[int], list[int]]:
        """(positions of ``every[k:]`` that stay with the anchors ``every[:k]``, those that leave)."""
        totals: dict[Pair, float] = {}
        with self._attach(every):
            for x, i in enumerate(every):
                for y in range(x + 1, len(every)):
                    s = self.sim(i, every[y])
                    if s > 0:
                        totals[(x, y)] = s
            seeds = [list(range(k))] + [[x] for x in range(k, len(every))]
            groups = agglomerate(seeds, self._group_totals(seeds, totals), threshold=1e-9, blocked=set(), stop_at=2)
            old = next(g for g in groups if 0 in g)
            new = sorted(x for g in groups if 0 not in g for x in g)
            if not new or not self._apart([old, new], totals, every, in_time=True):
                return [x for x in range(k, len(every))], []
        return [x for x in old if x >= k], new

    def _waves(self, members: list[int]) -> tuple[list[int], list[int]] | None:
        """The story's earlier and later waves when they are two stories (:class:`Waves`), else None."""
        waves = self.refine.waves
        n = len(members)
        if not waves.gap_hours or n < 2 * waves.group_min:
            return None
        ordered = sorted(members, key=lambda i: (self.docs[i].at, self.docs[i].key))
        local = set(members)
        if any(i in local and j in local for i, j in self.must):
            return None  # an editor's must-link inside: the linkage's split decides, not the clock
        at = [self.docs[i].at for i in ordered]
        gaps = sorted(
            ((at[x + 1] - at[x], x + 1) for x in range(waves.group_min - 1, n - waves.group_min)),
            key=lambda gx: (-gx[0], gx[1]),
        )
        best: tuple[float, int] | None = None
        for gap, cut in gaps[: waves.cuts]:
            if gap < waves.gap_hours * 3600.0:
                break
            if not self._waves_gap(at[:cut], at[cut:]):
                continue
            ratio = self._waves_ratio(ordered[:cut], ordered[cut:])
            if ratio is not None and (best is None or ratio < best[0]):
                best = (ratio, cut)
        if best is None:
            return None
        return sorted(ordered[: best[1]]), sorted(ordered[best[1] :])

    def _waves_ratio(self, early: list[int], late: list[int]) -> float | None:
        """The link across two waves over the weaker one's cohesion, when below :attr:`Waves.ratio` and
        ``split_threshold`` (sampled: :meth:`_sample`); else None.

        The link is the merge's memoised :meth:`_mean` (a merge asking about the same two pieces
        reads it back); the cohesions are computed only for a link below ``split_threshold``."""
        a, b = self._sample(early), self._sample(late)
        with self._attach(a):
            link = self._mean(a, b)
            if link >= self.refine.split_threshold:
                return None
            with self._attach(b):
                coh = min(
                    sum(self.sim(g[x], g[y]) for x in range(len(g)) for y in range(x + 1, len(g)))
                    / (len(g) * (len(g) - 1) / 2)
                    for g in (a, b)
                )
        if coh <= 0 or link >= self.refine.waves.ratio * coh:
            return None
        return link / coh

    def _waves_apart(self, a: list[int], b: list[int]) -> bool:
        """Two pieces that are an earlier and a later wave apart (:class:`Waves`): not to be merged."""
        waves = self.refine.waves
        if not waves.gap_hours or min(len(a), len(b)) < waves.group_min:
            return False
        early, late = sorted((a, b), key=lambda g: min(self.docs[i].at for i in g))
        if not self._waves_gap(sorted(self.docs[i].at for i in early), sorted(self.docs[i].at for i in late)):
            return False  # they overlap in time, or follow each other at their own rhythm
        return self._waves_ratio(early, late) is not None

    def _waves_gap(self, early: list[float], late: list[float]) -> bool:
        """Whether the quiet gap between two waves' times (each sorted) is one :class:`Waves` cuts at:
        ``gap_hours`` or more, and ``gaps`` times either wave's mean gap between its members or more."""
        waves = self.refine.waves
        gap = late[0] - early[-1]
        if gap < waves.gap_hours * 3600.0:
            return False
        rhythm = max((g[-1] - g[0]) / (len(g) - 1) for g in (early, late))
        return gap >= waves.gaps * rhythm

    def _keys(self, i: int) -> set[str]:
        """What a member says about who, where and which year: its names (not figures), places and years."""
        stems, parts = self.docs[i].split_names()
        return {k for k in stems if not k[:1].isdigit()} | {k for k in parts if k[:2] in ("p:", "y:")}

    def _core_split(self, members: list[int], totals: dict[Pair, float]) -> list[list[int]] | None:
        """Two events that the similarity alone does not set apart: the members holding one
        name or particular, and the others, each with a core of its own (:class:`OwnCore`) and
        linked less than ``split_ratio_exclusive`` x the weaker cohesion. The split that links least."""
        refine = self.refine
        n = len(members)
        if n < 2 * refine.own_core.group_min:
            return None
        keys = [self._keys(i) for i in members]
        held: dict[str, list[int]] = defaultdict(list)
        for x, ks in enumerate(keys):
            for k in ks:
                held[k].append(x)
        best: tuple[float, list[int]] | None = None
        seen: set[tuple[int, ...]] = set()
        for k in sorted(held):
            side = held[k]
            if not refine.own_core.group_min <= len(side) <= n - refine.own_core.group_min:
                continue
            if tuple(side) in seen:
                continue
            seen.add(tuple(side))
            inside = set(side)
            other = [x for x in range(n) if x not in inside]
            both, dated = self._own_cores([[members[x] for x in side], [members[x] for x in other]])
            if not (both or dated):
                continue
            sums = [0.0, 0.0, 0.0]
            for (x, y), sim in totals.items():
                sums[(x in inside) + (y in inside)] += sim
            a, b = len(side), len(other)
            coh = min(sums[2] / (a * (a - 1) / 2), sums[0] / (b * (b - 1) / 2))
            ratio = sums[1] / (a * b) / coh if coh > 0 else 1.0
            apart = (both and ratio < refine.split_ratio_exclusive) or (dated and ratio < refine.split_ratio_dated)
            if apart and (best is None or ratio < best[0]):
                best = (ratio, side)
        if best is None:
            return None
        inside = set(best[1])
        return [sorted(best[1]), [x for x in range(n) if x not in inside]]

    def _apart(
        self, groups: list[list[int]], totals: dict[Pair, float], members: list[int], *, in_time: bool = False
    ) -> bool:
        """Whether the story's top two groups are two events: they link far less than each holds together.

        Relative, so one rule serves headline-only stories (low similarities
        throughout) and long reports (high ones): the groups' mutual linkage
        must fall below ``split_ratio`` times the weaker cohesion (mean
        similarity inside a group; a lone article takes the other group's),
        and below ``split_threshold`` in absolute terms. ``in_time``: the groups are
        apart in time already (:meth:`_own_cores`).
        """
        first, second = set(groups[0]), set(groups[1])

        def mean(pairs: list[float], n: int) -> float:
            return sum(pairs) / n if n else 0.0

        inside = {0: [], 1: []}
        cross: list[float] = []
        for (x, y), sim in totals.items():
            if x in first and y in first:
                inside[0].append(sim)
            elif x in second and y in second:
                inside[1].append(sim)
            else:
                cross.append(sim)
        a, b = len(first), len(second)
        link = mean(cross, a * b)
        coh = [
            mean(inside[0], a * (a - 1) // 2) if a > 1 else None,
            mean(inside[1], b * (b - 1) // 2) if b > 1 else None,
        ]
        known = [c for c in coh if c is not None]
        if link >= self.refine.split_threshold:
            return False
        if known and link < self.refine.split_ratio * min(known):
            return True
        # Closer (or two lone articles, with no cohesion to compare with), but
        # their cores disagree on who, where or which year: two events of one
        # kind. Two groups of two or more: a lone member has no core of its own
        # (``conflict_lone``).
        closer = (not known and self.refine.split_pairs) or (
            (len(known) == 2 or self.refine.conflict_lone) and link < self.refine.split_ratio_conflict * min(known)
        )
        if closer and self._cores_conflict([[members[x] for x in g] for g in groups]):
            return True
        # The bisection's groups are the linkage's, not the holders of a key: the dated bar
        # (``split_ratio_dated``) is the core split's alone; here a dated core needs the old bar.
        if known and link < self.refine.split_ratio_exclusive * min(known):
            return self._exclusive_cores([[members[x] for x in g] for g in groups], in_time=in_time)
        return False

    def _cores_conflict(self, groups: list[list[int]]) -> bool:
        """Whether two groups' cores disagree on who, where or which year."""
        (pa, na), (pb, nb) = (story_core([self.docs[i] for i in g], share=self.params.core_share) for g in groups)
        # Figures differ between reports of one event (tolls rise, outlets
        # round): only who, where and which year split a story.
        strong = replace(self.params, conflict_number=0.0, conflict_day=0.0)
        return particulars_factor(pa, pb, na, nb, params=strong) < 1.0

    def _merge_blocked(self, a: list[int], b: list[int]) -> bool:
        """Pieces a merge must not join: what a split would set apart again."""
        refine = self.refine
        if self._waves_apart(a, b):
            return True
        with _attached(None, (self.docs[i] for i in (*a, *b)), self.weights):
            if refine.merge_exclusive and self._exclusive_cores([a, b]):
                return True
            return refine.merge_conflict and self._cores_conflict([a, b])

    def _exclusive_cores(self, groups: list[list[int]], *, in_time: bool = False) -> bool:
        """Whether each of two groups holds a core of its own, or one of them a dated one (:class:`OwnCore`)."""
        return any(self._own_cores(groups, in_time=in_time))

    def _own_cores(self, groups: list[list[int]], *, in_time: bool = False) -> tuple[bool, bool]:
        """(each of two groups holds a core of its own, one of them holds a dated one): :class:`OwnCore`.

        ``in_time``: the groups are apart in time already (a revived story's window members
        against its older members): own cores of who alone count (``OwnCore.where_or_when``).
        """
        core = self.refine.own_core
        if min(len(g) for g in groups) < core.group_min:
            return False, False
        counts = []
        for g in groups:
            c: dict[str, int] = defaultdict(int)
            for i in g:
                for k in self._keys(i):
                    c[k] += 1
            counts.append(c)
        held = self._window_held() if core.local else {}
        months = month_stems() if core.dated_month else frozenset()
        owns = []
        for mine, theirs, g, h in ((0, 1, groups[0], groups[1]), (1, 0, groups[1], groups[0])):
            need, allow = core.share * len(g), core.other * len(h)
            owns.append(
                [
                    k
                    for k, n in counts[mine].items()
                    if n >= need
                    and counts[theirs].get(k, 0) <= allow
                    and (not core.local or k.startswith(YEAR) or k in months or n >= core.local * held.get(k, n))
                ]
            )
        both = min(len(own) for own in owns) >= core.keys
        if both and core.where_or_when and not in_time:
            # Own cores of who alone, and a year most of each group names: angles of one event
            # (who else each quotes), not two events.
            who_alone = not any(k.startswith((PLACE, YEAR)) for own in owns for k in own)
            same_year = any(
                k.startswith(YEAR)
                and n >= core.share * len(groups[0])
                and counts[1].get(k, 0) >= core.share * len(groups[1])
                for k, n in counts[0].items()
            )
            both = not (who_alone and same_year)
        dated = bool(core.dated) and any(
            (len(own) >= core.dated or not months.isdisjoint(own))
            and any(k.startswith(YEAR) and counts[mine][k] >= core.dated_share * len(g) for k in own)
            for mine, (own, g) in enumerate(zip(owns, groups, strict=True))
        )
        return both, dated

    def _window_held(self) -> dict[str, int]:
        """How many of the window's articles hold each name, place or year (:attr:`OwnCore.local`)."""
        if self._held is None:
            held: dict[str, int] = defaultdict(int)
            for i, doc in enumerate(self.docs[: self.window]):
                with _attached(None, (doc,), self.weights):  # one at a time: the weights stay compact
                    for k in self._keys(i):
                        held[k] += 1
            self._held = held
        return self._held

    @staticmethod
    def _group_totals(groups: list[list[int]], totals: dict[Pair, float]) -> dict[Pair, float]:
        owner = {x: g for g, m in enumerate(groups) for x in m}
        out: dict[Pair, float] = defaultdict(float)
        for (x, y), s in totals.items():
            g, h = owner[x], owner[y]
            if g != h:
                out[pair_key(g, h)] += s
        return dict(out)

    def _sample(self, members: list[int]) -> list[int]:
        n = self.refine.link_sample
        if len(members) <= n:
            return members
        return [members[round(k * (len(members) - 1) / (n - 1))] for k in range(n)]

    def merge_totals(self, pieces: list[list[int]]) -> dict[Pair, float]:
        """Estimated summed similarity of the piece pairs worth comparing."""
        refine = self.refine
        postings: dict[str, list[int]] = defaultdict(list)
        for g, m in enumerate(pieces):
            weights: dict[str, float] = defaultdict(float)
            with _attached(None, (self.docs[i] for i in m), self.weights):
                for i in m:
                    for t, w in self.docs[i].terms.items():
                        weights[t] += w
            for t, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[: refine.core_terms]:
                postings[t].append(g)
        shared: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for plist in postings.values():
            if len(plist) > refine.core_postings:
                continue
            for x, g in enumerate(plist):
                for h in plist[x + 1 :]:
                    shared[g][h] += 1
                    shared[h][g] += 1
        pairs: set[Pair] = set()
        for g, others in shared.items():
            best = sorted(others.items(), key=lambda hc: (-hc[1], hc[0]))[: refine.link_candidates]
            pairs.update(pair_key(g, h) for h, _ in best)
        out: dict[Pair, float] = {}
        by_first: dict[int, list[int]] = defaultdict(list)
        for g, h in sorted(pairs):
            by_first[g].append(h)
        self._lone_links = []
        self._lone_best = {}
        for g, hs in by_first.items():  # in the order of sorted(pairs)
            a = self._sample(pieces[g])
            with self._attach(a):
                for h in hs:
                    mean = self._mean(a, self._sample(pieces[h]))
                    for lone, size in ((g, len(pieces[g])), (h, len(pieces[h]))):
                        if size == 1 and mean > self._lone_best.get(lone, 0.0):
                            self._lone_best[lone] = mean  # (blocked or not: its best link is elsewhere)
                    if mean >= refine.merge_threshold and self._merge_blocked(pieces[g], pieces[h]):
                        continue
                    if refine.lone_join and refine.lone_join <= mean < refine.merge_threshold:
                        sizes = (len(pieces[g]), len(pieces[h]))
                        if min(sizes) == 1 and max(sizes) > 1:
                            self._lone_links.append((mean, g, h) if sizes[0] == 1 else (mean, h, g))
                    if mean > 0:
                        out[(g, h)] = mean * len(pieces[g]) * len(pieces[h])
        return out

    def _lone_joined(self, pieces: list[list[int]], merged: list[list[int]]) -> list[list[int]]:
        """``merged`` with each lone article that the merge left alone joined to the piece it links
        to best, where :attr:`RefineParams.lone_join` allows it."""
        refine = self.refine
        at = {}  # piece's first member -> its merged group
        for n, group in enumerate(merged):
            for i in group:
                at[i] = n
        joined: set[int] = set()
        for mean, lone, other in sorted(self._lone_links, key=lambda mlo: (-mlo[0], mlo[1], mlo[2])):
            i = pieces[lone][0]
            if i in joined or i >= self.window or len(merged[at[i]]) != 1 or mean < self._lone_best[lone]:
                continue
            target = at[pieces[other][0]]
            group = merged[target]
            if any(pair_key(i, j) in self.cannot for j in group):
                continue
            sample = self._sample(pieces[other])
            with self._attach((i, *sample)):
                doc = self.docs[i]
                # On the model's reading: the article and a member reaching the join bar with it carry
                # vectors. Words alone link the region's or the occasion's other events as well.
                if doc.embedding is None or not any(
                    self.docs[j].embedding is not None and self.sim(i, j) >= self.params.join_threshold for j in sample
                ):
                    continue
                core_parts, core_names = story_core([self.docs[j] for j in sample], share=self.params.core_share)
                agree = particulars_factor(doc.particulars, core_parts, doc.name_stems, core_names, params=self.params)
                shared = len(doc.name_words() & core_names)
            if agree < 1.0 or shared < refine.lone_names or self._merge_blocked([i], pieces[other]):
                continue
            group.append(i)
            group.sort()
            merged[at[i]] = []
            at[i] = target
            joined.add(i)
        return [g for g in merged if g]

    def _mean(self, a: list[int], b: list[int]) -> float:
        """The mean similarity of ``a``'s members with ``b``'s (``a``'s vectors attached)."""
        key = None
        if self._means is not None:
            key = (tuple(self.docs[i].key for i in a), tuple(self.docs[j].key for j in b))
            known = self._means.get(key)
            if known is not None:
                return known
        with self._attach(b):
            mean = sum(self.sim(i, j) for i in a for j in b) / (len(a) * len(b))
        if key is not None:
            self._means[key] = mean
        return mean

    def round(self, stories: list[int], next_new: list[int]) -> list[int]:
        by_story: dict[int, list[int]] = defaultdict(list)
        for i, s in enumerate(stories):
            by_story[s].append(i)
        pieces: list[tuple[int, list[int]]] = []  # (story it came from, members)
        for story in sorted(by_story):
            if story in self.spanning:
                stay, leave = self.revived(story, by_story[story])
                groups = [stay] if stay else []
                if leave:
                    self.detached.update(leave)
                    groups += self.split(leave)
            else:
                groups = self.split(by_story[story])
            pieces.extend((story, g) for g in groups)
        # Age order: the lower index absorbs the other in the merge.
        pieces.sort(key=lambda sp: (sp[0], -len(sp[1]), sp[1][0]))
        groups = must_groups([g for _, g in pieces], self.must)
        owner = {i: g for g, m in enumerate(groups) for i in m}
        merged = agglomerate(
            groups,
            self.merge_totals(groups),
            threshold=self.refine.merge_threshold,
            blocked=groups_blocked(owner, self.cannot),
        )
        if self._lone_links:
            merged = self._lone_joined(groups, merged)
        out = list(stories)
        taken: set[int] = set()
        for group in sorted(merged, key=lambda g: (-len(g), g[0])):
            counts: dict[int, int] = defaultdict(int)
            for i in group:
                counts[stories[i]] += 1
            ranked = sorted(counts.items(), key=lambda sc: (-sc[1], sc[0]))
            choice = next(
                (
                    s
                    for s, _ in ranked
                    if s not in taken and not all(i in self.detached for i in group if stories[i] == s)
                ),
                None,
            )
            if choice is None:
                next_new[0] -= 1
                choice = next_new[0]
            taken.add(choice)
            for i in group:
                out[i] = choice
        return out


def stories_refine(
    *,
    docs: Sequence[Doc],
    params: Params,
    refine: RefineParams | None = None,
    links: Links = NO_LINKS,
    cache: RefineCache | None = None,
    story_sizes: Mapping[int, int] | None = None,
    vectors: Vectors | None = None,
    weights: Weights | None = None,
    anchors: Mapping[int, Sequence[Doc]] | None = None,
) -> Refinement:
    """Re-examine the stories of ``docs`` (each with its current ``story``); return the moves to make.

    ``links`` are editors' decisions (:mod:`newsdesk.coverage.links`): a
    cannot-linked pair never ends in one story, a must-linked pair never in
    two; links naming an article outside ``docs`` are ignored.
    ``story_sizes`` (story -> all its members, in the window or not): a
    story with members older than the window is not split on its window
    members alone, since the pass does not see what holds it together; it
    may still absorb fragments. ``anchors`` (story -> its latest older
    members, oldest first) are what such a story's window members are set
    against (:attr:`RefineParams.revive_anchors`): those that do not hold with
    them leave as a story of their own, and the story keeps its id.
    ``cache`` may be kept by a caller that runs passes over overlapping
    windows (:class:`RefineCache`); the result is the same without it.
    ``vectors``: the documents' sentence vectors kept apart (:class:`Vectors`;
    a document with its own ``embedding`` keeps it); the result is the same.
    ``weights``: the documents' term and name weights kept apart (:class:`Weights`; a
    document with its own ``terms`` keeps them); the result is the same.
    """
    refine = refine or RefineParams()
    docs = sorted(docs, key=lambda d: (d.at, d.key))
    index = {d.key: i for i, d in enumerate(docs)}
    cannot = {pair_key(index[a], index[b]) for a, bs in links.cannot.items() for b in bs if a in index and b in index}
    must = sorted(
        {pair_key(index[a], index[b]) for a, bs in links.must.items() for b in bs if a in index and b in index}
    )
    cache = cache if cache is not None else RefineCache()
    cache.trim()
    inside: dict[int, int] = defaultdict(int)
    for d in docs:
        inside[d.story or 0] += 1
    spanning = {s for s, n in (story_sizes or {}).items() if n > inside.get(s, 0)}
    every = list(docs)
    held: dict[int, list[int]] = {}
    for s, older in sorted((anchors or {}).items()):
        if s in spanning and older:
            held[s] = list(range(len(every), len(every) + len(older)))
            every.extend(older)
    work = _Pass(
        every,
        window=len(docs),
        anchors=held,
        params=params,
        refine=refine,
        cannot=cannot,
        must=must,
        cache=cache,
        spanning=spanning,
        vectors=vectors,
        weights=weights,
    )
    before = [d.story if d.story is not None else 0 for d in docs]
    stories = list(before)
    next_new = [0]
    for _ in range(refine.max_rounds):
        after = work.round(stories, next_new)
        if after == stories:
            break
        stories = after
    result = Refinement()
    old: dict[int, set[int]] = defaultdict(set)
    new: dict[int, set[int]] = defaultdict(set)
    for i, doc in enumerate(docs):
        old[before[i]].add(i)
        new[stories[i]].add(i)
        if stories[i] != before[i]:
            result.moves[doc.key] = stories[i]
    for story, members in sorted(old.items()):
        targets = {stories[i] for i in members}
        if story not in new and len(targets) == 1 and story not in spanning:  # (older members: not emptied)
            result.merged[story] = targets.pop()
        elif any(t < 0 for t in targets):
            result.split.append(story)
    return result


def members_evidence(
    *,
    docs: Sequence[Doc],
    moves: Mapping[int, int],
    keys: Iterable[int],
    params: Params,
    vectors: Vectors | None = None,
    weights: Weights | None = None,
) -> dict[int, tuple[float | None, dict]]:
    """What ties each of ``keys`` to its story after ``moves`` (article -> story; others stay in
    their ``story``): the score and evidence of its closest fellow member among ``docs``, as
    assignment records them, or (None, {}) when it is alone there. A moved article's stored
    "why" named its old story's members; this is the one that holds after the pass.

    In a story of more than ``_EVIDENCE_SCAN`` members the closest is found
    without scoring every fellow (:class:`_Closest`): each fellow gets an upper
    bound of its score, computed for all of them at once, and fellows are
    scored in the order of their bounds until the next bound is below the best
    score found. The result is the same member and score as comparing with
    every one, at a cost that grows with the story's size in numpy, not in
    Python (a cut that moved thousands of members of a story of thousands
    compared each with every other: docs/benchmarks.md, h27rec).
    """
    members: dict[int, list[Doc]] = defaultdict(list)
    for d in docs:
        members[moves.get(d.key, d.story or 0)].append(d)
    by_key = {d.key: d for d in docs}
    asked: dict[int, list[Doc]] = defaultdict(list)
    for key in sorted(keys):
        doc = by_key.get(key)
        if doc is not None:
            asked[moves.get(key, doc.story or 0)].append(doc)
    found: dict[int, tuple[float | None, dict]] = {}
    for story, wanted in asked.items():
        fellows = members[story]
        with _attached(vectors, fellows, weights):
            closest = _Closest(fellows, params) if len(fellows) > _EVIDENCE_SCAN and _bounded(params) else None
            for doc in wanted:
                if len(fellows) < 2:
                    found[doc.key] = (None, {})
                    continue
                if closest is not None:
                    score, best = closest.of(doc)
                else:
                    score, best = max(
                        ((doc_similarity(doc, m, params=params), m) for m in fellows if m.key != doc.key),
                        key=lambda sm: (sm[0], -sm[1].key),
                    )
                found[doc.key] = (score, doc_evidence(doc, best, score=score))
    return {key: found[key] for key in sorted(found)}


_EVIDENCE_SCAN = 32  # fellow members up to which members_evidence scores every one


def _bounded(params: Params) -> bool:
    """Whether :class:`_Closest`'s bounds hold for ``params``: the score rises with each part, and
    particulars and time only lower it (the shipped settings and every tuned one)."""
    weights = (params.weight_terms, params.weight_grams, params.weight_names)
    lowering = (
        params.conflict_place,
        params.conflict_year,
        params.conflict_day,
        params.conflict_number,
        params.conflict_names,
        params.conflict_many,
        params.time_decay,
        params.semantic_weight,
    )
    floors = (
        params.semantic_floor,
        params.semantic_floor if params.semantic_floor_headline is None else params.semantic_floor_headline,
    )
    return (
        all(w >= 0 for w in weights)
        and all(0 <= x <= 1 for x in lowering)
        and all(f < 1 for f in floors)
        and params.score_power > 0
        and min(params.shared_year, params.shared_day, params.shared_number) >= 0
    )


class _Closest:
    """A story's members, ready to find any member's closest fellow (:func:`members_evidence`).

    :func:`~newsdesk.coverage.engine.doc_similarity` is at most
    ``min(1, mix(lexical, semantic) * factor) * time``, where the particulars'
    factor is at most the product of the shared bonuses, ``lexical`` rises with
    the term cosine and the name overlap, and ``mix`` with both parts. Each
    bound below is computed from the shared terms' products (summed through the
    story's postings), the name weights shared, the sentence cosines (one
    matrix product) and the exact time factor, each with a margin far wider
    than their rounding; grams, when weighed, are bounded by 1.
    """

    _MARGIN = 1e-6
    _COSINE_MARGIN = 1e-3  # float32 products of 512-dim unit vectors, summed in another order

    def __init__(self, fellows: Sequence[Doc], params: Params) -> None:
        import numpy as np

        self.np = np
        self.params = params
        self.fellows = list(fellows)
        self.keys = np.array([m.key for m in self.fellows], dtype=np.int64)
        self.at = np.array([m.at for m in self.fellows], dtype=np.float64)
        self.n_terms = np.array([len(m.terms) for m in self.fellows], dtype=np.int64)
        self.term_post: dict[str, tuple[list[int], list[float]]] = {}
        self.name_post: dict[str, list[int]] = {}
        self.name_sum = np.zeros(len(self.fellows))
        for j, m in enumerate(self.fellows):
            for t, w in m.terms.items():
                post = self.term_post.get(t)
                if post is None:
                    post = self.term_post[t] = ([], [])
                post[0].append(j)
                post[1].append(w)
            stems = m.split_names()[0]
            self.name_sum[j] = sum(stems.values())
            for t in stems:
                self.name_post.setdefault(t, []).append(j)
        self._arrays: dict[str, tuple[Any, Any]] = {}
        with_vector = [j for j, m in enumerate(self.fellows) if m.embedding is not None]
        self.semantic = bool(params.semantic_weight) and bool(with_vector)
        if self.semantic:
            self.has_vector = np.zeros(len(self.fellows), dtype=bool)
            self.has_vector[with_vector] = True
            self.vector_rows = np.array(with_vector, dtype=np.int64)
            self.matrix = np.stack([np.asarray(self.fellows[j].embedding, dtype=np.float32) for j in with_vector])

    def _term_arrays(self, term: str) -> tuple[Any, Any]:
        got = self._arrays.get(term)
        if got is None:
            np = self.np
            idx, ws = self.term_post[term]
            got = self._arrays[term] = (np.array(idx, dtype=np.int64), np.array(ws, dtype=np.float64))
        return got

    def bounds(self, doc: Doc) -> Any:
        """An upper bound of ``doc_similarity(doc, m)`` for every fellow ``m``."""
        np, params = self.np, self.params
        n = len(self.fellows)
        dots = np.zeros(n)
        for t, w in doc.terms.items():
            if t in self.term_post:
                idx, ws = self._term_arrays(t)
                dots[idx] += w * ws
        lexical = params.weight_terms * (dots + self._MARGIN)
        if params.weight_grams:
            lexical += params.weight_grams
        stems = doc.split_names()[0]
        if stems:
            shared = np.zeros(n)
            for t, w in stems.items():
                rows = self.name_post.get(t)
                if rows:
                    shared[rows] += w
            low = np.minimum(sum(stems.values()), self.name_sum)
            overlap = np.where(
                shared > 0, np.divide(shared, low, out=np.full(n, np.inf), where=low > 0) * (1 + self._MARGIN), 0.0
            )
            lexical += params.weight_names * np.minimum(overlap, 1e9)
        lexical = np.maximum(lexical, 0.0) ** params.score_power + self._MARGIN
        score = lexical
        if self.semantic and doc.embedding is not None:
            cosine = np.full(n, -1.0)
            cosine[self.vector_rows] = self.matrix @ np.asarray(doc.embedding, dtype=np.float32)
            cosine = cosine + self._COSINE_MARGIN
            floor = np.full(n, params.semantic_floor)
            if params.semantic_floor_headline is not None:
                floor[np.minimum(self.n_terms, len(doc.terms)) <= params.headline_terms] = (
                    params.semantic_floor_headline
                )
            sem = np.maximum(0.0, (cosine - floor) / (1.0 - floor))
            mixed = (1.0 - params.semantic_weight) * lexical + params.semantic_weight * sem
            score = np.where(self.has_vector, mixed, lexical)
        bonus = (1 + params.shared_year) * (1 + params.shared_day) * (1 + params.shared_number)
        score = np.minimum(1.0, score * bonus + self._MARGIN)
        window = params.window_hours * 3600.0
        if window > 0:
            score = score * (
                1.0 - params.time_decay * np.minimum(1.0, np.abs(self.at - doc.at) / window) + self._MARGIN
            )
        return score + self._MARGIN

    def of(self, doc: Doc) -> tuple[float, Doc]:
        """``doc``'s closest fellow and its score, as comparing with every fellow finds them."""
        np = self.np
        bound = self.bounds(doc)
        bound[self.keys == doc.key] = -np.inf  # not its own fellow
        # The fellow of the highest bound is scored first; only those whose bound reaches its
        # score can beat it, and they are scored in the order of their bounds.
        first = int(np.argmax(bound))
        m = self.fellows[first]
        best, best_doc = (doc_similarity(doc, m, params=self.params), -m.key), m
        rest = np.flatnonzero(bound >= best[0])
        rest = rest[rest != first]
        for j in rest[np.lexsort((self.keys[rest], -bound[rest]))].tolist():
            if bound[j] < best[0]:
                break
            m = self.fellows[j]
            score = doc_similarity(doc, m, params=self.params)
            if (score, -m.key) > best:
                best, best_doc = (score, -m.key), m
        return best[0], best_doc
