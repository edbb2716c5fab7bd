"""The WebSub publish sweep: cost per new article with many subscriptions over many views.

Usage:
    python bench/websub.py [--articles N] [--views V] [--subscriptions S]

Builds a private database (SQLite unless DATABASE_URL is set) with N articles
over 20 countries and 5 languages, V distinct filtered views and S verified
subscriptions spread over them (callbacks on a closed loopback port: nothing is
sent, the deliveries stay queued in the bench's private Redis), then times
``websub_publish``:

- with no change since the last sweep (target: no query at all);
- after one new article in one view (the cost per new article: one validator
  check per subscription, a push only for the view that changed).

The issue's scale (1M articles, 1,000 subscriptions over 100 views, p95 from
commit to delivery <= 5 s on 2 cores) needs a PostgreSQL database of that size;
the defaults here are smaller so a run takes a minute. The commit-to-delivery
time is the sweep's duration plus up to NEWSDESK_WEBSUB_PUBLISH_SECONDS of
waiting for beat's next tick, plus the delivery itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._services import database_migrate, private_services

COUNTRIES = ["MX", "FR", "DE", "BR", "ES", "IT", "JP", "CN", "IN", "GB", "US", "AR", "CL", "CO", "PE", "PT", "NL", "BE", "CA", "AU"]  # fmt: skip
LANGS = ["es", "fr", "de", "pt", "en"]
TARGET_IDLE_QUERIES = 0
TARGET_P95_SECONDS = 5.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20000)
    parser.add_argument("--views", type=int, default=100)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with private_services("bench-websub-"):
        os.environ["ALLOWED_HOSTS"] = "localhost"  # the subscriptions' topics name this host
        return run(args)


def run(args) -> int:
    import django

    django.setup()
    database_migrate()
    from datetime import UTC, datetime, timedelta

    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from newsdesk.models import (
        Article,
        Delivery,
        Destination,
        DestinationKind,
        Source,
        TranslationStatus,
        WebSubSubscription,
    )
    from newsdesk.websub.hub import websub_publish

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
    now = timezone.now()
    for s in range(args.subscriptions):
        topic = f"http://localhost/feeds/rss/?{views[s % len(views)]}"
        dest = Destination.objects.create(
            kind=DestinationKind.WEBHOOK, url=f"http://127.0.0.1:9/cb{s}", signature_header="X-Hub-Signature",
            secret="bench",  # noqa: S106 - a bench's signing key
        )  # fmt: skip
        WebSubSubscription.objects.create(
            topic=topic, callback=dest.url, destination=dest, verified_at=now, expires_at=now + timedelta(days=10),
            lease_seconds=864000,
        )  # fmt: skip
    # Subscriptions start at each feed's current ETag, as after verification.
    from newsdesk.websub.hub import feed_answer

    for sub in WebSubSubscription.objects.all():
        sub.last_etag = feed_answer(topic=sub.topic).etag
        sub.save(update_fields=["last_etag"])
    websub_publish(now=timezone.now())

    with CaptureQueriesContext(connection) as idle:
        start = time.perf_counter()
        websub_publish(now=timezone.now())
        idle_ms = (time.perf_counter() - start) * 1000
    times, pushes, queries = [], [], []
    for r in range(args.rounds):
        Article.objects.create(
            source=sources[0], dedupe_key=f"new{r}", url=f"https://x.example/new{r}", title_orig="New", title_en="New",
            language=sources[0].language, country=sources[0].country, translation_status=TranslationStatus.DONE,
            published_at=timezone.now(),
        )  # fmt: skip
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            pushed = websub_publish(now=timezone.now())
            times.append(time.perf_counter() - start)
        pushes.append(pushed)
        queries.append(len(ctx.captured_queries))
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    print(f"db={connection.vendor} articles={args.articles} views={args.views} subscriptions={args.subscriptions}")
    print(f"idle sweep: {idle_ms:.2f} ms, queries={len(idle.captured_queries)} (target {TARGET_IDLE_QUERIES})")
    print(
        f"sweep after one new article: median {statistics.median(times):.3f} s, p95 {p95:.3f} s, "
        f"queries median {statistics.median(queries):.0f}, pushes per new article {pushes} "
        f"(the one view it changed has {args.subscriptions // args.views} subscribers); "
        f"deliveries queued {Delivery.objects.count()}"
    )
    from django.conf import settings

    wait = settings.NEWSDESK_WEBSUB_PUBLISH_SECONDS
    print(
        f"commit to push queued, worst case: beat period {wait:.0f} s + sweep p95 {p95:.3f} s = {wait + p95:.2f} s "
        f"(target p95 commit-to-delivery <= {TARGET_P95_SECONDS:.0f} s)"
    )
    return 0 if len(idle.captured_queries) <= TARGET_IDLE_QUERIES else 1


if __name__ == "__main__":
    raise SystemExit(main())
