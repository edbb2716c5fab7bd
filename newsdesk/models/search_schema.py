"""Database objects behind full-text search, one set per vendor.

They belong with the models (migrations and ``apps.py`` create them; the
web's search reads them), below every stage.

Django's model layer knows nothing of these, so they are created by
migration 0002 and, on SQLite, re-checked after every ``migrate``: SQLite
applies some schema changes by rebuilding a table, which silently drops the
triggers that keep the FTS5 index in step with ``newsdesk_article``.
"""

from __future__ import annotations

import logging

from django.db.backends.base.base import BaseDatabaseWrapper

logger = logging.getLogger(__name__)

_PG_DOC = " || ' ' || ".join(
    f"left(coalesce({col}, ''), 20000)" for col in ("title_en", "summary_en", "title_orig", "summary_orig")
)
POSTGRES_INSTALL = [
    # A stored generated column: computed once per write, so neither reads
    # nor phrase-match rechecks ever re-tokenise article text.
    "ALTER TABLE newsdesk_article ADD COLUMN IF NOT EXISTS search_vector tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {_PG_DOC})) STORED",
    "CREATE INDEX IF NOT EXISTS article_search_gin ON newsdesk_article USING gin (search_vector)",
]
# Applied by migration 0009 (existing rows change when next written).
POSTGRES_STORAGE = [
    "ALTER TABLE newsdesk_article ALTER COLUMN search_vector SET STORAGE MAIN",
    "ALTER TABLE newsdesk_article SET (toast_tuple_target = 4080)",
]
# Applied by migration 0010; takes effect at the next ANALYZE (autovacuum runs it).
POSTGRES_STATISTICS = "ALTER TABLE newsdesk_article ALTER COLUMN search_vector SET STATISTICS 1000"
POSTGRES_REMOVE = [
    "DROP INDEX IF EXISTS article_search_gin",
    "ALTER TABLE newsdesk_article DROP COLUMN IF EXISTS search_vector",
]

SQLITE_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS newsdesk_article_fts USING fts5("
    "title_en, summary_en, title_orig, summary_orig, "
    "content='newsdesk_article', content_rowid='id', tokenize='unicode61 remove_diacritics 2')"
)
# External-content FTS5: the index holds no copy of the text, so it must be
# told the old values on delete and update.
SQLITE_TRIGGERS = {
    "newsdesk_article_fts_ai": """
        CREATE TRIGGER IF NOT EXISTS newsdesk_article_fts_ai AFTER INSERT ON newsdesk_article BEGIN
          INSERT INTO newsdesk_article_fts(rowid, title_en, summary_en, title_orig, summary_orig)
          VALUES (new.id, new.title_en, new.summary_en, new.title_orig, new.summary_orig);
        END""",
    "newsdesk_article_fts_ad": """
        CREATE TRIGGER IF NOT EXISTS newsdesk_article_fts_ad AFTER DELETE ON newsdesk_article BEGIN
          INSERT INTO newsdesk_article_fts(newsdesk_article_fts, rowid, title_en, summary_en, title_orig, summary_orig)
          VALUES ('delete', old.id, old.title_en, old.summary_en, old.title_orig, old.summary_orig);
        END""",
    "newsdesk_article_fts_au": """
        CREATE TRIGGER IF NOT EXISTS newsdesk_article_fts_au
        AFTER UPDATE OF title_en, summary_en, title_orig, summary_orig ON newsdesk_article BEGIN
          INSERT INTO newsdesk_article_fts(newsdesk_article_fts, rowid, title_en, summary_en, title_orig, summary_orig)
          VALUES ('delete', old.id, old.title_en, old.summary_en, old.title_orig, old.summary_orig);
          INSERT INTO newsdesk_article_fts(rowid, title_en, summary_en, title_orig, summary_orig)
          VALUES (new.id, new.title_en, new.summary_en, new.title_orig, new.summary_orig);
        END""",
}
SQLITE_REBUILD = "INSERT INTO newsdesk_article_fts(newsdesk_article_fts) VALUES ('rebuild')"
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS] + [
    "DROP TABLE IF EXISTS newsdesk_article_fts"
]


def search_schema_install(*, connection: BaseDatabaseWrapper) -> None:
    """Create the search column/index (PostgreSQL) or FTS5 table and triggers (SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for sql in POSTGRES_INSTALL:
                cursor.execute(sql)
        elif connection.vendor == "sqlite":
            cursor.execute(SQLITE_TABLE)
            for sql in SQLITE_TRIGGERS.values():
                cursor.execute(sql)
            cursor.execute(SQLITE_REBUILD)


def search_schema_remove(*, connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        statements = {"postgresql": POSTGRES_REMOVE, "sqlite": SQLITE_REMOVE}.get(connection.vendor, [])
        for sql in statements:
            cursor.execute(sql)


def search_schema_ensure(*, connection: BaseDatabaseWrapper) -> bool:
    """On SQLite, restore missing sync triggers and rebuild the index. True if repaired."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE 'newsdesk_%'")
        present = {row[0] for row in cursor.fetchall()}
        if "newsdesk_article_fts" not in present or "newsdesk_article" not in present:
            return False  # Migration 0002 not applied yet; it will install everything.
        missing = [name for name in SQLITE_TRIGGERS if name not in present]
        if not missing:
            return False
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
        cursor.execute(SQLITE_REBUILD)
    # Expected after any migration that rebuilds the article table on SQLite (every
    # fresh install runs some): routine self-repair, not a warning on a first start.
    logger.info("search: restored FTS5 triggers %s and rebuilt the index", ",".join(missing))
    return True


def search_schema_post_migrate(sender, using: str = "default", **kwargs) -> None:
    from django.db import connections

    search_schema_ensure(connection=connections[using])
