"""Load: the dashboard and RSS under request load while workers ingest at full speed.

    .venv/bin/python bench/load.py --quick      # 15 s per phase
    .venv/bin/python bench/load.py --seconds 60 --feeds 1000 --items 10

On its own PostgreSQL and Redis (bench/_faultlib.py), with gunicorn serving
config/gunicorn.py, it measures a load generator (keep-alive HTTP clients in
threads, cycling dashboard and RSS URLs with filters) twice:

1. unloaded: no worker running;
2. loaded: 1,000 loopback feeds all due at once, Celery workers and beat
   polling, storing, detecting and translating as fast as they can.

The last line prints requests per second, p95 latency and errors for both
phases and the loaded/unloaded p95 ratio beside the targets (0 errors, ratio
at most 2). Exit status is non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._faultlib import ROOT, FeedFarm, PgCluster, Proc, RedisServer, Stack, free_port, tempdir, wait_until

URLS = [
    "/",
    "/?country=MX",
    "/?language=es",
    "/feeds/rss/",
    "/feeds/rss/?country=MX",
    "/?before=",
]


def drive(port: int, seconds: float, clients: int) -> dict[str, float]:
    """Hammer the site from ``clients`` threads for ``seconds``; return figures."""
    latencies: list[float] = []
    errors = 0
    retried = 0
    kinds: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        nonlocal errors, retried
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        used = 0  # requests served on this connection
        i = offset
        mine: list[float] = []
        bad = 0
        again = 0
        why: dict[str, int] = {}
        while time.monotonic() < stop:
            url = URLS[i % len(URLS)]
            i += 1
            t0 = time.perf_counter()
            for attempt in (1, 2):
                try:
                    conn.request("GET", url, headers={"Host": "127.0.0.1"})
                    response = conn.getresponse()
                    response.read()
                    used += 1
                    if response.status != 200:
                        bad += 1
                        why[f"HTTP {response.status}"] = why.get(f"HTTP {response.status}", 0) + 1
                    break
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    # A keep-alive connection the server closed between requests (a
                    # gunicorn worker recycled after max_requests): browsers and
                    # proxies resend an idempotent GET once on a new connection.
                    stale = used > 0 and isinstance(
                        exc, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError
                    )
                    used = 0
                    if attempt == 1 and stale:
                        again += 1
                        continue
                    bad += 1
                    why[type(exc).__name__] = why.get(type(exc).__name__, 0) + 1
                    break
            else:  # pragma: no cover - the loop always breaks
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += bad
            retried += again
            for k, v in why.items():
                kinds[k] = kinds.get(k, 0) + v

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else float("inf")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": (statistics.median(latencies) if latencies else 0) * 1000,
        "p95_ms": p95 * 1000,
        "errors": errors,
        "error_kinds": kinds,
        "retried_stale_keepalive": retried,
    }


def seed_articles(count: int) -> None:
    """Articles already on the desk, so the pages have something to render."""
    from newsdesk.models import Article, Source

    source = Source.objects.create(name="Archivo", url="http://127.0.0.1:9/archive.xml", country="MX", language="es")
    now = datetime.now(tz=UTC)
    Article.objects.bulk_create(
        [
            Article(
                source=source,
                dedupe_key=f"seed-{i}",
                url=f"http://127.0.0.1/seed/{i}",
                title_orig=f"Titular de archivo {i}",
                title_en=f"Archive headline {i}",
                summary_orig="Resumen.",
                summary_en="Summary.",
                language="es",
                country="MX",
                translation_status="done",
                published_at=now - timedelta(minutes=i),
                enriched_at=now,
            )
            for i in range(count)
        ],
        batch_size=1000,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 s per phase, 2 items per feed")
    parser.add_argument("--seconds", type=float, default=45.0, help="per phase")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5000, help="articles present before the run")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.items = 15.0, 2
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempdir("newsdesk-load-") as base:
        pg = PgCluster(base)
        redis = RedisServer(base, appendonly=False)
        stack: Stack | None = None
        try:
            pg.start()
            pg.createdb("load")
            redis.start()
            from tests.support.translator import FakeTranslator

            translator = FakeTranslator().__enter__()
            web_port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": pg.url("load"),
                "REDIS_URL": redis.url(),
                "DEBUG": "false",
                "SECRET_KEY": "load-bench-" + "x" * 40,
                "ALLOWED_HOSTS": "127.0.0.1",
                "SECURE_SSL_REDIRECT": "false",
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "NEWSDESK_VAR_DIR": str(base),
                "NEWSDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
                "NEWSDESK_TRANSLATORS": "google",
                "NEWSDESK_GOOGLE_TRANSLATE_URL": translator.url("/m"),
                "NEWSDESK_LANGUAGES": "en,es,fr,de",
                "NEWSDESK_DISPATCH_SECONDS": "2",
                "GUNICORN_BIND": f"127.0.0.1:{web_port}",
                "GUNICORN_WORKERS": "2",
                "GUNICORN_THREADS": "4",
                "PYTHONPATH": str(ROOT),
            }
            os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0, interactive=False)
            seed_articles(args.seed)
            stack = Stack(env=env, logdir=base)
            web = Proc(
                "web",
                [sys.executable, "-m", "gunicorn", "config.wsgi", "--config", "config/gunicorn.py"],
                env,
                base / "web.log",
            )
            stack.procs.append(web)

            def up() -> bool:
                conn = http.client.HTTPConnection("127.0.0.1", web_port, timeout=5)
                conn.request("GET", "/", headers={"Host": "127.0.0.1"})
                return conn.getresponse().status == 200

            if not wait_until(up, timeout=60):
                print((base / "web.log").read_text()[-3000:])
                raise RuntimeError("gunicorn did not come up")
            drive(web_port, 3, args.clients)  # warm caches and connections
            unloaded = drive(web_port, args.seconds, args.clients)
            print(f"unloaded: {unloaded}", flush=True)

            farm = FeedFarm(feeds=args.feeds, items=args.items)
            httpd = farm.serve()
            from newsdesk.models import Article, Source

            port = httpd.server_address[1]
            Source.objects.bulk_create(
                [
                    Source(name=f"Medio {n}", url=f"http://127.0.0.1:{port}/f/{n}.xml", country="MX", language="es")
                    for n in range(args.feeds)
                ],
                batch_size=1000,
            )
            before = Article.objects.count()
            stack.worker(concurrency=2)
            stack.beat()
            wait_until(lambda: Article.objects.count() > before, timeout=60)
            loaded = drive(web_port, args.seconds, args.clients)
            ingested = Article.objects.count() - before
            print(f"loaded: {loaded} articles_ingested_during_run={ingested}", flush=True)
            httpd.shutdown()
            translator.__exit__(None, None, None)
        finally:
            if stack:
                stack.stop_all()
            redis.stop()
            pg.stop("immediate")
    ratio = loaded["p95_ms"] / max(unloaded["p95_ms"], 0.001)
    errors = unloaded["errors"] + loaded["errors"]
    print(
        f"unloaded_rps={unloaded['rps']:.0f} unloaded_p95_ms={unloaded['p95_ms']:.0f} "
        f"loaded_rps={loaded['rps']:.0f} loaded_p95_ms={loaded['p95_ms']:.0f} "
        f"articles_ingested={ingested} errors={errors} (target=0) p95_ratio={ratio:.2f} (target<=2)"
    )
    return 0 if errors == 0 and ratio <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
