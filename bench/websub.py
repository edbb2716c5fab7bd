"""The WebSub publish sweep: cost per new article with many subscriptions over many views,
and the time from a new article's commit to its push reaching the subscribers.

Usage:
    python bench/websub.py [--articles N] [--views V] [--subscriptions S]
    python bench/websub.py --db h21_bench [--deliveries R]     # PostgreSQL, the 1M-article copy

Without ``--db`` it builds a private SQLite database with N articles over 20
countries and 5 languages. With ``--db NAME`` it uses that PostgreSQL database
as it is (a copy of bench/dashboard.py's 1M articles: ``createdb -T newsdesk_bench
NAME``), migrated, with its earlier bench subscriptions replaced. Either way V
distinct filtered views get S verified subscriptions spread over them, then:

1. In this process, ``websub_publish`` is timed with no change since the last
   sweep (target: no query) and after one new article in one view (the cost
   per new article: one validator check per distinct view, a push queued for
   each subscriber of a view that changed).
2. With ``--deliveries R`` (20 with ``--db``), a real Celery worker (shipped
   settings, all queues, 2 processes) and loopback subscribers: R new articles,
   each committed by this process a few seconds apart; the sweep runs as shipped
   (queued at the commit; ``--tick`` instead leaves it to a 2 s timer like
   beat's), the worker POSTs every push, and each subscriber's receipt is
   timed from the commit. Printed: p50/p95/max against the 5 s target, and the
   worker's CPU seconds per new article.

Deliveries go to loopback callbacks, so the SSRF guard is told to let
127.0.0.0/8 through (``NEWSDESK_FETCH_ALLOWED_NETWORKS``), as tests do.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._services import database_migrate, private_services

COUNTRIES = ["MX", "FR", "DE", "BR", "ES", "IT", "JP", "CN", "IN", "GB", "US", "AR", "CL", "CO", "PE", "PT", "NL", "BE", "CA", "AU"]  # fmt: skip
LANGS = ["es", "fr", "de", "pt", "en"]
CATEGORIES = ["Politics", "Economy", "World", "Sports", "Technology", "Culture", "Health"]
TARGET_IDLE_QUERIES = 0
TARGET_P95_SECONDS = 5.0
PG = "postgres://postgres@127.0.0.1:5432/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20000, help="SQLite mode: articles to generate")
    parser.add_argument("--db", default="", help="a PostgreSQL database of ours to use as it is (1M-article copy)")
    parser.add_argument("--views", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--deliveries", type=int, default=None, help="rounds with a real worker (20 with --db)")
    parser.add_argument("--tick", action="store_true", help="no on-commit sweep: a 2 s timer, as beat alone")
    args = parser.parse_args()
    if args.deliveries is None:
        args.deliveries = 20 if args.db else 0
    if args.db:
        os.environ["DATABASE_URL"] = PG + args.db
    os.environ["ALLOWED_HOSTS"] = "localhost"  # the subscriptions' topics name this host
    os.environ["NEWSDESK_FETCH_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the loopback subscribers
    if args.tick:
        os.environ["NEWSDESK_WEBSUB_PUBLISH_ON_COMMIT"] = "false"
    with private_services("bench-websub-") as workdir:
        return run(args, workdir)


def _load(args) -> tuple[list, list[str]]:
    """(sources, view query strings): generated for SQLite, read from the 1M database for PostgreSQL."""
    from datetime import UTC, datetime, timedelta

    from newsdesk.models import Article, Source, TranslationStatus

    if args.db:
        sources = list(Source.objects.filter(kind="feed").exclude(country="").order_by("id"))
        pairs = sorted({(s.country, s.language) for s in sources})
        views = [f"country={c}" for c, _ in pairs]
        views += [f"country={c}&category={k}" for c, _ in pairs for k in CATEGORIES]
        views += [f"lang={lang}&category={k}" for lang in sorted({lang for _, lang in pairs}) for k in CATEGORIES]
        return sources, views[: args.views]
    base = datetime(2026, 12, 1, tzinfo=UTC)
    sources = [
        Source.objects.create(
            name=f"Outlet {c}", url=f"https://{c.lower()}.example/feed", country=c, language=LANGS[n % 5]
        )
        for n, c in enumerate(COUNTRIES)
    ]
    batch = []
    for i in range(args.articles):
        src = sources[i % len(sources)]
        batch.append(Article(
            source=src, dedupe_key=f"k{i}", url=f"https://x.example/{i}", title_orig=f"Title {i}", title_en=f"Title {i}",
            language=src.language, country=src.country, translation_status=TranslationStatus.DONE,
            published_at=base + timedelta(seconds=i), fetched_at=base,
        ))  # fmt: skip
        if len(batch) == 5000:
            Article.objects.bulk_create(batch)
            batch = []
    Article.objects.bulk_create(batch)
    views = []
    for v in range(args.views):
        country, lang = COUNTRIES[v % len(COUNTRIES)], LANGS[(v // len(COUNTRIES)) % len(LANGS)]
        views.append(f"country={country}&lang={lang}" if v >= len(COUNTRIES) else f"country={country}")
    return sources, views


def _subscribe(views: list[str], count: int, callback_base: str) -> dict[int, str]:
    """``count`` verified subscriptions over ``views`` (round robin), at each feed's current ETag.

    Returns {n: view}; subscription n's callback is ``/cb<n>``."""
    from datetime import timedelta

    from django.utils import timezone

    from newsdesk.models import Delivery, Destination, DestinationKind, WebSubSubscription
    from newsdesk.websub.hub import feed_answer

    Delivery.objects.filter(destination__websub_subscription__isnull=False).delete()
    Destination.objects.filter(websub_subscription__isnull=False).delete()  # an earlier run's
    now, etags, subs = timezone.now(), {}, {}
    for s in range(count):
        view = views[s % len(views)]
        topic = f"http://localhost/feeds/rss/?{view}"
        if topic not in etags:
            etags[topic] = feed_answer(topic=topic).etag
        dest = Destination.objects.create(
            kind=DestinationKind.WEBHOOK, url=f"{callback_base}/cb{s}", signature_header="X-Hub-Signature",
            secret="bench",  # noqa: S106 - a bench's signing key
        )  # fmt: skip
        WebSubSubscription.objects.create(
            topic=topic, callback=dest.url, destination=dest, verified_at=now, expires_at=now + timedelta(days=10),
            lease_seconds=864000, last_etag=etags[topic],
        )  # fmt: skip
        subs[s] = view
    return subs


