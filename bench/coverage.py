"""Similar Coverage cost on PostgreSQL: per-article assignment, recluster throughput, refinement pass CPU.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/coverage_bench .venv/bin/python bench/coverage.py [--quick]

Stored articles and their index rows (vectors, postings, document
frequencies, story centroids) are generated in SQL with generate_series, at
a steady 2,000 articles a day, so a bigger corpus is a longer history (as in
production). Each measured article is a real Article row assigned by
``article_assign_story`` (features, locks, candidates, scoring, writes),
half of them made to continue stored stories (``joined`` reports the share
that did join one). The assignments run as enrichment runs them: in its
batches, with what a batch reads once (boilerplate counts, the editors'
decisions) and the feeds' one version bump spread over the batch's articles
(``--per-article-reads``: each assignment pays them itself, as this bench did
until 2026-12-07). Besides wall-clock percentiles it reports ``cpu_ms``, the
CPU per assignment of this process plus its PostgreSQL backend, which a busy
machine inflates far less than the wall clock. The last line prints the
figures beside the targets; the exit status is non-zero when one is missed.

With a semantic model on, sentence vectors are computed at enrichment, not
by the assignment (issue #18: "semantic vectors excluded"): the bench stores
every measured article's vector first, as enrichment does, hands it to the
assignment as enrichment does (``newsdesk/flow.py``), and times only the
assignment and the recluster; what the vectors cost is printed on lines of
their own (``embedding ...``). The stored corpus has vectors and story sums
too (generated, see ``_vectors_fill``), so the assignment reads and compares
its candidates' vectors as in production.

The default sizes are 10k, 100k and 1M with a recluster of 100k; with the
semantic backend that recluster embeds 100k articles first (a quarter of an
hour on two cores). #18's two sizes, bounded (about 10 minutes on a quiet
machine, most of it the 1M load):

    ... bench/coverage.py --sizes 100000,1000000 --recluster-n 10000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/coverage_bench")
os.environ.setdefault("DEBUG", "true")  # a local bench needs no production secret
os.environ.setdefault("LOG_LEVEL", "WARNING")

VOCAB = 50_000
PER_DAY = 2_000
STORY_SIZE = 5
WORDS = 8


def _db_ensure() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        sys.exit("bench/coverage.py needs PostgreSQL (set DATABASE_URL)")
    conninfo = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def _word_sql(story: str, k: str) -> str:
    # Words of one story overlap: six drawn from the story, two from the article.
    return (
        f"'t' || lpad(((CASE WHEN {k} <= 6 THEN ({story}) * 6 + {k} ELSE i * 2 + {k} + 7 END)"
        f" * 2654435761 % {VOCAB})::text, 5, '0')"
    )


def corpus_load(n: int, *, vectors: bool = False) -> float:
    """Replace the stored corpus with n generated articles and their index; return the last time.

    ``vectors`` (semantic backend on): every stored article gets a sentence
    vector and every story its summed embedding, as enrichment leaves them
    (:func:`_vectors_fill`), so the assignment reads and compares its
    candidates' vectors as it does in production.
    """
    from django.db import connection

    from newsdesk.coverage.sql import pg_indexes_drop
    from newsdesk.models import (
        Article,
        CoverageDoc,
        CoverageEmbedding,
        CoveragePosting,
        CoverageStory,
        CoverageTerm,
        Source,
        Story,
    )

    art, doc, post = Article._meta.db_table, CoverageDoc._meta.db_table, CoveragePosting._meta.db_table
    term, cent, sto = CoverageTerm._meta.db_table, CoverageStory._meta.db_table, Story._meta.db_table
    tables = [art, doc, post, term, cent, sto]
    with connection.cursor() as c:
        c.execute(f"TRUNCATE {post}, {doc}, {term}, {cent}, {art}, {sto} RESTART IDENTITY CASCADE")
        source = Source.objects.get_or_create(name="Bench outlet", defaults={"country": "GB", "language": "en"})[0]
        # A bulk load: build secondary indexes once at the end rather than row
        # by row, skip the (deferred) foreign-key triggers of rows generated
        # consistent, and do not wait for WAL flushes. All reset below.
        rebuild = pg_indexes_drop(c, tables)
        c.execute("SET session_replication_role = replica")
        c.execute("SET synchronous_commit = off")
        c.execute("SET maintenance_work_mem = '256MB'")
        # Every NOT NULL column without a default gets a neutral value, so the
        # load survives columns other features add to Article.
        c.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "AND is_nullable = 'NO' AND column_default IS NULL",
            [art],
        )
        filler = {
            "text": "''",
            "character varying": "''",
            "integer": "0",
            "bigint": "0",
            "smallint": "0",
            "boolean": "false",
            "double precision": "0",
            "jsonb": "'{}'::jsonb",
            "timestamp with time zone": "now()",
            "tsvector": "''::tsvector",
        }
        given = {
            "source_id": str(source.id),
            "dedupe_key": "'b' || i",
            "title_orig": "w.title",
            "title_en": "w.title",
            "language": "'en'",
            "country": "'GB'",
            "translation_status": "'not_needed'",
            "published_at": f"timestamptz '2020-01-01' + i * interval '{86400 / PER_DAY} seconds'",
            "fetched_at": "now()",
            "story_id": f"(i - 1) / {STORY_SIZE} + 1",
            "story_evidence": "'{}'::jsonb",
        }
        cols = dict(given)
        for name, dtype in c.fetchall():
            if name not in cols and name != "id":
                cols[name] = filler.get(dtype, "''")
        c.execute(
            f"INSERT INTO {sto} (headline, created_at, updated_at, article_count, source_count, country_count, "  # noqa: S608
            f"language_count) SELECT 'story ' || s, now(), now(), {STORY_SIZE}, 1, 1, 1 "
            f"FROM generate_series(1, {(n + STORY_SIZE - 1) // STORY_SIZE}) s"
        )
        words = _word_sql(f"(i - 1) / {STORY_SIZE}", "k")
        c.execute(
            f"INSERT INTO {art} ({', '.join(cols)}) SELECT {', '.join(cols.values())} "  # noqa: S608
            f"FROM generate_series(1, {n}) i CROSS JOIN LATERAL (SELECT string_agg({words}, ' ') AS title "
            f"FROM generate_series(1, {WORDS}) k) w"
        )
        weight = 1 / WORDS**0.5
        c.execute(
            f"INSERT INTO {doc} (article_id, at, terms, names, grams) SELECT a.id, "  # noqa: S608
            f"extract(epoch FROM a.published_at), (SELECT jsonb_object_agg(t, {weight}) "
            "FROM regexp_split_to_table(a.title_orig, ' ') t), '{}'::jsonb, '{}'::jsonb FROM " + art + " a"
        )
        c.execute(
            f"INSERT INTO {post} (term, article_id, published_at) SELECT DISTINCT t, a.id, a.published_at "  # noqa: S608
            f"FROM {art} a CROSS JOIN LATERAL regexp_split_to_table(a.title_orig, ' ') t"
        )
        c.execute(
            f"INSERT INTO {term} (term, df) SELECT term, count(*) FROM {post} GROUP BY term "  # noqa: S608
            f"UNION ALL SELECT '', {n}"
        )
        c.execute(
            f"INSERT INTO {cent} (story_id, centroid) SELECT DISTINCT ON (a.story_id) a.story_id, d.terms "  # noqa: S608
            f"FROM {art} a JOIN {doc} d ON d.article_id = a.id ORDER BY a.story_id, a.id"
        )
        _packed_fill(c, doc=doc, cent=cent)
        if vectors:
            _vectors_fill(c, n=n, cent=cent)
        for ddl in rebuild:
            c.execute(ddl)
        c.execute("RESET session_replication_role; RESET synchronous_commit; RESET maintenance_work_mem")
    with connection.cursor() as c:
        # VACUUM sets the visibility map, so the posting read is index-only, as on a settled table.
        for table in (post, doc, term, art, cent, sto, CoverageEmbedding._meta.db_table):
            c.execute(f"VACUUM ANALYZE {table}")
    return time.time()


def _packed_fill(c, *, doc: str, cent: str) -> None:
    """The packed vectors every writer stores beside the JSON (newsdesk/coverage/docpack.py), as production reads them."""
    from newsdesk.coverage.docpack import centroid_pack, doc_pack
    from newsdesk.coverage.sql import json_value, pg_copy

    for table, key, columns, pack in (
        (doc, "article_id", "terms, names", lambda row: doc_pack(json_value(row[1]), json_value(row[2]))),
        (cent, "story_id", "centroid", lambda row: centroid_pack(json_value(row[1]))),
    ):
        column = "packed" if table == doc else "centroid_packed"
        c.execute(f"SELECT {key}, {columns} FROM {table}")  # noqa: S608
        rows = [(row[0], pack(row)) for row in c.fetchall()]
        c.execute("CREATE TEMP TABLE packed_fill (k bigint, v bytea)")
        pg_copy(c, "packed_fill", ("k", "v"), rows)
        c.execute(f"UPDATE {table} t SET {column} = f.v FROM packed_fill f WHERE t.{key} = f.k")  # noqa: S608
        c.execute("DROP TABLE packed_fill")


# The stories the measured articles continue (assign_timings): their members get
# the model's own vectors, so those joins score as real ones do.
CONTINUED_STORIES = 50


def _vectors_fill(c, *, n: int, cent: str, chunk: int = 50_000) -> None:
    """Sentence vectors for the n stored articles and summed embeddings for their stories.

    The members of the last ``CONTINUED_STORIES`` stories (the ones the
    measured articles continue) are embedded by the model from their titles;
    every other article gets a generated unit vector, its story's direction
    plus noise (generated vectors of two stories score about 0, as unrelated
    news does), as float16 like the model's. A story's sum is its members'
    vectors added in float32, as ``story_embeddings_rebuild`` adds them. The
    model would take hours at 1M articles; what the assignment reads (bytes
    per candidate, per story) is the same.
    """
    import numpy as np

    from newsdesk.coverage.semantic import article_semantic_text, encoder, text_digest
    from newsdesk.coverage.sql import pg_copy
    from newsdesk.models import Article, CoverageEmbedding

    dim = encoder().embed(["dimension"]).shape[1]
    rng = np.random.default_rng(18)
    emb = CoverageEmbedding._meta.db_table
    c.execute("CREATE TEMP TABLE sums_fill (k bigint, v bytea)")
    stories = (n + STORY_SIZE - 1) // STORY_SIZE
    real_from = max(0, (stories - CONTINUED_STORIES) * STORY_SIZE)  # first article index (0-based) embedded for real
    for start in range(0, n, chunk):  # chunk is a multiple of STORY_SIZE: stories never straddle two
        count = min(chunk, n - start)
        first_story = start // STORY_SIZE
        base = rng.standard_normal(((count + STORY_SIZE - 1) // STORY_SIZE, dim), dtype=np.float32)
        vecs = np.repeat(base, STORY_SIZE, axis=0)[:count] + rng.standard_normal((count, dim), dtype=np.float32)
        digests = ["bench"] * count
        if start + count > real_from:
            lo = max(real_from, start)
            ids = list(range(lo + 1, start + count + 1))
            articles = Article.objects.filter(id__in=ids).order_by("id")
            texts = [article_semantic_text(a) for a in articles]
            vecs[lo - start :] = encoder().embed(texts)
            digests[lo - start :] = [text_digest(t) for t in texts]
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        half = vecs.astype(np.float16)
        pg_copy(
            c,
            emb,
            ("article_id", "digest", "vector"),
            ((start + i + 1, digests[i], half[i].tobytes()) for i in range(count)),
        )
        sums = half.astype(np.float32)
        sums = np.add.reduceat(sums, np.arange(0, count, STORY_SIZE), axis=0)
        pg_copy(c, "sums_fill", ("k", "v"), ((first_story + i + 1, row.tobytes()) for i, row in enumerate(sums)))
    c.execute(f"UPDATE {cent} t SET embedding = f.v FROM sums_fill f WHERE t.story_id = f.k")  # noqa: S608
    c.execute("DROP TABLE sums_fill")


def _backend_cpu_s() -> float:
    """CPU seconds this connection's PostgreSQL backend has used (same machine: /proc)."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        pid = c.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def embeddings_store_first(articles: list | None = None) -> tuple[str, dict]:
    """Compute and store the articles' sentence vectors as enrichment does (all articles when None).

    Returns the embedding cost as a line of its own, or "" with the semantic
    backend off, and the articles' vectors by id (as enrichment hands them to
    the assignment: ``newsdesk/flow.py``). What follows reads the stored
    vectors, as in production.
    """
    from newsdesk.coverage.semantic import articles_embeddings, backend_name, semantic_enabled

    if not semantic_enabled():
        return "", {}
    started, cpu = time.perf_counter(), time.process_time()
    vectors: dict = {}
    if articles is None:
        from newsdesk.coverage.dbsemantic import embeddings_ensure

        count = len(embeddings_ensure())
    else:
        for i in range(0, len(articles), 32):  # enrichment's batches
            vectors.update(articles_embeddings(articles[i : i + 32]))
        count = len(articles)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    line = (
        f"embedding ({backend_name()}, at enrichment, not timed below) articles={count} "
        f"wall_ms_per_article={wall * 1000 / max(count, 1):.2f} cpu_ms_per_article={cpu * 1000 / max(count, 1):.2f}"
    )
    return line, vectors


