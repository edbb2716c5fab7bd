"""The production :class:`~newsdesk.coverage.engine.Store`: the index in the database.

Every method runs inside the transaction that :func:`newsdesk.coverage.cluster.
article_assign_story` opens.

Locks (PostgreSQL; SQLite serialises writers already). Two assignments
running at once must end as if they had run one after the other. What one
assignment reads that another writes is:

- the postings: an article reads those of its *search* terms (its
  ``search_terms`` heaviest) and writes its own under its *index* terms (its
  ``query_terms`` heaviest, a prefix of the search terms, by the same rule);
- the candidate stories' rows (story and centroid), locked ``FOR UPDATE`` by
  the candidate read and re-read in their latest version when it waited;
- the document frequencies, read for weighting, incremented by the write.

So each assignment takes, in one statement before its candidate read and in
one global key order (no deadlock), an *exclusive* transaction-scoped
advisory lock on each index term and a *shared* one on each other search
term. Two assignments conflict exactly when one could find the other (one's
index terms meet the other's search terms): then the later one waits, reads
after the earlier one's commit and sees it. Two that cannot find each other
run at once, and the result is still that of a serial order: neither's
candidate read could contain the other's postings in any order, and the
stories both touch are serialised by their row locks. Common words that are
only searched (shared locks) no longer make every pair of articles take turns,
as locking every term of the article did.

The document frequencies are read *before* the locks (the terms to lock
depend on the weights they give) and are approximate by design: a read may
miss the increments of assignments still in flight at that moment, at most
one per term for each other transaction running (two with the shipped
worker), never an increment that was committed before the read, and the
stored counts are exact (each write adds one in the database). The weights
are idf's, logarithms of N over df: a term seen by thousands of articles moves
by a fraction of a percent; a new name seen by one concurrent article is
read as 0 instead of 1, as if the two had arrived in the other order. Run one
at a time (tests, recluster) the reads are exact and the decisions those of
the in-memory store.

Round trips are the cost on PostgreSQL (the work per statement is small), so
the common case (a first assignment) takes four, two of them pipelined pairs
(psycopg's pipeline mode: both statements sent at once, run in order, each
with a snapshot taken when it starts): the caller's check of the article
(:class:`ArticleSave`, the enrichment's guard, ``SELECT ... FOR UPDATE``) with
the document frequencies; the locks with the candidates, their vectors and
their stories' centroids (and those stories' row locks), the read starting
only once every lock is held; every write in one statement, the caller's
columns of the article in the same UPDATE; the commit. Writes are held back
until :meth:`DbStore.flush` for that reason. Re-assignments and merges are
rare and take the plain ORM path (:mod:`newsdesk.coverage.dbwrite`), which
SQLite always uses.

Optimistic read (``NEWSDESK_COVERAGE_OPTIMISTIC_READ``, on by default): a
first assignment's candidate read does not lock the candidate stories' rows;
it notes each story's row version (the centroid row's ``xmin``, which every
join, merge, refinement and editor's change of its centroid or summed
embedding replaces). The engine scores with no row lock held, so another
assignment that touches those stories does not wait through this one's
Python. Before the first write (:meth:`DbStore.settle`) one statement locks
the same rows, in the same id order and after a savepoint, and compares
their versions: unchanged, the scores stand (they were computed from what
the locked read would have returned) and the write goes on under the locks
as before; changed or merged away, the transaction rolls back to the
savepoint (releasing those row locks, keeping the term locks) and the
assignment is scored again with the locked read (:meth:`DbStore.relock`).
A join sends that check in one round trip with its write (savepoint, check,
write: :meth:`DbStore.flush`), so an uncontended join pays no extra round
trip; a stale one rolls its write back with the locks. A merge writes before
the flush, so its check runs on its own first.
The postings cannot have changed in between: the term locks are held from
before the read. A merge costs one more round trip than the locked read
(its check), and a stale read a second scoring.

A decision to start a new story needs no check: it writes none of the
stories it read, so the serial order in which it comes before whoever
changed them since is valid, unless one of those read what this one writes.
They cannot have read its story or postings (whoever could find the article
waits on its term locks, or went first and was seen by its read); the
document frequencies are approximate by design (above).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from newsdesk.changes import articles_changed
from newsdesk.models import Article, CoverageDoc, CoverageEmbedding, CoveragePosting, CoverageStory, CoverageTerm, Story

from .dbwrite import (
    DOC_COUNT_KEY,
    NEW_STORY,
    Pending,
    StoryGone,
    assignment_write_orm,
    assignment_write_pg,
    story_merge,
)
from .docpack import centroid_unpack, doc_unpack
from .engine import Candidate, Doc, Params, names_split, names_words
from .sql import json_value, pg_array, pg_cursor, pg_execute, pg_plans_refresh, utc_datetime
from .storycounts import story_first_member


def term_lock_keys(terms: Sequence[str]) -> list[int]:
    """Stable signed 64-bit advisory-lock keys for terms, sorted so every worker locks in one order."""
    return sorted({_term_key(t) for t in set(terms)})


def _term_key(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "big", signed=True)


def term_lock_plan(*, exclusive: Sequence[str], shared: Sequence[str]) -> tuple[list[int], list[bool]]:
    """(keys in ascending order, exclusive or not) for :data:`LOCK_SQL`.

    A key wanted both ways (a term in both lists, or two terms whose hashes
    collide) is taken exclusive. One order for every transaction, whatever
    the modes, so two assignments never wait on each other in a cycle.
    """
    modes: dict[int, bool] = {}
    for term in shared:
        modes.setdefault(_term_key(term), False)
    for term in exclusive:
        modes[_term_key(term)] = True
    keys = sorted(modes)
    return keys, [modes[k] for k in keys]


# One statement, one round trip; the locks are taken in the unnest order (ascending keys).
# The next statement (the candidate read) takes its snapshot after they are all held.
LOCK_SQL = (
    "SELECT count(CASE WHEN u.x THEN pg_advisory_xact_lock(u.k) ELSE pg_advisory_xact_lock_shared(u.k) END) "
    "FROM unnest(%s::bigint[], %s::boolean[]) AS u(k, x)"
)


# The document frequencies of an article's terms: one primary-key probe per term,
# whatever the statistics say. The plain ``WHERE term = ANY(%s)`` was planned as a
# sequential scan, a filter of every counted term for each article, while the table
# had no statistics yet: a new install's first minutes, before autovacuum's first
# look, which is when a first import's burst runs (the whole-path bench's backends
# spent more time in it than in the candidate read). A scalar subquery per element
# is never turned into a join, so it is always the probe. Terms not in the table
# come back with a NULL (skipped by the caller).
DF_SQL = "SELECT u.term, (SELECT c.df FROM {table} c WHERE c.term = u.term) FROM unnest(%s::text[]) AS u(term)"


def _grams_column(params: Params, column: str) -> str:
    """The stored gram vector, or an empty one when the scoring gives grams no weight.

    With ``weight_grams`` at zero the engine never reads a candidate's grams
    (:func:`~newsdesk.coverage.engine.doc_similarity` skips them), and they
    are the longest part of a stored vector (hundreds of character n-grams
    per article): not sending and not decoding them is most of the read's
    transfer and JSON work. The article's own grams are still weighted,
    stored and counted, so turning the weight on needs no rebuild. NULL, not
    an empty object: the read returns binary results, and psycopg decodes
    every jsonb value it is sent (a ``json.loads`` per candidate for ``{}``);
    the reader makes it an empty vector.
    """
    return column if params.weight_grams else "NULL::jsonb"


# The candidate read's packed documents and centroids, unpacked once per worker
# process and kept by their bytes: the same bytes unpack to the same values, so a
# kept one is exactly what unpacking again would give, and a document or centroid
# written since arrives as other bytes (no invalidation). In a burst an
# article's candidates are mostly recent articles that its neighbours read too:
# on the whole-path bench's 2,100 articles, in one process, 85 % of the
# documents and 87 % of the centroids read had been read before among the last
# 768 and 256 (90 % and 95 % with twice as many kept). The values are shared:
# read only (the engine reads them; a join's new centroid is a copy,
# ``centroid_add``). A document keeps its names' split too (``Doc.split_names``).
# Memory: about 10 kB a document (its dicts and bytes), up to 20 kB a centroid of
# 200 terms, as counted; measured, the process set's peak PSS with the default
# backend (bench/pipeline.py, 10,500 items) read 1,614 MB with 768 and 256 kept,
# 1,513 with 512 and 128 and 1,508 with 256 and 64, against 1,466 with none
# (limit 1,536): 512 and 128 (77 % and 64 % of reads) is the most that fits.
DOCS_KEPT = 512
CENTROIDS_KEPT = 128


@functools.lru_cache(maxsize=DOCS_KEPT)
def _doc_unpacked(
    packed: bytes,
) -> tuple[dict[str, float], dict[str, float], tuple[dict[str, float], frozenset[str]], frozenset[str]]:
    """(terms, names, the names' split, the name words) of a packed document; shared, read only."""
    terms, names = doc_unpack(packed)
    split = names_split(names)
    return terms, names, split, names_words(split[0])


@functools.lru_cache(maxsize=CENTROIDS_KEPT)
def _centroid_unpacked(packed: bytes) -> dict[str, float]:
    """A packed centroid's terms; shared, read only."""
    return centroid_unpack(packed)


@functools.lru_cache(maxsize=8)
def _candidates_sql(*, grams: str, vectors: bool, optimistic: bool) -> str:
    """:meth:`DbStore._candidates_pg`'s statement for these options (``grams``: :func:`_grams_column`), built once per process."""
    post, doc, sto = CoveragePosting._meta.db_table, CoverageDoc._meta.db_table, Story._meta.db_table
    art, cent = Article._meta.db_table, CoverageStory._meta.db_table
    vector, embedding, vectors_join = "NULL::bytea", "NULL::bytea", ""
    if vectors:
        vector, embedding = "e.vector", "c.embedding"
        vectors_join = f" LEFT JOIN {CoverageEmbedding._meta.db_table} e ON e.article_id = h.article_id"
    sql = (
        "WITH q AS (SELECT u.term, u.rnk FROM unnest(%s::text[]) WITH ORDINALITY AS u(term, rnk)), "  # noqa: S608
        "p AS (SELECT q.rnk, x.article_id, x.published_at FROM q CROSS JOIN LATERAL ("
        f"SELECT c.article_id, c.published_at FROM {post} c WHERE c.term = q.term "
        "AND c.published_at >= %s AND c.published_at <= %s "
        "ORDER BY c.published_at DESC, c.article_id DESC LIMIT %s) AS x), "
        "g AS (SELECT p.article_id, sum(1.0::float8 / p.rnk ORDER BY p.rnk) AS hits, "
        "bool_or(p.published_at < %s OR p.published_at > %s) AS late FROM p "
        "WHERE p.article_id <> %s GROUP BY p.article_id), "
        "h AS ((SELECT g.article_id, g.hits, g.late FROM g WHERE g.late "
        "ORDER BY g.hits DESC, g.article_id LIMIT %s) UNION ALL "
        "(SELECT g.article_id, g.hits, g.late FROM g WHERE NOT g.late "
        "ORDER BY g.hits DESC, g.article_id LIMIT %s)), "
        # A document's terms and names packed when it has them, else as JSON (docpack.py).
        "d AS MATERIALIZED (SELECT h.article_id, h.hits, h.late, v.at, v.packed, "
        "CASE WHEN v.packed IS NULL THEN v.terms END AS terms, "
        f"CASE WHEN v.packed IS NULL THEN v.names END AS names, {grams} AS grams, "
        f"a.story_id, {vector} AS vector FROM h "
        f"LEFT JOIN {doc} v ON v.article_id = h.article_id LEFT JOIN {art} a ON a.id = h.article_id"
        f"{vectors_join}), "
        "k AS (SELECT ARRAY(SELECT DISTINCT d.story_id FROM d WHERE d.at IS NOT NULL "
        "AND d.story_id IS NOT NULL) AS ids), "
        "l AS (SELECT s.id, s.merged_into_id, c.centroid_packed, c.xmin::text AS ver, "
        f"CASE WHEN c.centroid_packed IS NULL THEN c.centroid END AS centroid, {embedding} AS embedding "
        f"FROM k, {sto} s "
        f"JOIN {cent} c ON c.story_id = s.id "
        "WHERE s.id = ANY(k.ids) AND c.story_id = ANY(k.ids)"
        f"{'' if optimistic else ' ORDER BY s.id FOR UPDATE OF s, c'}) "
        "SELECT d.article_id, d.hits, d.late, d.at, d.packed, d.terms, d.names, d.grams, d.story_id, d.vector, "
        "NULL::text FROM d UNION ALL SELECT NULL, NULL, NULL, NULL, l.centroid_packed, l.centroid, NULL, NULL, "
        "l.id, l.embedding, l.ver FROM l "
        "WHERE l.merged_into_id IS NULL"
    )
    return sql


class StaleRead(Exception):
    """A story an optimistic read scored changed before the write: score again under the stories' locks."""


# The optimistic read's check before the write: the candidate stories' rows
# locked in id order (as the locked read locks them), their versions back.
SETTLE_SQL = (
    "SELECT s.id, s.merged_into_id, c.xmin::text FROM {sto} s JOIN {cent} c ON c.story_id = s.id "
    "WHERE s.id = ANY(%s::bigint[]) AND c.story_id = ANY(%s::bigint[]) ORDER BY s.id FOR UPDATE OF s, c"
)
SETTLE_SAVEPOINT = "newsdesk_coverage_settle"


class ArticleChanged(Exception):
    """The article no longer holds what :class:`ArticleSave` expects (or is gone): nothing was written."""


@dataclass(slots=True)
class ArticleSave:
    """The caller's columns of the article, saved with the assignment if the row still matches.

    ``match`` and ``values`` map column names to database values (already
    prepared for the database, e.g. by ``Field.get_db_prep_save``). The
    enrichment is one: its fields, unless the title or summary it was
    computed from changed meanwhile. On PostgreSQL's common path the row is
    checked and locked (``SELECT ... FOR UPDATE``) in the same round trip as
    the first read, and the values go into the assignment's own UPDATE of the
    article: one new row version instead of two. Elsewhere a guarded UPDATE
    runs first.
    """

    match: dict[str, object]
    values: dict[str, object]

    def update_sql(self, article_id: int) -> tuple[str, list[object]]:
        quote = connection.ops.quote_name
        sets = ", ".join(f"{quote(c)} = %s" for c in self.values)
        where = " AND ".join(f"{quote(c)} = %s" for c in self.match)
        sql = f"UPDATE {quote(Article._meta.db_table)} SET {sets} WHERE id = %s AND {where}"  # noqa: S608
        return sql, [*self.values.values(), article_id, *self.match.values()]

    def check_sql(self, article_id: int) -> tuple[str, list[object]]:
        quote = connection.ops.quote_name
        where = " AND ".join(f"{quote(c)} = %s" for c in self.match)
        sql = f"SELECT 1 FROM {quote(Article._meta.db_table)} WHERE id = %s AND {where} FOR UPDATE"  # noqa: S608
        return sql, [article_id, *self.match.values()]


class DbStore:
    """Reads and writes the coverage tables for one assignment.

    On PostgreSQL the candidate read first takes the article's term locks
    (exclusive on its index terms, shared on its other search terms; the
    module's docstring says why that is enough). ``previous`` is the
    article's index entry from an earlier assignment (re-enrichment,
    recluster --since), whose contribution is withdrawn before the new one
    is saved: its index terms are locked exclusive too.
    """

    def __init__(self, *, article: Article, params: Params, save: ArticleSave | None = None) -> None:
        self.article = article
        self.params = params
        self.pg = connection.vendor == "postgresql"
        # The caller's columns to save with the assignment (checked with the first read).
        self._save = save
        self._save_pending = save is not None
        # The terms this transaction holds an exclusive lock on (PostgreSQL).
        self.locked_exclusive: set[str] = set()
        self._locked = not self.pg
        self._n = 0
        self._docs: dict[int, Doc] = {}
        self._centroids: dict[int, dict[str, float]] = {}
        self._pending: Pending | None = None
        self.merged: list[int] = []
        # Stories whose rows this transaction locked, with their current centroid.
        self.locked_stories: set[int] = set()
        # An article without a story was never indexed (recluster --since
        # removes the index entry when it detaches one): skip the lookup.
        self.previous = (
            CoverageDoc.objects.filter(article_id=article.id).first() if article.story_id is not None else None
        )
        self.previous_story = article.story_id
        # The fast path defers the story insert and all writes to one statement,
        # and counts the article into its story in place: only for an article
        # in no story yet (one linked without an index entry is recounted).
        self.fast = self.pg and article.story_id is None
        self.embedding_written = False
        # Optimistic read (the module's docstring): candidate stories read
        # without their row locks, their versions kept for settle().
        self.optimistic = self.fast and settings.NEWSDESK_COVERAGE_OPTIMISTIC_READ
        self._versions: dict[int, str] = {}
        self._settled = False
        self._check: list[int] | None = None  # a join's stories, checked with its write (flush)
        self.stale_reads = 0
        # The first read's document frequencies, for a second scoring (relock()).
        self._df_rows: dict[str, int] | None = None
        # Semantic backend (dbsemantic.SemanticDbStore sets it): the candidate read also
        # returns the candidates' stored vectors and their stories' summed embeddings,
        # kept here as read (None: none stored), so no second round trip fetches them.
        self.with_vectors = False
        self.vectors: dict[int, bytes | None] = {}
        self.sums: dict[int, bytes | None] = {}

    # -- reads -------------------------------------------------------------

    def doc_count(self) -> int:
        return self._n

    def df(self, keys: Sequence[str]) -> dict[str, int]:
        """Document frequencies, read without a lock (approximate by design: see the module's docstring)."""
        if self._df_rows is not None:  # scored again after a stale read: the same weights
            return dict(self._df_rows)
        wanted = [DOC_COUNT_KEY, *keys]
        if self.pg:
            sql = DF_SQL.format(table=CoverageTerm._meta.db_table)
            with pg_cursor() as cursor:
                if not self._save_pending:
                    pg_execute(cursor, sql, [pg_array(wanted)])
                else:
                    # The article's check (or guarded update) and this read in one round trip (a pipeline).
                    with pg_cursor() as first:
                        with connection.connection.pipeline():
                            pg_execute(first, *self._save_statement())
                            pg_execute(cursor, sql, [pg_array(wanted)])
                        self._save_checked(first.rowcount)  # known once the pipeline synced
                rows = {term: df for term, df in cursor.fetchall() if df is not None}
        else:
            self.save_run()
            rows = dict(CoverageTerm.objects.filter(term__in=wanted).values_list("term", "df"))
        self._n = rows.pop(DOC_COUNT_KEY, 0)
        if self.pg and settings.NEWSDESK_COVERAGE_PREPARED_STATEMENTS:
            pg_plans_refresh(size=self._n)
        if self.optimistic:
            self._df_rows = dict(rows)
        return rows

    def _save_statement(self) -> tuple[str, list[object]]:
        assert self._save is not None
        if self.fast:  # checked and locked now, saved by flush()'s UPDATE of the article
            return self._save.check_sql(self.article.id)
        return self._save.update_sql(self.article.id)

    def save_run(self) -> None:
        """Check (or save) the caller's columns now if not done yet; raise :class:`ArticleChanged` on no match."""
        if not self._save_pending:
            return
        with connection.cursor() as cursor:
            cursor.execute(*self._save_statement())
            self._save_checked(cursor.rowcount)

    def _save_checked(self, rowcount: int) -> None:
        self._save_pending = False
        if rowcount < 1:
            raise ArticleChanged(f"article {self.article.id} changed meanwhile or is gone")

    def lock(self, *, index: Sequence[str], search: Sequence[str] = ()) -> None:
        """Take the term locks (once): exclusive on ``index`` (and a previous entry's index terms), shared on ``search``.

        The engine indexes an article under the first ``query_terms`` of its
        search terms (:meth:`~newsdesk.coverage.engine.Doc.index_terms`, one
        ranking), so the candidate read knows both.
        """
        plan = self._lock_plan(index=index, search=search)
        if plan is not None and plan[0]:
            with pg_cursor() as cursor:
                pg_execute(cursor, LOCK_SQL, [pg_array(plan[0]), pg_array(plan[1])])

    def _lock_plan(self, *, index: Sequence[str], search: Sequence[str]) -> tuple[list[int], list[bool]] | None:
        """The lock statement's parameters, once (None when already locked); marks the store locked."""
        if self._locked:
            return None
        self._locked = True
        exclusive = set(index)
        if self.previous is not None:
            # Its old postings are withdrawn: whoever could find them waits too.
            exclusive.update(
                Doc(key=0, at=0.0, terms=self.previous.terms, grams={}, names={}).index_terms(self.params.query_terms)
            )
        keys, modes = term_lock_plan(exclusive=sorted(exclusive), shared=search)
        self.locked_exclusive = exclusive
        return keys, modes

    def candidates(
        self,
        *,
        terms: Sequence[str],
        since: float,
        until: float,
        per_term: int,
        near: tuple[float, float] | None = None,
    ) -> list[Candidate]:
        if self.pg and terms:
            # The locks and the read in one round trip (a pipeline): PostgreSQL
            # runs the read after the lock statement, with a snapshot taken
            # when it starts (its Bind), so after every lock is held.
            plan = self._lock_plan(index=terms[: self.params.query_terms], search=terms)
            near = near if near is not None else (since, until)
            return self._candidates_pg(
                terms=terms,
                since=since,
                until=until,
                per_term=per_term,
                near=near,
                lock=plan if plan and plan[0] else None,
            )
        self.lock(index=terms[: self.params.query_terms], search=terms)
        if not terms:
            return []
        near = near if near is not None else (since, until)
        table = CoveragePosting._meta.db_table
        # One bounded, index-ordered read per term: newest postings first, at
        # most per_term of them, so a common term never floods the query.
        # Only the model's table name is interpolated; every value is a parameter.
        part = (
            f"SELECT * FROM (SELECT article_id, %s AS rnk, "  # noqa: S608
            f"(published_at < %s OR published_at > %s) AS late FROM {table} "
            f"WHERE term = %s AND published_at >= %s AND published_at <= %s "
            f"ORDER BY published_at DESC, article_id DESC LIMIT %s) AS p{{i}}"
        )
        sql = " UNION ALL ".join(part.format(i=i) for i in range(len(terms)))
        params: list[object] = []
        for rank, term in enumerate(terms):
            params += [rank, utc_datetime(near[0]), utc_datetime(near[1])]
            params += [term, utc_datetime(since), utc_datetime(until), per_term]
        hits: dict[int, float] = {}
        late: dict[int, bool] = {}
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = sorted(cursor.fetchall(), key=lambda r: r[1])  # add in rank order, as the memory store does
        for article_id, rank, is_late in rows:
            hits[article_id] = hits.get(article_id, 0.0) + 1.0 / (1 + rank)
            late[article_id] = bool(is_late)
        return [Candidate(key=k, story=0, hits=h, late=late[k]) for k, h in hits.items()]

    def _candidates_pg(
        self,
        *,
        terms: Sequence[str],
        since: float,
        until: float,
        per_term: int,
        near: tuple[float, float],
        lock: tuple[list[int], list[bool]] | None = None,
    ) -> list[Candidate]:
        """Candidates, their vectors and their stories' centroids in one statement.

        The engine keeps the ``params.candidates`` best near ones and the
        ``params.late_candidates`` best late ones (published outside ``near``)
        by (hits desc, id) and scores those; this ranks the same way in SQL
        (the float sum runs in rank order, as in Python, so ties break
        identically) and returns only those, with what :meth:`docs` and
        :meth:`centroids` will be asked for.

        Unless the read is optimistic (then :meth:`settle` locks them before
        the write), it also locks the candidate stories' rows (story and
        centroid, in id order so two workers cannot deadlock), which a join needs before it
        writes: the locked rows come back in their latest version even when
        the statement waited for a concurrent join, so the centroid read here
        is the one to update, and the writes need no lock of their own. A
        story merged meanwhile is dropped after its lock (its latest row).

        The stories are looked up by ``id = ANY(array)`` on both tables, so
        every plan reaches them through their primary keys. The statement is
        prepared once per connection and a worker keeps its connection: a
        plan made while the tables were new and empty (a first import) is
        kept, and ``IN (subquery)`` then got one that walked every story for
        each article.
        """
        sql = _candidates_sql(
            grams=_grams_column(self.params, "v.grams"), vectors=self.with_vectors, optimistic=self.optimistic
        )
        params = [
            pg_array(terms),
            utc_datetime(since),
            utc_datetime(until),
            per_term,
            utc_datetime(near[0]),
            utc_datetime(near[1]),
            self.article.id,
            self.params.late_candidates,
            self.params.candidates,
        ]
        with pg_cursor() as cursor:
            if lock is None:
                pg_execute(cursor, sql, params, binary=True)
            else:
                with connection.connection.pipeline():
                    pg_execute(cursor, LOCK_SQL, [pg_array(lock[0]), pg_array(lock[1])])
                    pg_execute(cursor, sql, params, binary=True)
            rows = cursor.fetchall()
        found = []
        for key, hits, late, at, packed, terms_, names, grams, story, vector, version in rows:
            if key is None:
                self._centroids[story] = _centroid_unpacked(packed) if packed is not None else json_value(terms_)
                if self.optimistic:
                    self._versions[story] = version
                else:
                    self.locked_stories.add(story)
                if self.with_vectors:
                    self.sums[story] = vector
                continue
            found.append(Candidate(key=key, story=story or 0, hits=hits, late=bool(late)))
            if self.with_vectors:
                self.vectors[key] = vector
            if at is not None and story is not None:
                split = words = None
                if packed is not None:
                    doc_terms, doc_names, split, words = _doc_unpacked(packed)
                else:
                    doc_terms, doc_names = json_value(terms_), json_value(names)
                self._docs[key] = Doc(
                    key=key,
                    at=at,
                    terms=doc_terms,
                    names=doc_names,
                    grams={} if grams is None else json_value(grams),
                    story=story,
                    _split=split,
                    _words=words,
                )
        return found

    def stories_of(self, keys: Sequence[int]) -> dict[int, int]:
        """Read from the articles, not the index: an editor's link holds for a member not indexed too."""
        if not keys:
            return {}
        return dict(Article.objects.filter(id__in=keys, story__isnull=False).values_list("id", "story_id"))

    def docs(self, keys: Sequence[int]) -> list[Doc]:
        if not keys:
            return []
        missing = [k for k in keys if k not in self._docs]
        if missing:
            fields = ["article_id", "at", "terms", "names", "article__story_id"]
            if self.params.weight_grams:
                fields.append("grams")
            rows = CoverageDoc.objects.filter(article_id__in=missing, article__story__isnull=False).values_list(*fields)
            for r in rows:
                grams = r[5] if self.params.weight_grams else {}
                self._docs[r[0]] = Doc(key=r[0], at=r[1], terms=r[2], names=r[3], grams=grams, story=r[4])
        return [self._docs[k] for k in keys if k in self._docs]

    def centroids(self, keys: Sequence[int]) -> dict[int, dict[str, float]]:
        missing = [k for k in keys if k not in self._centroids]
        if missing:
            self._centroids.update(
                CoverageStory.objects.filter(story_id__in=missing).values_list("story_id", "centroid")
            )
        return {k: self._centroids[k] for k in keys if k in self._centroids}

    # -- the optimistic read's check ------------------------------------------

    def settle(self) -> bool:
        """Lock the stories the optimistic read scored and check that none changed since (once).

        True: the rows are locked for update and hold what was scored, or
        nothing needed checking (none read, or the decision is a new story:
        the module's docstring says why that needs none). False: one changed or was merged away;
        the row locks are released (rollback to the savepoint taken before
        them, nothing else was written) and the caller scores again after
        :meth:`relock`.
        """
        if not self.optimistic or self._settled:
            return True
        self._settled = True
        if not self._versions or (self._pending is not None and self._pending.doc.story == NEW_STORY):
            return True
        if self._pending is not None and not self.merged:
            # A join: its check goes with its write, in one round trip (flush), and a
            # stale read rolls the write back with the locks (flush returns None).
            self._check = sorted(self._versions)
            return True
        with pg_cursor() as cursor:
            with connection.connection.pipeline():
                self._check_send(cursor, sorted(self._versions))
            return self._check_holds(cursor)

    def _check_send(self, cursor, ids: list[int]) -> None:
        """Queue the savepoint and the stories' lock-and-compare; the stories count as locked from here."""
        cursor.execute(f"SAVEPOINT {SETTLE_SAVEPOINT}")
        pg_execute(
            cursor, SETTLE_SQL.format(sto=Story._meta.db_table, cent=CoverageStory._meta.db_table), [pg_array(ids)] * 2
        )
        self.locked_stories = set(ids)

    def _check_holds(self, cursor) -> bool:
        """Whether the stories still hold the versions scored; if not, roll back to the savepoint
        (the row locks and whatever was written since) and count a stale read."""
        found = {story: (merged, version) for story, merged, version in cursor.fetchall()}
        if all(found.get(story) == (None, version) for story, version in self._versions.items()):
            return True
        cursor.execute(f"ROLLBACK TO SAVEPOINT {SETTLE_SAVEPOINT}")
        self.locked_stories = set()
        self.stale_reads += 1
        return False

    def relock(self) -> None:
        """Forget what the optimistic read found; the next scoring reads under the stories' row locks."""
        assert not self.merged, "a merge is written only after settle() succeeded"
        self.optimistic = False
        self._check = None
        self._docs.clear()
        self._centroids.clear()
        self._versions.clear()
        self.vectors.clear()
        self.sums.clear()
        self.locked_stories = set()
        self._pending = None

    # -- writes ------------------------------------------------------------

    def story_create(self, *, doc: Doc) -> int:
        if self.fast:
            return NEW_STORY  # inserted by flush(), with everything else
        story = story_first_member(article=self.article)
        story.save()
        return story.id

    def story_merge(self, *, source: int, target: int) -> None:
        if not self.settle():
            raise StaleRead(f"a story of article {self.article.id}'s candidates changed before its merge")
        story_merge(source=source, target=target, centroid_terms=self.params.centroid_terms)
        self.merged.append(source)
        articles_changed()

    def doc_save(self, *, doc: Doc, index_terms: Sequence[str], df_keys: Sequence[str]) -> None:
        assert doc.story is not None
        # An assignment that read no candidates (an editor's must-link) still
        # posts under its index terms: whoever could find it waits for it.
        self.lock(index=index_terms)
        assert self._locked and (not self.pg or set(index_terms) <= self.locked_exclusive), "index terms not locked"
        self._pending = Pending(doc=doc, index_terms=list(index_terms), df_keys=list(df_keys))

    def flush(
        self, *, score: float | None, evidence: dict, embedding_sum: Callable[[int | None], bytes | None] | None = None
    ) -> tuple[Story, bool] | None:
        """Write the assignment; return the story and whether its counters are already current.

        ``embedding_sum``: see :func:`~newsdesk.coverage.dbwrite.assignment_write_pg`;
        :attr:`embedding_written` says whether the story's summed embedding went with the write.
        None: a join's optimistic read was stale (its check went with the write, :meth:`settle`);
        the write and the row locks are rolled back, and the caller scores again after :meth:`relock`.
        """
        pending = self._pending
        assert pending is not None, "doc_assign saves the article before returning"
        if not self.settle():  # the caller settles first and scores again on False: never stale here
            raise StaleRead(f"a story of article {self.article.id}'s candidates changed before its write")
        self.save_run()  # sent with the first read unless nothing was read
        if self.fast:
            # A join after an optimistic read sends its check (settle) ahead of the write, in one round trip.
            check, self._check = self._check, None
            kept = (self.article.story_id, self.article.story_score, self.article.story_evidence)
            with pg_cursor() as cursor:
                with connection.connection.pipeline() if check else contextlib.nullcontext():
                    if check:
                        self._check_send(cursor, check)
                    # The write's own fetch sends what is queued ahead of it.
                    try:
                        *written, self.embedding_written = assignment_write_pg(
                            article=self.article,
                            pending=pending,
                            params=self.params,
                            locked_centroids={story: self._centroids[story] for story in self.locked_stories},
                            merged=bool(self.merged),
                            df_settled=(),
                            score=score,
                            evidence=evidence,
                            embedding_sum=embedding_sum,
                            article_values=self._save.values if self._save is not None else None,
                        )
                    except StoryGone:
                        # Deleted since the optimistic read (recluster --since deletes the stories it
                        # empties): the check below fails for it and rolls the write back.
                        if not check:
                            raise
                        written = None
                if check and not self._check_holds(cursor):
                    self.article.story_id, self.article.story_score, self.article.story_evidence = kept
                    self.embedding_written = False
                    return None
                assert written is not None, "a story gone since the read fails its check"
        else:
            story = assignment_write_orm(
                article=self.article,
                pending=pending,
                centroid_terms=self.params.centroid_terms,
                previous=self.previous,
                previous_story=self.previous_story,
                score=score,
                evidence=evidence,
            )
            written = story, False
        # Story membership and outlet counts are raw SQL / QuerySet.update: no
        # signals. Readers need the bump after the commit; one is enough.
        articles_changed(at_commit_only=True)
        return written[0], written[1]


def store_reset() -> None:
    """Forget the whole index (recluster rebuilds it)."""
    CoveragePosting.objects.all().delete()
    CoverageDoc.objects.all().delete()
    CoverageStory.objects.all().delete()
    CoverageTerm.objects.all().delete()


__all__ = [
    "DOC_COUNT_KEY",
    "LOCK_SQL",
    "ArticleChanged",
    "ArticleSave",
    "DbStore",
    "StaleRead",
    "store_reset",
    "term_lock_keys",
    "term_lock_plan",
]