def _source_for(sources: list, view: str):
    want = dict(parse_qsl(view))
    match = (
        s for s in sources if want.get("country", s.country) == s.country and want.get("lang", s.language) == s.language
    )
    return next(match, None)


def _article(sources: list, view: str, marker: str):
    """A new finished article that ``view`` shows (the newest of its feed)."""
    from django.utils import timezone

    from newsdesk.models import Article, TranslationStatus

    source = _source_for(sources, view)
    lang = source.language
    return Article.objects.create(
        source=source, dedupe_key=marker, url=f"https://x.example/{marker}", title_orig=marker, title_en=marker,
        language=lang, language_declared=lang, language_detected=lang, country=source.country,
        category=dict(parse_qsl(view)).get("category", ""), translation_status=TranslationStatus.DONE,
        published_at=timezone.now(),
    )  # fmt: skip


def _shows(view: str, article) -> bool:
    have = {"country": article.country, "lang": article.language, "category": article.category}
    return all(have[key] == value for key, value in parse_qsl(view))


def sweep_cost(args, sources, views) -> tuple[float, int, list[float], list[int], list[int]]:
    """Phase 1, in this process: (idle ms, idle queries, sweep seconds, queries, pushes) per new article."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from newsdesk.websub.hub import websub_publish

    websub_publish(now=timezone.now())
    with CaptureQueriesContext(connection) as idle:
        start = time.perf_counter()
        websub_publish(now=timezone.now())
        idle_ms = (time.perf_counter() - start) * 1000
    times, pushes, queries = [], [], []
    for r in range(args.rounds):
        _article(sources, views[r % len(views)], f"bench-sweep-{r}-{time.time_ns()}")
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            pushes.append(websub_publish(now=timezone.now()))
            times.append(time.perf_counter() - start)
        queries.append(len(ctx.captured_queries))
    return idle_ms, len(idle.captured_queries), times, queries, pushes


class Subscribers:
    """Loopback callbacks: each POST's receipt time, by the bench article markers its body carries."""

    def __init__(self) -> None:
        self.received: dict[str, dict[str, float]] = {}  # marker -> {callback path: time}
        self.markers: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                for marker in list(outer.markers):
                    if marker.encode() in body:
                        outer.received.setdefault(marker, {}).setdefault(self.path, at)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children now (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _task_times(log: Path) -> str:
    """Median and p95 run time of each task the worker logged (``event=task_end ... ms=N``)."""
    times: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if "event=task_end" in line and " ms=" in line:
            name = line.split("task_name=", 1)[1].split()[0].rsplit(".", 1)[-1]
            times.setdefault(name, []).append(float(line.rsplit(" ms=", 1)[1].split()[0]))
    return ", ".join(
        f"{name} x{len(ms)} median {statistics.median(ms):.0f} ms p95 {_p(ms, 0.95):.0f} ms"
        for name, ms in sorted(times.items())
    )


def deliveries(args, sources, subs: dict[int, str], callbacks: Subscribers, workdir: Path) -> tuple[list, float, int]:
    """Phase 2: (commit-to-receipt seconds, worker CPU seconds per new article, pushes missing)."""
    from config.celery import app
    from newsdesk.models import Delivery
    from newsdesk.tasks import websub_publish
    from newsdesk.testing.workers import celery_worker_command

    app.control.purge()
    Delivery.objects.filter(destination__websub_subscription__isnull=False).delete()  # phase 1's, never sent
    log = (workdir / "worker.log").open("wb")
    worker = subprocess.Popen(
        celery_worker_command(name="bench-websub@%h", concurrency=2), env=dict(os.environ),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    stop = threading.Event()
    try:
        deadline = time.monotonic() + 300
        while b"ready." not in (workdir / "worker.log").read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start: see {workdir / 'worker.log'}")
            time.sleep(0.5)
        if args.tick:  # beat's websub-publish entry alone

            def tick() -> None:
                while not stop.wait(2.0):
                    websub_publish.delay()

            threading.Thread(target=tick, daemon=True).start()
        time.sleep(3)
        cpu_before = _cpu_seconds(worker.pid)
        views = [v for v in sorted(set(subs.values())) if _source_for(sources, v) is not None]
        rng = random.Random(21)
        latencies, missing = [], 0
        for r in range(args.deliveries):
            view = rng.choice([v for v in views if "category" in v] or views)
            marker = f"bench-push-{r}-{time.time_ns()}"
            callbacks.markers.append(marker)
            article = _article(sources, view, marker)
            committed = time.time()
            expect = {f"/cb{n}" for n, v in subs.items() if _shows(v, article)}
            until = time.monotonic() + 30
            while len(callbacks.received.get(marker, {})) < len(expect) and time.monotonic() < until:
                time.sleep(0.05)
            got = callbacks.received.get(marker, {})
            latencies += [got[path] - committed for path in expect if path in got]
            missing += len(expect - set(got))
            time.sleep(rng.uniform(1.0, 3.0))
        cpu = (_cpu_seconds(worker.pid) - cpu_before) / max(args.deliveries, 1)
    finally:
        stop.set()
        os.killpg(worker.pid, 15)
        worker.wait(timeout=60)
        print(f"worker tasks: {_task_times(workdir / 'worker.log')}")
    return latencies, cpu, missing


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * q + 0.999999) - 1))] if ordered else float("nan")