def assign_timings(
    n_stored: int, samples: int, warmup: int = 10, *, own_vector: bool = False, per_article_reads: bool = False
) -> tuple[list[float], float, float, tuple[float, float]]:
    """Milliseconds per assignment of new articles at the end of the stored timeline.

    The assignments are called as enrichment calls them (newsdesk/flow.py
    ``articles_finish``): in batches of ``NEWSDESK_ENRICH_BATCH_SIZE``, the
    batch's boilerplate counts and the editors' decisions read once per batch,
    each article committed in a transaction of its own, the feeds' version
    bumped once per batch. What a batch pays once (those reads, the bump) is
    spread evenly over its articles' times, so every millisecond is counted.
    ``per_article_reads`` calls ``article_assign_story`` alone instead, as this
    bench did before: each assignment reads the decisions and its boilerplate
    itself and bumps the feeds' version after its own commit.

    Also returns the mean CPU milliseconds per assignment, this process's plus
    its PostgreSQL backend's (the work, whatever else the machine runs), and
    the share of articles that joined a story, and that CPU split (this
    process's, the backend's). The articles are inserted first, so only
    assignments run between the CPU readings.
    """
    from datetime import UTC, datetime, timedelta

    from newsdesk.coverage.cluster import article_assign_story
    from newsdesk.models import Article, Source

    source = Source.objects.get(name="Bench outlet")
    end = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=n_stored * 86400 / PER_DAY)
    stories = n_stored // STORY_SIZE
    articles = []
    for j in range(samples):
        # Half continue one of the last stored stories, half are new stories.
        story = stories - (j % 50) if j % 2 == 0 else stories + 1000 + j
        words = [f"t{((story * 6 + k) * 2654435761 % VOCAB):05d}" for k in range(1, 7)]
        words += [f"t{((n_stored + j) * 97 + k) % VOCAB:05d}" for k in (1, 2)]
        title = " ".join(words)
        articles.append(
            Article.objects.create(
                source=source,
                dedupe_key=f"new-{n_stored}-{j}-{time.time_ns()}",
                title_orig=title,
                title_en=title,
                language="en",
                country="GB",
                translation_status="not_needed",
                published_at=end + timedelta(seconds=j),
            )
        )
    embedded, vectors = embeddings_store_first(articles)
    if embedded:
        print(embedded, flush=True)
    # The vector goes in as enrichment passes it (newsdesk/flow.py: one batch's
    # vectors read or computed before the assignments); ``own_vector`` has each
    # assignment read its own (article_embedding), as this bench did before.
    passed = {} if own_vector or not vectors else {"embedding": None}
    if not per_article_reads:
        return _assign_timings_batched(articles, vectors=vectors, passed=passed)
    out, joined = [], 0
    backend = own = 0.0
    for j, article in enumerate(articles):
        if j == warmup:  # connection and cache warm-up
            backend, own = _backend_cpu_s(), time.process_time()
        started = time.perf_counter()
        if passed:
            passed["embedding"] = vectors.get(article.id)
        story = article_assign_story(article=article, **passed)
        if j >= warmup:
            out.append((time.perf_counter() - started) * 1000)
            joined += story.article_count > 1
    own, backend = time.process_time() - own, _backend_cpu_s() - backend
    cpu_ms = (own + backend) * 1000 / len(out)
    return out, cpu_ms, joined / len(out), (own * 1000 / len(out), backend * 1000 / len(out))


