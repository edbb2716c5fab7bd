"""Writing one assignment to the database (for :class:`~newsdesk.coverage.dbstore.DbStore`).

Two paths that leave the same rows:

- :func:`assignment_write_pg`, PostgreSQL's common case (the article's first
  assignment): the joined story's row lock, then one statement of
  data-modifying CTEs (story insert or counter update, centroid, article
  link, vector, postings, document frequencies).
- :func:`assignment_write_orm`: plain ORM steps, for SQLite and for the rare
  cases (re-assignment withdraws an old contribution; merges recount).

The story's figures and headline follow :mod:`newsdesk.coverage.storycounts`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, connections
from django.db.models.sql import InsertQuery
from django.utils import timezone

from newsdesk.models import Article, CoverageDoc, CoveragePosting, CoverageStory, CoverageTerm, Story

from .docpack import centroid_pack, centroid_unpack, doc_pack
from .engine import Doc, Params, centroid_add
from .particulars import VERSION as PARTICULARS_VERSION
from .sql import json_value, pg_array, pg_cursor, pg_execute, utc_datetime
from .storycounts import story_first_member, story_join_sql

# The CoverageTerm row that counts indexed articles (N).
DOC_COUNT_KEY = ""
# DbStore.story_create's answer when the story is inserted later, with the other writes.
NEW_STORY = -1
# Set in the transaction's last statement, read at its commit: this
# transaction alone commits without waiting for its WAL flush (see
# NEWSDESK_COVERAGE_ASYNC_COMMIT), and no extra round trip is spent on it.
_ASYNC_COMMIT_QUAL = " WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"


def doc_columns(doc: Doc) -> dict:
    """A document's stored columns: the JSON the other readers take and its packed copy
    (``docpack``), always written together so the candidate read never sees a stale copy."""
    return {
        "at": doc.at,
        "terms": doc.terms,
        "names": doc.names,
        "grams": doc.grams,
        "packed": doc_pack(doc.terms, doc.names),
        "particulars_version": PARTICULARS_VERSION,
    }


class StoryGone(Exception):
    """A join's story row was not there to update (deleted since the read that chose it)."""


@dataclass(slots=True)
class Pending:
    """An article's index entry, held back until the assignment is written."""

    doc: Doc
    index_terms: list[str]
    df_keys: list[str]


def story_lock_survivor(story: int) -> int:
    """Follow merges, locking the surviving story's row for the join."""
    for _ in range(100):
        row = Story.objects.select_for_update().filter(id=story).values_list("merged_into_id", flat=True).first()
        if row is None:
            return story
        story = row
    return story


def _story_lock_pg(story: int) -> tuple[int, dict[str, float]]:
    """Lock the surviving story and its centroid row; return both, current.

    Both rows are locked in one statement, so after waiting for a concurrent
    join PostgreSQL re-reads their latest versions: the centroid is updated
    from what that join wrote, never from a stale copy.
    """
    sto, cent = Story._meta.db_table, CoverageStory._meta.db_table
    with pg_cursor() as cursor:
        for _ in range(100):
            pg_execute(
                cursor,
                "SELECT s.merged_into_id, c.centroid_packed, "  # noqa: S608
                f"CASE WHEN c.centroid_packed IS NULL THEN c.centroid END FROM {sto} s "
                f"JOIN {cent} c ON c.story_id = s.id WHERE s.id = %s FOR UPDATE",
                [story],
            )
            row = cursor.fetchone()
            if row is None:
                # No centroid row: merged away (its centroid moved), or a
                # story the index has not seen. Lock the story alone.
                pg_execute(cursor, f"SELECT merged_into_id FROM {sto} WHERE id = %s FOR UPDATE", [story])  # noqa: S608
                row = cursor.fetchone()
                if row is None:
                    raise Story.DoesNotExist(f"story {story} is gone")
                if row[0] is None:
                    return story, {}
                story = row[0]
                continue
            if row[0] is None:
                return story, centroid_unpack(row[1]) if row[1] is not None else json_value(row[2])
            story = row[0]
    raise RuntimeError(f"story {story}: merge chain too long")


