"""The constraint lookup: editors' standing decisions as :class:`~newsdesk.coverage.links.Links`.

Every path that groups articles (the live assignment, refinement,
``recluster``) calls :func:`links_load` and hands the result to the engine.
"""

from __future__ import annotations

from django.db import connection

from newsdesk.models import StoryDecision

from .links import NO_LINKS, Links, links_build
from .sql import json_value, pg_cursor, pg_execute

_TABLE = StoryDecision._meta.db_table
# Every live assignment runs this: on PostgreSQL a statement prepared once per
# connection (about 0.1 ms of CPU against 0.6 for the ORM's query).
_ACTIVE_SQL = f"SELECT subject, must, cannot FROM {_TABLE} WHERE undone_at IS NULL ORDER BY created_at, id"  # noqa: S608


def _active_rows() -> list[tuple[list[int], list[int], list[int]]]:
    if connection.vendor == "postgresql":
        with pg_cursor() as cursor:
            pg_execute(cursor, _ACTIVE_SQL, [])
            return [tuple(json_value(v) for v in row) for row in cursor.fetchall()]  # type: ignore[misc]
    active = StoryDecision.objects.filter(undone_at__isnull=True).order_by("created_at", "id")
    return list(active.values_list("subject", "must", "cannot"))


def decisions_lock(*, rebuild: bool = False) -> None:
    """Take the decisions' table first in the transaction (PostgreSQL), so editors and a rebuild take turns.

    An editor's decision takes it before anything else (``ROW EXCLUSIVE``: editors do not wait
    for each other); a full rebuild's write takes it ``EXCLUSIVE`` before the index tables and
    before its last reading of the decisions. So a decision taken while the rebuild writes waits
    at its first statement, holding no row the rebuild rewrites (an editor that had locked its
    article and story first, then waited on the index, deadlocked with the rebuild's write and
    was refused), and is carried out against the rebuilt index once it commits; one begun
    earlier is waited for and read by the rebuild. Plain reads (the live assignment's
    :func:`links_load`) are not held up. SQLite's write transaction already excludes every
    other writer.
    """
    if connection.vendor != "postgresql":
        return
    mode = "EXCLUSIVE" if rebuild else "ROW EXCLUSIVE"
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {_TABLE} IN {mode} MODE")


def links_load() -> Links:
    """Must-link and cannot-link pairs of every decision not undone; a newer decision on a pair wins.

    Decisions are few (editors make them by hand), so all of them are read:
    one indexed query, which returns nothing on a desk without corrections.
    """
    pairs: dict[tuple[int, int], bool] = {}  # (low, high) -> must
    for subject, must, cannot in _active_rows():
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