def _assign_timings_batched(
    articles: list, *, vectors: dict, passed: dict
) -> tuple[list[float], float, float, tuple[float, float]]:
    """``assign_timings`` as enrichment calls the assignment (its first batch warms up)."""
    from django.conf import settings
    from django.db import transaction

    from newsdesk.changes import articles_changed, changes_coalesced
    from newsdesk.coverage.cluster import article_assign_story
    from newsdesk.coverage.dbboilerplate import articles_boilerplate
    from newsdesk.coverage.linkstore import links_load

    size = max(1, settings.NEWSDESK_ENRICH_BATCH_SIZE)
    batches = [articles[i : i + size] for i in range(0, len(articles), size)]
    out, joined, timed = [], 0, 0
    backend = own = 0.0
    for b, batch in enumerate(batches):
        if b == 1:  # connection and cache warm-up: the first batch
            backend, own = _backend_cpu_s(), time.process_time()
        started = time.perf_counter()
        boilerplate = articles_boilerplate(batch)
        links = links_load()
        once = time.perf_counter() - started
        times = []
        bump_started = 0.0
        with changes_coalesced():
            for article in batch:
                started = time.perf_counter()
                if passed:
                    passed["embedding"] = vectors.get(article.id)
                with transaction.atomic():
                    story = article_assign_story(
                        article=article, links=links, boilerplate=boilerplate[article.id], **passed
                    )
                    articles_changed(at_commit_only=True)
                times.append(time.perf_counter() - started)
                if b >= 1:
                    joined += story.article_count > 1
            bump_started = time.perf_counter()
        once += time.perf_counter() - bump_started
        if b >= 1:
            out.extend((t + once / len(batch)) * 1000 for t in times)
            timed += len(batch)
    own, backend = time.process_time() - own, _backend_cpu_s() - backend
    cpu_ms = (own + backend) * 1000 / max(timed, 1)
    return out, cpu_ms, joined / max(timed, 1), (own * 1000 / max(timed, 1), backend * 1000 / max(timed, 1))


