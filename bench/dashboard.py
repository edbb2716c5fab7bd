"""Dashboard, search and feed latency at a million articles, on PostgreSQL behind gunicorn.

    .venv/bin/python bench/dashboard.py            # 1,000,000 articles
    .venv/bin/python bench/dashboard.py --quick    # 50,000 articles, under a minute

What it does:
1. Creates (or reuses) the database ``newsdesk_bench`` / ``newsdesk_bench_quick`` (or ``--db``) on the
   PostgreSQL at ``BENCH_PG`` (default postgres://postgres@127.0.0.1:5432), migrates it and
   generates articles (bench/_dashdata.py) with one ``INSERT ... SELECT generate_series`` per batch: text is drawn
   in SQL from word lists in eight languages, with skewed word frequencies, titles of 6-14
   words and summaries of 15-90 words; English text beside the original. The GIN index is
   rebuilt after the load. A database with the right row count is reused (``--regen`` forces).
2. Starts gunicorn (2 sync workers, one per core) on a free loopback port, DEBUG off.
   Sync workers close the connection after every response (production's
   ``config/gunicorn.py`` runs threaded workers with keep-alive); kept so that figures
   compare across sessions.
3. Loads it with a load generator on loopback (two client threads, one request at a time
   each) and reports p50/p95 of **server time**, from gunicorn's access log (``%(D)s``:
   request read to response sent, so the load generator's own CPU is not counted), with
   the client's round trip beside it, for: the dashboard first page; filter combinations
   with full-text search; RSS/Atom of filtered views (50 items, no validators); the same
   feeds revalidated (304); the live dashboard's poll when nothing changed (/live/); the read
   API's article lists (/api/v1/articles/, with tokens of a bench editor, each used for fewer
   requests than the shipped per-token limit). Then throughput with wrk (Debian ``wrk``) if installed, else
   with Python threads, counting errors.
4. Times the raw SQL of the same queries in the same run (Django builds it, psycopg runs
   it) and prints page time / SQL time.
The last line prints figures beside targets; the exit status is 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._dashdata import PYTHON, database_prepare, env_for  # noqa: E402, F401 (PYTHON: for bench/live.py)

GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
TARGETS = {
    "dashboard_p95_ms": 30.0, "search_p95_ms": 100.0, "feed_p95_ms": 20.0, "feed_304_p95_ms": 2.0,
    "live_nothing_new_p95_ms": 2.0, "api_list_p95_ms": 30.0,
}  # fmt: skip
# Requests per API token in a run: under the shipped per-token limit (600/min), so the
# bench measures the API as deployed instead of raising the limit.
API_REQUESTS_PER_TOKEN = 400

# The filter-with-search mix: every request carries full-text search.
SEARCH_QUERIES = [
    {"q": "lithium"},
    {"q": '"critical minerals"', "country": "MX"},
    {"q": "inflation -china", "lang": "es"},
    {"q": "government exports", "sort": "covered"},
    {"q": "drought", "status": "done", "coverage": "3"},
    {"q": "source:outlet-7 budget"},
    {"q": "élection", "country": "FR", "from": "DATE30"},
    {"q": "ceasefire missile"},
    {"q": "copper -strike", "category": "Economy", "sort": "covered"},
    {"q": "country:BR lang:pt energia"},
]
FEED_QUERIES = [
    {"country": "FR"},
    {"lang": "es", "category": "Economy"},
    {"country": "DE", "status": "done"},
    {"coverage": "3"},
    {"country": "US", "sort": "covered"},
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- HTTP load ------------------------------------------------------------------


class Server:
    def __init__(self, db: str, workers: int) -> None:
        self.port = free_port()
        log = open(ROOT / "var" / "bench-dashboard" / "gunicorn.log", "w")  # noqa: SIM115
        self.access_log = ROOT / "var" / "bench-dashboard" / "access.log"
        self.access_log.write_text("")
        self.proc = subprocess.Popen(
            [GUNICORN, "config.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", str(workers), "--threads", "1",
             "--worker-class", "sync", "--keep-alive", "30", "--log-level", "warning",
             # Server time: gunicorn's %(D)s is microseconds from reading the request to the last byte sent.
             "--access-logfile", str(self.access_log), "--access-logformat", "%(s)s %(D)s %(U)s?%(q)s"],
            cwd=ROOT, env=env_for(db), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit("gunicorn did not start; see var/bench-dashboard/gunicorn.log")

    def cpu_seconds(self) -> float:
        """User+system CPU of the gunicorn workers so far: app time, whatever else loads the machine."""
        total = 0.0
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return float("nan")
        for pid in children:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def log_offset(self) -> int:
        return self.access_log.stat().st_size

    def server_times(self, since: int, *, count: int, by_path: dict[str, list[float]] | None = None) -> list[float]:
        """Server time (ms) of the requests logged after byte ``since``; waits for ``count`` lines.

        With ``by_path``, also files each time under its request path.
        """
        deadline = time.monotonic() + 5
        while True:
            with self.access_log.open("rb") as f:
                f.seek(since)
                lines = f.read().decode().splitlines()
            if len(lines) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        times = []
        for line in lines:
            fields = line.split()
            if len(fields) == 3:
                times.append(int(fields[1]) / 1000)
                if by_path is not None:
                    by_path.setdefault(fields[2].removesuffix("?"), []).append(times[-1])
        return times

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def load_run(*, port: int, paths: list[str], requests: int, concurrency: int, headers: dict | None = None,
             expect: int = 200) -> tuple[list[float], int]:  # fmt: skip
    """Send ``requests`` GETs cycling through ``paths`` on ``concurrency`` keep-alive connections."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path = paths[i % len(paths)]
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers or {})
                response = conn.getresponse()
                response.read()
                ok = response.status == expect
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                times.append(elapsed)
                errors += 0 if ok else 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def throughput(*, port: int, seconds: int, paths: list[str]) -> tuple[float, int, str]:
    if shutil.which("wrk"):
        script = ROOT / "var" / "bench-dashboard" / "paths.lua"
        quoted = ", ".join('"' + p.replace('"', '\\"') + '"' for p in paths)
        script.write_text(
            f"local paths = {{{quoted}}}\nlocal i = 0\n"
            "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n"
        )
        out = subprocess.run(
            ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", str(script), f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        errors = 0
        for pattern in (r"Non-2xx or 3xx responses:\s+(\d+)", r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)"):
            m = re.search(pattern, out)
            if m:
                errors += sum(int(x) for x in m.groups())
        return rps, errors, "wrk -t2 -c8"
    start = time.perf_counter()
    times, errors = load_run(port=port, paths=paths, requests=400 * seconds, concurrency=8)
    return len(times) / (time.perf_counter() - start), errors, "python threads x8"


# --- raw SQL --------------------------------------------------------------------


def sql_times(*, db: str, queries: list[dict], feed: bool, repeats: int) -> list[float]:
    """Time the page query Django builds for each view, run directly through psycopg."""
    os.environ.update(env_for(db))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.http import QueryDict

    from newsdesk.web.feeds import FEED_ITEM_COLUMNS
    from newsdesk.web.filters import ArticleFilter

    times: list[float] = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            for params in queries:
                flt = ArticleFilter.from_query(QueryDict(urlencode(params)))
                if feed:
                    # What a feed without validators runs: its items, validators taken from them.
                    qs = flt.queryset().values_list(*FEED_ITEM_COLUMNS)[: settings.NEWSDESK_FEED_SIZE]
                else:
                    qs = flt.queryset()[: settings.NEWSDESK_PAGE_SIZE + 1]
                sql, sql_params = qs.query.sql_with_params()
                start = time.perf_counter()
                cursor.execute(sql, sql_params)
                cursor.fetchall()
                times.append((time.perf_counter() - start) * 1000)
    return times


def api_tokens(*, db: str, count: int) -> list[str]:
    """``count`` fresh read-API tokens of a bench editor (made in the bench's own database)."""
    os.environ.update(env_for(db))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from newsdesk.accounts.apitokens import api_token_create
    from newsdesk.accounts.roles import editors_group_ensure

    user, _ = get_user_model().objects.get_or_create(username="bench-api")
    user.groups.add(editors_group_ensure())
    user.api_tokens.all().delete()
    with_limit = {"NEWSDESK_MAX_API_TOKENS": count}
    from django.test import override_settings

    with override_settings(**with_limit):
        return [api_token_create(owner=user, name=f"bench {i}")[1] for i in range(count)]


# --- main -----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 articles, fewer requests (< 1 minute)")
    parser.add_argument("--articles", type=int, default=0)
    parser.add_argument("--regen", action="store_true", help="regenerate the data even if the count matches")
    parser.add_argument("--db", default="", help="database name (default newsdesk_bench[_quick]); kept for reuse")
    parser.add_argument("--prepare-only", action="store_true", help="create or check the data, measure nothing")
    args = parser.parse_args()
    articles = args.articles or (50_000 if args.quick else 1_000_000)
    db = args.db or ("newsdesk_bench_quick" if args.quick else "newsdesk_bench")
    requests = 150 if args.quick else 1500
    (ROOT / "var" / "bench-dashboard").mkdir(parents=True, exist_ok=True)
    database_prepare(db=db, articles=articles, regen=args.regen)
    if args.prepare_only:
        return 0

    date30 = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    search = [{k: (date30 if v == "DATE30" else v) for k, v in q.items()} for q in SEARCH_QUERIES]
    search_paths = ["/?" + urlencode(q) for q in search]
    feed_paths = [f"/feeds/{fmt}/?" + urlencode(q) for q in FEED_QUERIES for fmt in ("rss", "atom")]

    api_n = 150 if args.quick else 1500
    tokens = api_tokens(db=db, count=-(-api_n // API_REQUESTS_PER_TOKEN))
    server = Server(db, workers=2)
    try:
        port = server.port
        for paths in (["/"], search_paths, feed_paths):  # warm connections, caches and plans
            load_run(port=port, paths=paths, requests=len(paths) * 4, concurrency=2)
        cpu: dict[str, float] = {}
        server_ms: dict[str, list[float]] = {}
        by_path: dict[str, dict[str, list[float]]] = {}

        def measured(name: str, paths: list[str], headers: dict | None = None, expect: int = 200, n: int = 0):
            n = n or requests
            before, offset = server.cpu_seconds(), server.log_offset()
            result = load_run(port=port, paths=paths, requests=n, concurrency=2, headers=headers, expect=expect)
            cpu[name] = (server.cpu_seconds() - before) * 1000 / n
            server_ms[name] = server.server_times(offset, count=n, by_path=by_path.setdefault(name, {}))
            return result

        dash, dash_err = measured("dashboard", ["/"])
        srch, srch_err = measured("search", search_paths)
        feeds, feed_err = measured("feed", feed_paths)
        # 304: revalidate each feed with the ETag it just gave (one ETag per path, so
        # cycle the paths on their own connections).
        etags = {}
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for path in feed_paths:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            etags[path] = response.getheader("ETag")
        conn.close()
        not_modified: list[float] = []
        nm_err = 0
        per_path = max(2 * requests // len(feed_paths), 20)
        for path in feed_paths:
            times, errs = measured(
                f"304 {path}", [path], headers={"If-None-Match": etags[path]}, expect=304, n=per_path
            )  # fmt: skip
            not_modified += times
            nm_err += errs
        server_ms["feed_304"] = [t for path in feed_paths for t in server_ms.pop(f"304 {path}")]
        cpu["feed_304"] = statistics.mean(cpu.pop(f"304 {path}") for path in feed_paths)
        # The live dashboard's poll when nothing changed (nothing is ingested during this bench).
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", "/live/")
        state = json.loads(conn.getresponse().read())
        conn.close()
        live_path = f"/live/?after={state['after']}&v={state['version']}"
        live_times, live_err = measured("live", [live_path])
        # The read API's plain list (first page, 50 articles) and two filtered lists, one token per
        # API_REQUESTS_PER_TOKEN requests.
        api_paths = ["/api/v1/articles/", "/api/v1/articles/?country=MX", "/api/v1/articles/?lang=fr&sort=covered"]
        api_times: list[float] = []
        api_err = 0
        api_server: list[float] = []
        for token in tokens:
            times, errs = measured(
                "api", api_paths, headers={"Authorization": f"Bearer {token}"}, n=min(API_REQUESTS_PER_TOKEN, api_n)
            )  # fmt: skip
            api_times += times
            api_err += errs
            api_server += server_ms["api"]
        server_ms["api"] = api_server
        rps, tp_err, tool = throughput(port=port, seconds=3 if args.quick else 15, paths=["/", *search_paths[:3]])
    finally:
        server.stop()

    sql_dash = sql_times(db=db, queries=[{}], feed=False, repeats=requests // 10)
    sql_srch = sql_times(db=db, queries=search, feed=False, repeats=max(requests // 100, 3))
    sql_feed = sql_times(db=db, queries=FEED_QUERIES, feed=True, repeats=max(requests // 50, 3))

    def line(name: str, kind: str, client: list[float], sql: list[float] | None) -> None:
        page = server_ms[kind]
        text = (
            f"{name:<22} server p50={pct(page, 0.5):6.2f}ms p95={pct(page, 0.95):6.2f}ms  "
            f"client p50={pct(client, 0.5):6.2f}ms p95={pct(client, 0.95):6.2f}ms  "
        )
        if sql:
            ratio = statistics.median(page) / max(statistics.median(sql), 1e-6)
            text += f"sql p50={pct(sql, 0.5):6.2f}ms p95={pct(sql, 0.95):6.2f}ms  page/sql(median)={ratio:5.1f}  "
        print(text + f"app cpu/request={cpu[kind]:5.1f}ms")

    print(
        f"\narticles={articles:,}  requests per scenario={requests}  concurrency=2 (gunicorn -w 2)  "
        f"machine load average={os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
        "server = gunicorn access log %(D)s (request read to response sent); client = the load generator's "
        "round trip on loopback"
    )
    line("dashboard first page", "dashboard", dash, sql_dash)
    line("filters + search", "search", srch, sql_srch)
    line("rss/atom 50 items", "feed", feeds, sql_feed)
    line("feed 304", "feed_304", not_modified, None)
    line("live: nothing new", "live", live_times, None)
    line("api /articles/ list", "api", api_times, None)
    api_by_path = {p: t for p, t in by_path["api"].items()}
    print(
        "  api lists, server p50/p95 ms: "
        + "; ".join(f"{p}: {pct(t, 0.5):.1f}/{pct(t, 0.95):.1f}" for p, t in api_by_path.items())
    )
    per_poll = cpu["live"]
    print(
        f"  1,000 open dashboards polling every 30 s = 33 polls/s x {per_poll:.2f} ms app CPU = "
        f"{33.3 * per_poll / 10:.1f}% of one core (derived from this run, no ingest running)"
    )
    views: dict[str, list[float]] = {}
    for path, times in by_path["feed"].items():  # RSS and Atom of one view together
        views.setdefault(path.split("?", 1)[1], []).extend(times)
    print(
        "  feed views, server p50/p95 ms: "
        + "; ".join(f"{view}: {pct(t, 0.5):.1f}/{pct(t, 0.95):.1f}" for view, t in views.items())
    )
    print(f"throughput ({tool}, mixed dashboard/search): {rps:.0f} req/s, errors={tp_err}")
    errors = dash_err + srch_err + feed_err + nm_err + tp_err + live_err + api_err
    figures = {
        "dashboard_p95_ms": pct(server_ms["dashboard"], 0.95),
        "search_p95_ms": pct(server_ms["search"], 0.95),
        "feed_p95_ms": pct(server_ms["feed"], 0.95),
        "feed_304_p95_ms": pct(server_ms["feed_304"], 0.95),
        "live_nothing_new_p95_ms": pct(server_ms["live"], 0.95),
        "api_list_p95_ms": pct(server_ms["api"], 0.95),
    }
    ok = errors == 0 and all(figures[k] <= TARGETS[k] for k in TARGETS)
    print(
        "server time: "
        + " ".join(f"{k}={v:.1f} (target<={TARGETS[k]:g})" for k, v in figures.items())
        + f" throughput_rps={rps:.0f} errors={errors} (target=0) articles={articles}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
