"""The translation cache: one Translation row per unique text, language pair
and provider, read and written in plain SQL.

Every article looks its texts up here and every provider call writes here,
so these are the hottest statements of translation; building them through
the ORM cost more CPU than running them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from newsdesk.models import Translation

from .budget import usage_add, usage_statement


class Cached(NamedTuple):
    translated: str
    provider: str


@lru_cache(maxsize=64)
def _lookup_sql(vendor: str, texts: int, providers: int) -> str:
    quote = connection.ops.quote_name
    meta = Translation._meta
    hash_, source, target, provider, translated = (
        quote(meta.get_field(name).column)
        for name in ("text_hash", "source_language", "target_language", "provider", "translated")
    )
    # Only quoted names of our own model are formatted in; values are parameters.
    return (
        f"SELECT {hash_}, {translated}, {provider} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {hash_} IN ({', '.join(['%s'] * texts)}) AND {source} = %s AND {target} = %s "
        f"AND {provider} IN ({', '.join(['%s'] * providers)})"
    )


def cache_lookup_many(*, digests: list[str], source: str, target: str, chain: list[str]) -> dict[str, Cached]:
    """Cached rows for several texts in one query; for each text the first provider in the chain wins.
    (Plain SQL: this runs for every article, and the ORM's query building cost more than the query.)"""
    if not digests or not chain:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(connection.vendor, len(digests), len(chain)), [*digests, source, target, *chain])
        rows = cursor.fetchall()
    hits: dict[str, Cached] = {}
    for digest, translated, provider in sorted(rows, key=lambda row: chain.index(row[2]), reverse=True):
        hits[digest] = Cached(translated, provider)
    return hits


def cache_lookup(*, digest: str, source: str, target: str, chain: list[str]) -> Cached | None:
    return cache_lookup_many(digests=[digest], source=source, target=target, chain=chain).get(digest)


@lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    meta = Translation._meta
    names = ("text_hash", "source_language", "target_language", "provider", "translated", "characters", "created_at")
    columns = [quote(meta.get_field(name).column) for name in names]
    # Only quoted names of our own model are formatted in; values are parameters.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(columns[:4])}) DO NOTHING"
    )


def cache_store(
    *, digest: str, source: str, target: str, provider: str, translated: str, characters: int, billed: bool = False
) -> None:
    """Insert the cache row (a concurrent duplicate keeps the first) and, when
    ``billed``, count the call in today's usage: on PostgreSQL in the same
    statement (one round trip), elsewhere through usage_add (SQLite has no
    round trip to save, but each statement and commit costs, so the usage of
    an article is written once, by translate_texts' usage_batch)."""
    params = [
        digest,
        source,
        target,
        provider,
        translated,
        characters,
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    insert = _insert_sql(connection.vendor)
    with connection.cursor() as cursor:
        if billed and connection.vendor == "postgresql":
            usage_sql, usage_params = usage_statement(provider=provider, characters=characters)
            cursor.execute(f"WITH stored AS ({insert}) {usage_sql}", params + usage_params)
            return
        cursor.execute(insert, params)
    if billed:
        usage_add(provider=provider, characters=characters)