def explain_next_read() -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) of the next assignment's candidate read, once."""
    from newsdesk.coverage import dbstore  # its candidate read calls pg_execute through its own name

    plain = dbstore.pg_execute

    def explained(cursor, sql, params, **kwargs):
        if sql.startswith("WITH q AS"):
            dbstore.pg_execute = plain
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join("    " + r[0] for r in cursor.fetchall()), flush=True)
        plain(cursor, sql, params, **kwargs)

    dbstore.pg_execute = explained


def recluster_rate(n: int) -> tuple[float, str]:
    """Articles per second of a full rebuild, and where its CPU went (this process, helper, backend)."""
    from newsdesk.coverage.recluster import articles_recluster

    corpus_load(n)
    embedded, _ = embeddings_store_first()
    if embedded:
        print(embedded, flush=True)
    backend, before = _backend_cpu_s(), os.times()
    started = time.perf_counter()
    stats = articles_recluster()
    wall = time.perf_counter() - started
    after = os.times()
    own = after.user + after.system - before.user - before.system
    helper = after.children_user + after.children_system - before.children_user - before.children_system
    cpu = f"wall_s={wall:.1f} cpu_s={own:.1f} helper_cpu_s={helper:.1f} backend_cpu_s={_backend_cpu_s() - backend:.1f}"
    return stats.articles / wall, cpu


