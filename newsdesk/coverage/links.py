"""Editors' decisions as the clustering reads them: must-link and cannot-link between articles.

An editor who takes an article out of a story, moves it to another, or
merges two stories tells the machine something it must respect from then
on, in the live assignment, in refinement and in ``recluster``. Decisions
are stored per article pair (:mod:`newsdesk.coverage.decisions` keeps them),
not per story, because story ids change when stories are rebuilt while
articles stay. This module is the plain input the engine takes: no storage,
no Django.

- *must*: the two articles share a story. An article with must-partners
  already in stories joins their story without scoring (and those stories
  merge, where no cannot-link forbids it).
- *cannot*: the two articles never share a story. A story holding a
  cannot-partner is never joined, and no merge brings the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Links:
    """Pairwise constraints between articles (both directions are stored)."""

    must: Mapping[int, frozenset[int]] = field(default_factory=dict)
    cannot: Mapping[int, frozenset[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.must or self.cannot)

    def must_of(self, key: int) -> frozenset[int]:
        return self.must.get(key, frozenset())

    def cannot_of(self, key: int) -> frozenset[int]:
        return self.cannot.get(key, frozenset())

    def keys(self) -> set[int]:
        """Every article some constraint names."""
        return {*self.must, *self.cannot}


NO_LINKS = Links()


def links_build(*, must: Iterable[tuple[int, int]] = (), cannot: Iterable[tuple[int, int]] = ()) -> Links:
    """Links from article pairs, made symmetric. A pair given as both must and cannot is kept apart.

    Keeping two articles apart is the safer reading of contradicting
    decisions: a wrong merge costs an editor's trust more than a missing outlet.
    """
    no: dict[int, set[int]] = {}
    for a, b in cannot:
        if a != b:
            no.setdefault(a, set()).add(b)
            no.setdefault(b, set()).add(a)
    yes: dict[int, set[int]] = {}
    for a, b in must:
        if a != b and b not in no.get(a, ()):
            yes.setdefault(a, set()).add(b)
            yes.setdefault(b, set()).add(a)
    return Links(
        must={k: frozenset(v) for k, v in yes.items()},
        cannot={k: frozenset(v) for k, v in no.items()},
    )


def links_merge(first: Links, second: Links) -> Links:
    """Both sets of constraints (e.g. the stored ones and an undo's transient ones)."""
    if not second:
        return first
    if not first:
        return second
    pairs = lambda m: ((a, b) for a, bs in m.items() for b in bs)  # noqa: E731
    return links_build(
        must=[*pairs(first.must), *pairs(second.must)], cannot=[*pairs(first.cannot), *pairs(second.cannot)]
    )


def links_conflict(links: Links, first: Iterable[int], second: Iterable[int]) -> bool:
    """True when a cannot-link joins an article of ``first`` to one of ``second`` (they may not merge)."""
    other = set(second)
    return any(not links.cannot_of(a).isdisjoint(other) for a in first)


def links_bound(links: Links, first: Iterable[int], second: Iterable[int]) -> bool:
    """True when a must-link joins an article of ``first`` to one of ``second`` (they may not be split apart)."""
    other = set(second)
    return any(not links.must_of(a).isdisjoint(other) for a in first)


def links_story_pairs_forbidden(
    links: Links, story_of: Callable[[Iterable[int]], Mapping[int, int]]
) -> set[frozenset[int]]:
    """Pairs of stories that may not merge: a cannot-link joins a member of one to a member of the other.

    ``story_of`` maps article keys to their current stories (absent: not in a
    story yet); only the constrained articles are looked up.
    """
    keys = {*links.cannot}
    if not keys:
        return set()
    stories = story_of(keys)
    out: set[frozenset[int]] = set()
    for a, partners in links.cannot.items():
        sa = stories.get(a)
        if sa is None:
            continue
        for b in partners:
            sb = stories.get(b)
            if sb is not None and sb != sa:
                out.add(frozenset((sa, sb)))
    return out


def links_merge_group(stories: Iterable[int], *, forbidden: set[frozenset[int]], seed: Iterable[int] = ()) -> list[int]:
    """The stories (in the order given) that can join ``seed`` without merging a forbidden pair."""
    group = list(seed)
    out: list[int] = []
    for s in stories:
        if all(frozenset((s, g)) not in forbidden for g in group if g != s):
            group.append(s)
            out.append(s)
    return out