def _story_insert_sql(story: Story) -> tuple[str, list]:
    """The ORM's own INSERT for a story (every column, with its defaults), to embed in a CTE.

    The statement's text depends on the fields alone when no value is an
    expression and no field has a placeholder of its own: it is compiled
    once per process and each story's values are prepared as the compiler
    prepares them (``pre_save`` for the defaults and ``auto_now_add``, then
    ``get_db_prep_save``). Compiling it for every new story cost about a
    third of a millisecond of the worker's time (h27p50). Anything else goes
    through the compiler, as before.
    """
    fields, sql = _story_insert_text()
    values = [f.pre_save(story, True) for f in fields]
    if sql is None or any(map(_expression, values)):
        return _story_insert_compiled(story, fields)
    wrapper = connections[connection.alias]  # what the compiler is given, looked up once
    return sql, [f.get_db_prep_save(v, connection=wrapper) for f, v in zip(fields, values, strict=True)]


@functools.cache
def _story_insert_text() -> tuple[list, str | None]:
    """The story's inserted fields and the INSERT's text for them (None when a field has its own placeholder)."""
    fields = [f for f in Story._meta.local_concrete_fields if not f.primary_key]
    blank = Story()
    if any(hasattr(f, "get_placeholder") or _expression(f.pre_save(blank, True)) for f in fields):
        return fields, None  # a database default (an expression) or a placeholder: compiled each time
    return fields, _story_insert_compiled(blank, fields)[0]


def _expression(value: object) -> bool:
    return hasattr(value, "resolve_expression") or hasattr(value, "as_sql")


def _story_insert_compiled(story: Story, fields: list) -> tuple[str, list]:
    query = InsertQuery(Story)
    query.insert_values(fields, [story])
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def _story_columns() -> str:
    # Named, not ``*``: a prepared statement returning ``*`` fails once a
    # migration adds a column while a worker still holds it.
    return _story_returning()[0]


@functools.cache
def _story_returning() -> tuple[str, list[str]]:
    """The story's columns as the join's RETURNING lists them, and their attribute names in that order.

    Fixed for the process (the model's fields and the backend's quoting do
    not change while it runs): built once, not at every join (about 0.1 ms of
    the worker's time per assignment with reading the columns back from the
    cursor's description, h27p50).
    """
    fields = Story._meta.concrete_fields
    return ", ".join(connection.ops.quote_name(f.column) for f in fields), [f.attname for f in fields]


def _df_split(*, keys: Sequence[str], settled: Collection[str]) -> tuple[list[str], list[str]]:
    """Document-frequency keys to increment by a plain UPDATE, and the rest to upsert.

    A ``settled`` key can take a plain UPDATE (several times cheaper than an
    upsert) only if its row exists and no other transaction can write it
    meanwhile, or the UPDATE and the upsert of one statement take row locks
    in two orders and two assignments can deadlock. The store passes none:
    since the term locks no longer cover every term of an article
    (:mod:`newsdesk.coverage.dbstore`), any other assignment may be counting
    the same words, and one sorted upsert is the only safe order. Every
    other key (the document count, grams, new terms) is upserted, in sorted
    order so two workers take the shared rows' locks in one order.
    """
    keys = sorted(set(keys))
    return [k for k in keys if k in settled], [k for k in keys if k not in settled]