def refine_cost(n: int) -> tuple[float, str]:
    """CPU of one refinement pass (beat's task) over a window holding ``n`` articles: this process plus its backend.

    The generated corpus is spread at 2,000 articles a day, so the pass is
    given a window that holds all ``n`` (as 48 hours of a desk taking
    ``n / 2`` articles a day would). A second pass over the unchanged window
    is timed too: what beat pays when nothing arrived.
    """
    from dataclasses import replace

    from django.utils import timezone

    from newsdesk.coverage import dbrefine
    from newsdesk.coverage.cluster import refine_params
    from newsdesk.models import Article

    corpus_load(n)
    last = Article.objects.order_by("-published_at").values_list("published_at", flat=True).first() or timezone.now()
    refine = replace(refine_params(), window_hours=n / PER_DAY * 24 + 1, window_articles=n)
    dbrefine._CACHE = dbrefine.RefineCache()  # a fresh worker
    out = []
    for label in ("first", "again"):
        backend, before = _backend_cpu_s(), os.times()
        started = time.perf_counter()
        stats = dbrefine.stories_refine_recent(now=last, refine=refine)
        wall = time.perf_counter() - started
        after = os.times()
        cpu = after.user + after.system - before.user - before.system + _backend_cpu_s() - backend
        out.append(
            (cpu, f"{label}_cpu_s={cpu:.1f} {label}_wall_s={wall:.1f} articles={stats.articles} moved={stats.moved}")
        )
    return out[0][0], " ".join(text for _, text in out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k stored articles, recluster of 10k (< 1 min)")
    parser.add_argument("--samples", type=int, default=0, help="new articles timed per size")
    parser.add_argument("--sizes", default="", help="stored corpus sizes, e.g. 10000,100000 (default by mode)")
    parser.add_argument("--explain", action="store_true", help="print the candidate read's plan at each size")
    parser.add_argument("--recluster-n", type=int, default=0, help="articles reclustered (0: by mode)")
    parser.add_argument("--refine-n", type=int, default=20_000, help="articles in the refinement pass's window")
    parser.add_argument(
        "--no-stored-vectors",
        action="store_true",
        help="semantic backend: give the stored corpus no sentence vectors (as this bench did before)",
    )
    parser.add_argument(
        "--own-vector",
        action="store_true",
        help="semantic backend: each assignment reads its article's stored vector instead of being handed it",
    )
    parser.add_argument(
        "--per-article-reads",
        action="store_true",
        help="call each assignment alone (decisions, boilerplate and the feeds' bump per article), "
        "as this bench did before, instead of in enrichment's batches",
    )
    args = parser.parse_args()

    import django

    django.setup()
    _db_ensure()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    samples = args.samples or (150 if args.quick else 400)
    from newsdesk.coverage.semantic import semantic_enabled

    results: dict[int, tuple[float, float]] = {}
    for n in sizes:
        t0 = time.perf_counter()
        corpus_load(n, vectors=semantic_enabled() and not args.no_stored_vectors)
        load_s = time.perf_counter() - t0
        timings, cpu_ms, joined, split = assign_timings(
            n, samples, own_vector=args.own_vector, per_article_reads=args.per_article_reads
        )
        if args.explain:
            explain_next_read()
            assign_timings(n, 1, warmup=0)
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20)[-1]
        results[n] = (p50, p95)
        print(
            f"stored={n} load_s={load_s:.1f} p50_ms={p50:.2f} p95_ms={p95:.2f} cpu_ms={cpu_ms:.2f} joined={joined:.0%} "
            f"worker_cpu_ms={split[0]:.2f} backend_cpu_ms={split[1]:.2f}",
            flush=True,
        )
    recluster_n = args.recluster_n or (10_000 if args.quick else 100_000)
    rate, cpu = recluster_rate(recluster_n)
    print(f"recluster n={recluster_n} articles_per_s={rate:.0f} {cpu}", flush=True)
    refine_cpu, refine_text = refine_cost(args.refine_n)
    print(f"refine n={args.refine_n} {refine_text}", flush=True)

    small, big = sizes[0], sizes[-1]
    mid = 100_000 if 100_000 in results else big
    p50_mid, p95_mid = results[mid]
    p50_big, p95_big = results[big]
    growth = p50_big / results[small][0]
    ok = p50_mid <= 5 and p95_mid <= 2 * p50_mid and rate >= 1000 and refine_cpu <= 60
    line = (
        f"p50_ms@{mid // 1000}k={p50_mid:.2f} (target<=5) p95_ms@{mid // 1000}k={p95_mid:.2f} "
        f"(target<={2 * p50_mid:.2f}) "
    )
    if big >= 1_000_000:
        ok = ok and p50_big <= 10 and p95_big <= 2 * p50_big
        line += f"p50_ms@1M={p50_big:.2f} (target<=10) p95_ms@1M={p95_big:.2f} (target<={2 * p50_big:.2f}) "
    line += f"growth_{small // 1000}k_to_{big // 1000}k={growth:.2f}x recluster_per_s={rate:.0f} (target>=1000) "
    line += f"refine_cpu_s@{args.refine_n // 1000}k={refine_cpu:.1f} (target<=60)"
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
