"""File-drop benchmark: card files through claim -> parse -> store -> done/, in one process.

    .venv/bin/python bench/drops.py --quick      # under a minute (2,000 files)
    .venv/bin/python bench/drops.py              # 10,000 files
    .venv/bin/python bench/drops.py --database-url postgres://postgres@127.0.0.1:5432/bench_drops

What it does, self-contained:

* writes N distinct dashboard cards (about 1.5 KB each, like the seed card;
  40 outlets from 20 countries, so outlets are created and then reused)
  into a fresh inbox under its own var directory, dated an hour back so
  they are settled;
* runs the real ``drop_source_scan`` once in this process, which is what a
  worker's scan task runs: sweep, list, flock + rename claim, read, decode,
  parse, one transaction per file (DropFile ledger, article upsert,
  FetchAttempt), rename into done/YYYY-MM-DD/;
* times ``drop_parse`` alone on the same bytes, in the same run, to split
  the per-file cost into parsing and everything else.

Enrichment (language detection, translation) is not part of this path: the
scan only queues it, so no translator is called (the callback counts ids).
The database is a fresh SQLite file by default (the default install); with
``--database-url`` a PostgreSQL database of that name is created and dropped.

It reports ``files_per_s`` (wall clock, one process = one worker core;
target >= 500), ``cpu_files_per_s`` (the same over this process's CPU time,
less sensitive to a busy machine), ``parse_ms`` and ``overhead_ms`` per file.
The last line prints the figures beside the target; the exit status is
non-zero when the target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._services import database_drop, database_migrate, database_recreate  # noqa: E402
from newsdesk.testing.text import NEWS_WORDS  # noqa: E402

TARGET_FILES_PER_S = 500
WORDS = NEWS_WORDS
COUNTRIES = [
    ("🇲🇽", "Mexico"),
    ("🇪🇸", "Spain"),
    ("🇫🇷", "France"),
    ("🇩🇪", "Germany"),
    ("🇧🇷", "Brazil"),
    ("🇦🇷", "Argentina"),
    ("🇬🇧", "United Kingdom"),
    ("🇺🇸", "United States"),
    ("🇮🇹", "Italy"),
    ("🇯🇵", "Japan"),
    ("🇨🇱", "Chile"),
    ("🇨🇴", "Colombia"),
    ("🇵🇹", "Portugal"),
    ("🇳🇱", "Netherlands"),
    ("🇵🇱", "Poland"),
    ("🇹🇷", "Turkey"),
    ("🇮🇳", "India"),
    ("🇿🇦", "South Africa"),
    ("🇰🇷", "South Korea"),
    ("🇨🇦", "Canada"),
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def card_text(i: int) -> str:
    rng = random.Random(i)
    flag, country = COUNTRIES[i % len(COUNTRIES)]
    outlet = f"Bench Outlet {i % 40}"
    paragraphs = [" ".join(_sentence(rng, rng.randint(12, 20)) for _ in range(3)) for _ in range(4)]
    return (
        f"{rng.choice(MONTHS)} {rng.randint(1, 28)} • {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} UTC "
        f"{flag} {country} {outlet} (ES)\n\n"
        f"Story {i}: {_sentence(rng, 8)}\n\n" + "\n\n".join(paragraphs) + "\n\n📡 Similar Coverage\n"
    )


def _configure_env(args: argparse.Namespace, var: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # Production mode: DEBUG=true would record every SQL statement.
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "NEWSDESK_VAR_DIR": str(var),
            "NEWSDESK_DROP_ROOT": str(var / "drops"),
            "NEWSDESK_DROP_SETTLE_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    # Production settings refuse to fall back to development defaults, so the
    # bench names its database (and the Redis it does not use) explicitly.
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{var / 'newsdesk.sqlite3'}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")


def _write_cards(inbox: Path, count: int) -> list[bytes]:
    inbox.mkdir(parents=True, exist_ok=True)
    settled = time.time() - 3600
    blobs = []
    for i in range(count):
        data = card_text(i).encode("utf-8")
        path = inbox / f"card-{i:05d}.txt"
        path.write_bytes(data)
        os.utime(path, (settled, settled))
        blobs.append(data)
    return blobs


def measure_parse_ms(blobs: list[bytes], sample: int) -> float:
    from datetime import UTC, datetime

    from newsdesk.drops.formats import drop_parse

    mtime = datetime.now(UTC)
    chosen = blobs[:sample]
    started = time.perf_counter()
    for i, data in enumerate(chosen):
        drop_parse(data=data, name=f"card-{i}.txt", mtime=mtime)
    return (time.perf_counter() - started) * 1000 / len(chosen)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="finish in under a minute")
    parser.add_argument("--files", type=int, help="number of card files (default 2,000 quick, 10,000 full)")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    count = args.files or (2000 if args.quick else 10_000)

    var = ROOT / "var" / "bench-drops"
    shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True)
    _configure_env(args, var)
    if args.database_url:
        database_recreate(args.database_url)
    try:
        import django

        django.setup()
        database_migrate()
        from newsdesk.drops import scan as _scan

        drop_source_scan = _scan.drop_source_scan
        from newsdesk.models import Article, Source, SourceKind

        source = Source.objects.create(name="Bench inbox", kind=SourceKind.DROP, inbox="bench")
        t = time.monotonic()
        blobs = _write_cards(var / "drops" / "bench", count)
        print(f"wrote {count} card files in {time.monotonic() - t:.1f}s", flush=True)
        time.sleep(1.1)  # the rename-free writes above still need their ctime to settle

        queued: list[int] = []
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = drop_source_scan(source=source, on_article=queued.append)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

        stored = result.count("ok")
        articles = Article.objects.count()
        done = sum(1 for p in (var / "drops" / "bench" / "done").rglob("*.txt"))
        outlets = Source.objects.filter(parent=source).count()
        print(
            f"scan: files={len(result.files)} ok={stored} articles={articles} outlets={outlets} "
            f"done/={done} enrich_queued={len(queued)} wall={wall:.2f}s cpu={cpu:.2f}s",
            flush=True,
        )
        if not (stored == articles == done == len(queued) == count):
            print("not every file was stored exactly once", file=sys.stderr)
            return 2
        parse_ms = measure_parse_ms(blobs, sample=min(count, 2000))
    finally:
        if args.database_url:
            from django.db import connections

            connections.close_all()
            database_drop(args.database_url)

    files_per_s = count / wall
    cpu_files_per_s = count / cpu if cpu else float("inf")
    per_file_ms = wall * 1000 / count
    overhead_ms = per_file_ms - parse_ms
    database = "postgresql" if args.database_url else "sqlite"
    ok = files_per_s >= TARGET_FILES_PER_S
    print(
        f"db={database} files={count} files_per_s={files_per_s:.0f} (target>={TARGET_FILES_PER_S}) "
        f"cpu_files_per_s={cpu_files_per_s:.0f} per_file_ms={per_file_ms:.2f} parse_ms={parse_ms:.2f} "
        f"overhead_ms={overhead_ms:.2f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