def assignment_write_pg(
    *,
    article: Article,
    pending: Pending,
    params: Params,
    locked_centroids: Mapping[int, dict[str, float]],
    merged: bool,
    df_settled: Collection[str],
    score: float | None,
    evidence: dict,
    embedding_sum: Callable[[int | None], bytes | None] | None = None,
    article_values: Mapping[str, object] | None = None,
) -> tuple[Story, bool, bool]:
    """All writes of a first assignment in one statement.

    Returns the story, whether its counters are current, and whether the
    story's summed embedding was written too. ``locked_centroids`` are the
    candidate stories whose rows (story and centroid) the candidate read
    locked, with their centroids; ``merged`` says this assignment merged
    stories (their centroids and counts moved). ``embedding_sum(story)``
    (semantic backend): the story's new summed embedding when this
    transaction read the current one under the story's lock (``None`` for a
    new story), else None and the caller updates it after. ``article_values``:
    more of the article's columns (name -> database value) for the same UPDATE.
    """
    doc = pending.doc
    now = timezone.now()
    if doc.story == NEW_STORY:
        new = story_first_member(article=article)
        head_sql, head_params = _story_insert_sql(new)
        head_sql += " RETURNING id"
        centroid = centroid_add({}, doc.terms, keep=params.centroid_terms)
        counted = True
        summed = embedding_sum(None) if embedding_sum else None
    else:
        if doc.story in locked_centroids and not merged:
            story_id, current = doc.story, locked_centroids[doc.story]
        else:  # a merge changed the centroid, or the story was not a locked candidate
            story_id, current = _story_lock_pg(doc.story)
        doc.story = story_id
        centroid = centroid_add(current, doc.terms, keep=params.centroid_terms)
        counted = not merged
        summed = embedding_sum(story_id) if embedding_sum and not merged else None
        if counted:
            head_sql, head_params = story_join_sql(story=story_id, article=article, now=now, returning=_story_columns())
        else:
            head_sql, head_params = "SELECT %s::bigint AS id", [story_id]
    article_values = dict(article_values or {})
    more_sets = "".join(f", {connection.ops.quote_name(column)} = %s" for column in article_values)
    art, docs, post = Article._meta.db_table, CoverageDoc._meta.db_table, CoveragePosting._meta.db_table
    cent, term = CoverageStory._meta.db_table, CoverageTerm._meta.db_table
    sql = (
        f"WITH s AS ({head_sql}), "  # noqa: S608
        f"c AS (INSERT INTO {cent} (story_id, centroid, centroid_packed, embedding) "
        "SELECT s.id, %s::jsonb, %s::bytea, %s::bytea FROM s "
        "ON CONFLICT (story_id) DO UPDATE SET centroid = EXCLUDED.centroid, "
        "centroid_packed = EXCLUDED.centroid_packed, "
        f"embedding = COALESCE(EXCLUDED.embedding, {cent}.embedding)), "
        f"a AS (UPDATE {art} SET story_id = (SELECT s.id FROM s), story_score = %s, story_evidence = %s::jsonb"
        f"{more_sets} WHERE id = %s), "
        f"d AS (INSERT INTO {docs} (article_id, at, terms, names, grams, packed, particulars_version) "
        "VALUES (%s, %s, %s::jsonb, %s::jsonb, %s::jsonb, %s::bytea, %s)), "
        f"p AS (INSERT INTO {post} (term, article_id, published_at) SELECT u.t, %s, %s FROM unnest(%s::text[]) u(t)), "
        f"u AS (UPDATE {term} SET df = df + 1 WHERE term = ANY(%s::text[])), "
        f"t AS (INSERT INTO {term} (term, df) SELECT u.t, 1 FROM unnest(%s::text[]) u(t) "
        f"ON CONFLICT (term) DO UPDATE SET df = {term}.df + 1) "
        f"SELECT s.* FROM s{_ASYNC_COMMIT_QUAL if settings.NEWSDESK_COVERAGE_ASYNC_COMMIT else ''}"
    )
    values = [
        *head_params,
        json.dumps(centroid),
        centroid_pack(centroid),
        summed,
        *(score, json.dumps(evidence), *article_values.values(), article.id),
        *(article.id, doc.at, json.dumps(doc.terms), json.dumps(doc.names), json.dumps(doc.grams)),
        doc_pack(doc.terms, doc.names),
        PARTICULARS_VERSION,
        # The arrays go as literals the statement casts (``%s::text[]``): psycopg would adapt them
        # element by element in Python (:func:`~newsdesk.coverage.sql.pg_array`).
        *(article.id, utc_datetime(doc.at), pg_array(dict.fromkeys(pending.index_terms))),
        *map(pg_array, _df_split(keys=[DOC_COUNT_KEY, *pending.df_keys], settled=df_settled)),
    ]
    with pg_cursor() as cursor:
        pg_execute(cursor, sql, values)
        row = cursor.fetchone()
    if row is None:  # only a join can find no story row: the caller's check rolls the rest back
        raise StoryGone(f"story {doc.story} is gone")
    if doc.story == NEW_STORY:
        new.id = row[0]
        new._state.adding = False
        new._state.db = connection.alias
        story = new
        doc.story = new.id
    elif counted:
        # ``SELECT s.*`` of the join's RETURNING: the story's columns in _story_returning()'s order.
        story = Story.from_db(connection.alias, _story_returning()[1], row)
    else:
        story = Story.objects.get(id=doc.story)
    article.story_id, article.story_score, article.story_evidence = story.id, score, evidence
    return story, counted, summed is not None


