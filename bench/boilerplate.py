"""What the boilerplate rule costs enrichment on PostgreSQL, per batch of 20 articles.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/boilerplate_bench .venv/bin/python bench/boilerplate.py [--rows 300000]

The table of (lead sentence, title) rows is filled first with ``--rows``
generated rows (about three an article: 300,000 is a desk of 100k articles),
among them a few boilerplate sentences under many titles. Then batches of 20
new articles, each with a three-sentence lead (one in five carrying a known
tagline), go through :func:`~newsdesk.coverage.dbboilerplate.articles_boilerplate`
as enrichment runs it: one read and one write per batch. The assignment is
not timed here: it reads nothing of the rule (enrichment hands it each
article's boilerplate sentences). Figures: wall and CPU (this process plus
its PostgreSQL backend) per article, beside the whole path's CPU budget per
article (25 ms, issue #12), of which this should be a small part.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/boilerplate_bench")

from bench.coverage import _backend_cpu_s, _db_ensure  # the same database rules

BUDGET_MS = 25.0  # the whole path's CPU per article (issue #12)
BATCH = 20
TAGLINE = "Read the latest local news, weather and sports from across the county on our website every day."


def _fill(rows: int) -> None:
    from django.db import connection

    from newsdesk.models import CoverageBoilerplate

    table = CoverageBoilerplate._meta.db_table
    with connection.cursor() as c:
        c.execute(f"TRUNCATE {table} RESTART IDENTITY")
        # Distinct sentences under one title each, and every 1,000th sentence under 5 titles.
        c.execute(
            f"INSERT INTO {table} (segment, title, words) "  # noqa: S608 (the model's own table)
            "SELECT substr(md5('s' || (i / CASE WHEN i %% 1000 < 5 THEN 5 ELSE 1 END)::text), 1, 16), "
            "substr(md5('t' || i::text), 1, 16), 'w' || (i %% 997)::text || ' x' || (i %% 991)::text "
            "FROM generate_series(1, %s) AS i ON CONFLICT DO NOTHING",
            [rows],
        )
        c.execute(f"ANALYZE {table}")


NOUNS = [
    "council",
    "bridge",
    "harbor",
    "school",
    "market",
    "river",
    "stadium",
    "museum",
    "library",
    "hospital",
    "airport",
    "station",
    "farmers",
    "bakery",
    "festival",
    "concert",
    "theater",
    "college",
    "orchestra",
    "garden",
    "railway",
    "tunnel",
    "highway",
    "ferry",
    "clinic",
    "factory",
    "brewery",
    "island",
    "village",
    "county",
    "mayor",
    "sheriff",
    "budget",
    "election",
    "drought",
    "wildfire",
    "flood",
    "storm",
    "snowfall",
]


def _title(k: int) -> str:
    """Three nouns picked by k: two titles rarely share two of them (unrelated titles)."""
    n = len(NOUNS)
    return " ".join(NOUNS[(k * step + off) % n] for step, off in ((1, 0), (7, 3), (17, 11))).capitalize()


def _batch(n: int) -> list:
    """Twenty articles: a sentence of their own, a template sentence (other figures, one of 40 keys), and a
    tagline for one in five or a second sentence of their own."""
    from newsdesk.models import Article

    out = []
    for j in range(BATCH):
        k = n * BATCH + j
        own = " ".join(NOUNS[(k * p) % len(NOUNS)] for p in (1, 3, 5, 11, 13, 19, 23))
        lead = f"Officials said the {own} plan would start soon. "
        lead += f"Works on the {NOUNS[k % len(NOUNS)]} road number {k % 97} start on Monday at {k % 12}. "
        lead += TAGLINE if j % 5 == 0 else f"Residents asked about the {own} {NOUNS[k % len(NOUNS)]} again."
        out.append(Article(id=10**9 + k, title_orig=_title(k), summary_orig=lead))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    _db_ensure()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from newsdesk.coverage.dbboilerplate import articles_boilerplate

    _fill(args.rows)
    batches = [_batch(n) for n in range(args.batches)]
    for warm in batches[:5]:
        articles_boilerplate(warm)
    walls, dropped = [], 0
    cpu0, own0 = _backend_cpu_s(), time.process_time()
    for batch in batches[5:]:
        started = time.perf_counter()
        found = articles_boilerplate(batch)
        walls.append((time.perf_counter() - started) * 1000 / BATCH)
        dropped += sum(1 for v in found.values() if v)
    per_article_cpu = (time.process_time() - own0 + _backend_cpu_s() - cpu0) * 1000 / (len(walls) * BATCH)
    p50, p95 = statistics.median(walls), statistics.quantiles(walls, n=20)[-1]
    print(f"rows={args.rows} batches={len(walls)} articles_with_boilerplate={dropped}/{len(walls) * BATCH}")
    print(
        f"wall_ms_per_article p50={p50:.3f} p95={p95:.3f} cpu_ms_per_article={per_article_cpu:.3f} "
        f"(whole-path budget {BUDGET_MS:.0f} ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
