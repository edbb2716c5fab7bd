"""Average linkage over groups of articles, the refinement pass's clustering step.

Groups are lists of indices; ``totals`` holds summed similarities of group
pairs. Editors' decisions enter as blocked pairs (cannot-link) and as groups
joined up front (must-link).
"""

from __future__ import annotations

import heapq
from collections import defaultdict

Pair = tuple[int, int]


def pair_key(g: int, h: int) -> Pair:
    return (g, h) if g < h else (h, g)


def agglomerate(
    members: list[list[int]], totals: dict[Pair, float], *, threshold: float, blocked: set[Pair], stop_at: int = 1
) -> list[list[int]]:
    """Average-linkage clustering of groups until no two link at ``threshold``.

    ``totals`` holds, for group pairs, their summed member similarity (pairs
    absent: 0); linkage is that sum over the product of the sizes. Groups
    holding a ``blocked`` pair never join. The lower index absorbs the other.
    Stops early when ``stop_at`` groups are left.
    """
    members = [list(m) for m in members]
    size = [len(m) for m in members]
    total: dict[Pair, float] = dict(totals)
    blocked = set(blocked)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for g, h in total:
        neighbours[g].add(h)
        neighbours[h].add(g)
    heap = [(-t / (size[g] * size[h]), g, h) for (g, h), t in total.items()]
    heapq.heapify(heap)
    alive = [True] * len(members)
    count = len(members)
    while heap and count > stop_at:
        neg, g, h = heapq.heappop(heap)
        if -neg < threshold:
            break
        if not (alive[g] and alive[h]) or (g, h) in blocked:
            continue
        if abs(total.get((g, h), 0.0) / (size[g] * size[h]) + neg) > 1e-12:
            continue  # stale: the linkage changed since this entry was pushed
        alive[h] = False
        count -= 1
        members[g].extend(members[h])
        size[g] += size[h]
        total.pop((g, h), None)
        neighbours[g].discard(h)
        for k in neighbours.pop(h, set()):
            if k == g:
                continue
            hk, gk = pair_key(h, k), pair_key(g, k)
            total[gk] = total.get(gk, 0.0) + total.pop(hk, 0.0)
            if hk in blocked:
                blocked.add(gk)
            neighbours[k].discard(h)
            neighbours[k].add(g)
            neighbours[g].add(k)
        for k in neighbours[g]:
            gk = pair_key(g, k)
            heapq.heappush(heap, (-total[gk] / (size[g] * size[k]), *gk))
    return [sorted(m) for g, m in enumerate(members) if alive[g]]


def groups_blocked(owner: dict[int, int], cannot: set[Pair]) -> set[Pair]:
    out: set[Pair] = set()
    for i, j in cannot:
        g, h = owner.get(i), owner.get(j)
        if g is not None and h is not None and g != h:
            out.add(pair_key(g, h))
    return out


def must_groups(groups: list[list[int]], must: list[Pair]) -> list[list[int]]:
    """Groups joined wherever a must-link pair spans them."""
    if not must:
        return groups
    parent = list(range(len(groups)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner = {i: g for g, m in enumerate(groups) for i in m}
    for i, j in must:
        if i in owner and j in owner:
            parent[find(owner[j])] = find(owner[i])
    out: dict[int, list[int]] = defaultdict(list)
    for g, m in enumerate(groups):
        out[find(g)].extend(m)
    return [sorted(m) for _, m in sorted(out.items())]