def run(args, workdir: Path) -> int:
    import django

    django.setup()
    database_migrate()
    from django.conf import settings
    from django.db import connection

    from newsdesk.models import Article

    sources, views = _load(args)
    callbacks = Subscribers()
    subs = _subscribe(views, args.subscriptions, callbacks.base)
    idle_ms, idle_queries, times, queries, pushes = sweep_cost(args, sources, views)
    print(
        f"db={connection.vendor} articles={Article.objects.count()} views={len(set(subs.values()))} "
        f"subscriptions={len(subs)} load={os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(f"idle sweep: {idle_ms:.2f} ms, queries={idle_queries} (target {TARGET_IDLE_QUERIES})")
    print(
        f"sweep after one new article: median {statistics.median(times):.3f} s, p95 {_p(times, 0.95):.3f} s, "
        f"queries median {statistics.median(queries):.0f}, pushes queued per new article {pushes}",
        flush=True,
    )
    summary = f"sweep per new article {statistics.median(times):.3f} s"
    ok = idle_queries <= TARGET_IDLE_QUERIES
    if args.deliveries:
        latencies, cpu, missing = deliveries(args, sources, subs, callbacks, workdir)
        how = (
            f"{settings.NEWSDESK_WEBSUB_PUBLISH_SECONDS:g} s timer only" if args.tick else "sweep queued at the commit"
        )
        print(
            f"commit to receipt ({how}; real worker, {len(latencies)} POSTs received, {missing} missing): "
            f"p50 {_p(latencies, 0.5):.2f} s, p95 {_p(latencies, 0.95):.2f} s, max {max(latencies, default=0):.2f} s; "
            f"worker CPU per new article {cpu:.2f} s"
        )
        summary += f", worker CPU {cpu:.2f} s; commit-to-delivery p95 {_p(latencies, 0.95):.2f} s"
        ok = ok and missing == 0 and _p(latencies, 0.95) <= TARGET_P95_SECONDS
    print(
        f"RESULT idle queries {idle_queries} (target {TARGET_IDLE_QUERIES}); {summary} "
        f"(target p95 <= {TARGET_P95_SECONDS:g} s); load {os.getloadavg()[0]:.1f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
