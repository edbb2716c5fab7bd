"""SQL helpers shared by the coverage store, its writers and the rebuild.

:func:`pg_cursor` and :func:`pg_execute` let the story assignment prepare
its few statements once per connection on PostgreSQL; :func:`pg_copy` bulk
loads rows and :func:`pg_indexes_drop` readies a table for it; :func:`utc_datetime` and :func:`json_value` convert between the
engine's values (POSIX seconds, dicts) and what a raw cursor sends and reads.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections

# psycopg's automatic-preparation threshold on our connections: never reached.
PREPARE_ONLY_WHEN_ASKED = 2**62


@contextmanager
def pg_cursor() -> Iterator[psycopg.Cursor]:
    """A server-side-binding cursor on Django's connection, in its transaction.

    Django's own cursors bind parameters client-side, so PostgreSQL parses and
    plans every statement afresh; this one sends parameters apart, which lets
    :func:`pg_execute` prepare each statement once per connection.
    """
    # Django's ``connection`` looks its per-thread wrapper up again at every attribute: once here.
    wrapper = connections[DEFAULT_DB_ALIAS]
    wrapper.ensure_connection()
    conn = wrapper.connection
    prepared = settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS
    if conn.prepare_threshold is None and prepared:
        # Django opens its connections with preparation off (prepare_threshold
        # None), which makes psycopg ignore even ``prepare=True``. A threshold
        # no statement reaches keeps automatic preparation off for everything
        # else (Django's own cursors bind client-side and never prepare) and
        # lets pg_execute prepare the statements it asks for.
        conn.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
    with wrapper.wrap_database_errors, psycopg.Cursor(conn) as cursor:
        if prepared and _generic_plans.get(conn) is not True:
            _plans_generic(conn, cursor)
        yield cursor


# Per psycopg connection: True once its session plans prepared statements generically
# for good, or the marker registered to say so when the transaction that set it commits.
_generic_plans: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plans_generic(conn: psycopg.Connection, cursor: psycopg.Cursor) -> None:
    """Have this connection plan each prepared statement once, not at every execution.

    PostgreSQL's plan cache runs a prepared statement with a plan made for
    its parameters (a custom plan) until the generic plan's estimated cost
    is no higher than the custom plans' average; it then plans no more. An
    array parameter of unknown length is estimated at ten elements, and an
    article's arrays are usually shorter, so for three of the assignment's
    statements (the document frequencies, the optimistic read's check, the
    write) a custom plan always looked a little cheaper and each execution
    was planned again: the same plans (their shapes read with auto_explain
    both ways), about 0.4 ms of the database's CPU per assignment spent
    making them (docs/benchmarks.md, h24p50). ``force_generic_plan`` keeps
    the plan made at the first execution; :func:`pg_plans_refresh` has it
    made again as the tables grow, as it does for the statements that
    PostgreSQL already ran generically (the candidate read, the locks).
    Only statements prepared on this connection are affected: Django's own
    cursors bind client-side and prepare nothing.

    A ``SET`` inside a transaction is undone if the transaction rolls back:
    inside an atomic block it counts as done only once that block's commit
    ran (Django drops the callback with a rolled-back block, and the next
    cursor sets it again); set earlier in the same transaction, it is not
    sent again.
    """
    state = _generic_plans.get(conn)
    if state is not None and any(func is state for _, func, _ in connection.run_on_commit):
        return
    cursor.execute("SET plan_cache_mode = force_generic_plan")
    if not connection.in_atomic_block:
        _generic_plans[conn] = True
        return
    held = weakref.ref(conn)

    def committed() -> None:
        kept = held()
        if kept is not None:
            _generic_plans[kept] = True

    _generic_plans[conn] = committed
    connection.on_commit(committed)


def pg_execute(cursor: psycopg.Cursor, sql: str, params: Sequence[object], *, binary: bool = False) -> None:
    """Execute, prepared once per connection unless NEWSDESK_COVERAGE_PREPARED_STATEMENTS is off.

    ``binary``: results in PostgreSQL's binary format (no printing and parsing
    of numbers; a bytea column arrives as its bytes, not as hex text).
    """
    prepare = True if settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS else None
    cursor.execute(sql, params, prepare=prepare, binary=binary or None)


# Per psycopg connection: the index's size (its document count) when its
# prepared statements were last planned. See pg_plans_refresh.
_planned_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# No replanning below this size: a plan for tables this small costs little whatever it is.
PLANS_REFRESH_MIN = 64


def pg_plans_refresh(*, size: int) -> bool:
    """Plan this connection's prepared statements again once the index has doubled since they were planned.

    ``size``: the index's document count, which the assignment reads anyway.
    PostgreSQL keeps a prepared statement's plan until the tables' statistics
    change (an ANALYZE, at most once a minute by autovacuum), and a worker
    keeps its connection. A plan made while the tables were small, on a new
    database's first import, chooses sequential scans (the document
    frequencies, the candidates' stored vectors), right for a few pages,
    linear in the table once it has grown: measured, the database's CPU per
    assignment doubled by 1,200 articles and kept growing. ``DISCARD PLANS``
    keeps the statements and drops their plans, so the next executions are
    planned from the tables' current size (PostgreSQL estimates rows from the
    current number of pages even before any ANALYZE). Doubling bounds the
    replans to a handful per connection (about eight from empty to 10,000
    articles, none for a connection opened on a large index) and keeps every
    plan made for tables at least half their size. True when it replanned.
    """
    conn = connection.connection
    planned = _planned_at.get(conn)
    if planned is None:
        _planned_at[conn] = size
        return False
    if size < max(2 * planned, PLANS_REFRESH_MIN):
        return False
    with connection.wrap_database_errors, psycopg.Cursor(conn) as cursor:
        cursor.execute("DISCARD PLANS")
    _planned_at[conn] = size
    return True


def pg_array(values: Iterable[int | bool | str]) -> str:
    """An array parameter as PostgreSQL's array literal, for a statement that casts it (``%s::text[]``).

    psycopg adapts a Python list element by element in Python, after a pass
    over the whole list to choose the element type: about 60 us for a list of
    24 integers, 8 times what joining the literal costs, and an assignment
    sends a few hundred elements (its terms, their lock keys and modes, its
    candidate stories). Sent as text, the statement's cast parses it.
    Integers and booleans are written as they are; every string is quoted,
    with its backslashes and double quotes escaped, so any text (commas,
    braces, spaces, the word NULL, the empty string) is one element as given.
    """
    out = []
    for value in values:
        if isinstance(value, bool):
            out.append("t" if value else "f")
        elif isinstance(value, int):
            out.append(str(value))
        else:
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(out) + "}"


def pg_prepared_count() -> int:
    """How many statements this connection holds prepared (for tests and the bench)."""
    with pg_cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]


def pg_copy(cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """COPY rows into a PostgreSQL table (psycopg 3) through a Django cursor, far faster than INSERTs."""
    cols = ", ".join(columns)
    with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def pg_indexes_drop(cursor, tables: Sequence[str]) -> list[str]:
    """Drop the plain indexes (those behind no constraint) of ``tables`` before a bulk load; return their DDL.

    Run the DDL after the load: one sort per index beats an insertion per row.
    """
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        [list(tables)],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return [ddl for _, ddl in indexes]


def utc_datetime(at: float) -> datetime:
    """The engine's POSIX seconds as an aware UTC datetime (timestamp columns)."""
    return datetime.fromtimestamp(at, tz=UTC)


def json_value(value: object) -> object:
    """A jsonb column read through a raw cursor, decoded (Django's JSONField decodes its own)."""
    if value == "{}":
        return {}  # most articles have no names or grams: skip the parser
    return json.loads(value) if isinstance(value, str) else value