def assignment_write_orm(
    *,
    article: Article,
    pending: Pending,
    centroid_terms: int,
    previous: CoverageDoc | None,
    previous_story: int | None,
    score: float | None,
    evidence: dict,
) -> Story:
    """The same writes in ORM steps; the caller recounts the stories touched.

    ``previous`` is the article's index entry from an earlier assignment in
    ``previous_story``, withdrawn before the new one is saved.
    """
    doc = pending.doc
    assert doc.story is not None
    doc.story = story_lock_survivor(doc.story)
    if previous is not None:
        # Re-assignment: withdraw the old vector from its old story; the
        # article was already counted in the document frequencies.
        if previous_story:
            _centroid_change(previous_story, previous.terms, sign=-1.0, keep=centroid_terms)
        CoveragePosting.objects.filter(article_id=article.id).delete()
        CoverageDoc.objects.filter(article_id=article.id).update(**doc_columns(doc))
    else:
        CoverageDoc.objects.create(article_id=article.id, **doc_columns(doc))
        _df_add([DOC_COUNT_KEY, *pending.df_keys])
    published = utc_datetime(doc.at)
    CoveragePosting.objects.bulk_create(
        [
            CoveragePosting(term=t, article_id=article.id, published_at=published)
            for t in dict.fromkeys(pending.index_terms)
        ]
    )
    _centroid_change(doc.story, doc.terms, sign=1.0, keep=centroid_terms)
    article.story_id, article.story_score, article.story_evidence = doc.story, score, evidence
    Article.objects.filter(id=article.id).update(story_id=doc.story, story_score=score, story_evidence=evidence)
    return Story.objects.get(id=doc.story)


def story_merge(*, source: int, target: int, centroid_terms: int) -> None:
    """Fold ``source`` into ``target``: members, centroid, and earlier merges into ``source``."""
    first, second = sorted((source, target))
    # Both rows, in id order, so a concurrent merge cannot deadlock with this one.
    list(Story.objects.select_for_update().filter(id__in=[first, second]).order_by("id").values_list("id"))
    Article.objects.filter(story_id=source).update(story_id=target)
    Story.objects.filter(id=source).update(merged_into_id=target)
    Story.objects.filter(merged_into_id=source).update(merged_into_id=target)
    moved = CoverageStory.objects.filter(story_id=source).values_list("centroid", flat=True).first()
    if moved:
        _centroid_change(target, moved, sign=1.0, keep=centroid_terms)
    CoverageStory.objects.filter(story_id=source).delete()


def story_centroid_rebuild(*, story_id: int, keep: int) -> None:
    """Recompute a story's centroid from its members' stored vectors (after an editor or a
    rebuild changed its membership); the ``keep`` heaviest terms stay."""
    cent: dict[str, float] = {}
    for terms in CoverageDoc.objects.filter(article__story_id=story_id).values_list("terms", flat=True):
        for k, v in terms.items():
            cent[k] = cent.get(k, 0.0) + v
    cent = dict(sorted(cent.items(), key=lambda kv: (-kv[1], kv[0]))[:keep])
    CoverageStory.objects.update_or_create(
        story_id=story_id, defaults={"centroid": cent, "centroid_packed": centroid_pack(cent)}
    )


def _centroid_change(story: int, vec: dict[str, float], *, sign: float, keep: int) -> None:
    row = CoverageStory.objects.select_for_update().filter(story_id=story).first()
    current = row.centroid if row else {}
    if sign < 0:
        updated = {k: v - vec.get(k, 0.0) for k, v in current.items()}
        updated = {k: v for k, v in updated.items() if v > 1e-9}
    else:
        updated = centroid_add(current, vec, keep=keep)
    if row is None:
        CoverageStory.objects.create(story_id=story, centroid=updated, centroid_packed=centroid_pack(updated))
    else:
        row.centroid, row.centroid_packed = updated, centroid_pack(updated)
        row.save(update_fields=["centroid", "centroid_packed"])


def _df_add(keys: Sequence[str]) -> None:
    """Count one more document for each key: an upsert, so workers never lose an increment."""
    keys = sorted(set(keys))
    table = CoverageTerm._meta.db_table
    values = ", ".join(["(%s, 1)"] * len(keys))
    sql = f"INSERT INTO {table} (term, df) VALUES {values} ON CONFLICT (term) DO UPDATE SET df = {table}.df + 1"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, keys)
