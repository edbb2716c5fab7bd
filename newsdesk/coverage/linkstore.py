"""The constraint lookup: editors' standing decisions as :class:`~newsdesk.coverage.links.Links`.

Every path that groups articles (the live assignment, refinement,
``recluster``) calls :func:`links_load` and hands the result to the engine.
"""

from __future__ import annotations

from newsdesk.models import StoryDecision

from .links import NO_LINKS, Links, links_build


def links_load() -> Links:
    """Must-link and cannot-link pairs of every decision not undone; a newer decision on a pair wins.

    Decisions are few (editors make them by hand), so all of them are read:
    one indexed query, which returns nothing on a desk without corrections.
    """
    rows = (
        StoryDecision.objects.filter(undone_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("subject", "must", "cannot")
    )
    pairs: dict[tuple[int, int], bool] = {}  # (low, high) -> must
    for subject, must, cannot in rows:
        for a in subject:
            for b in cannot:
                pairs[(min(a, b), max(a, b))] = False
            for b in must:
                pairs[(min(a, b), max(a, b))] = True
    if not pairs:
        return NO_LINKS
    return links_build(
        must=[p for p, yes in pairs.items() if yes],
        cannot=[p for p, yes in pairs.items() if not yes],
    )
