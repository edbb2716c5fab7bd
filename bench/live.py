"""The live dashboard at a million articles: 1,000 open dashboards polling ``/live/`` during a steady ingest.

    BENCH_REDIS=redis://127.0.0.1:6379/5 .venv/bin/python bench/live.py --db newsdesk_bench
    .venv/bin/python bench/live.py --db newsdesk_bench_quick --dashboards 200 --seconds 60   # a short look

It needs a database that ``bench/dashboard.py`` prepared (``--db``; its data, reused as it is:
the articles this bench stores are deleted at the end). gunicorn runs as in bench/dashboard.py
(2 sync workers, DEBUG off, server time from the access log's ``%(D)s``).

1. **Quiet** (nothing stored meanwhile), on one public desk, the same minute: a live poll that
   finds nothing new, a feed's 304 and the dashboard page, for ratios measured together; then on
   a private desk (``NEWSDESK_DASHBOARD_PUBLIC=false``, an editor signed in through the login
   form): the same poll answered from the session's pass (newsdesk/accounts/livepass.py), and
   with the pass voided before every poll, which is what every poll cost before it: the session,
   the user and its permissions through the whole middleware stack.
2. **Ingest**: a child process stores ``--rate`` new articles a second through the store
   service (``articles_upsert``, one poll's batch of one item, to an outlet drawn at random),
   and a second later writes each one's translation as enrichment does (a second bump of the
   "articles changed" version). Meanwhile ``--dashboards`` dashboards are opened at random
   moments of one poll interval, each with filters drawn from a mix of 24 (a third unfiltered),
   and poll exactly as static/newsdesk/live.js does: every ``NEWSDESK_LIVE_POLL_SECONDS`` (the
   shipped 30 s) after the previous answer, with the newest id the page knew (``after``, which
   only the "show" button moves) and the version last answered (``v``). After the opening
   interval, ``--seconds`` of polling are measured: the web tier's CPU per second of wall time
   (the gunicorn workers and their PostgreSQL backends, from /proc), the polls' server time,
   how many found something new, and errors.

The last line prints the figures beside the targets; exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dashboard import PYTHON, ROOT, Server, env_for, load_run, pct

TARGETS = {"live_nothing_new_p95_ms": 2.0, "private_pass_p95_ms": 2.0}
POLL_HEADERS = {"Accept": "application/json", "X-Newsdesk-Partial": "live"}  # what live.js sends
INGEST_PREFIX = "bench-live-"
# What open dashboards filter by: a third unfiltered, the rest the filters editors save.
FILTER_MIX = [{}] * 12 + [
    {"country": c} for c in ("MX", "FR", "DE", "US", "BR", "ES", "GB")
] + [
    {"lang": "es"}, {"lang": "fr"}, {"lang": "en"}, {"country": "MX", "lang": "es"}, {"coverage": "3"},
    {"category": "Economy"}, {"status": "done"}, {"sort": "covered"}, {"q": "lithium"}, {"country": "AR"},
    {"q": "inflation", "country": "ES"}, {"lang": "de", "category": "Politics"}, {"coverage": "5", "country": "US"},
    {"country": "IT"}, {"lang": "pt"},
]  # fmt: skip


def django_setup(db: str) -> None:
    os.environ.update(env_for(db))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


# --- the ingest child ---------------------------------------------------------------


def ingest_child(*, db: str, rate: float, seconds: float, run: str) -> None:
    """Store ``rate`` items a second through the store service; translate each a second later."""
    django_setup(db)
    from django.db import connection
    from django.utils import timezone

    from newsdesk.ingest.parse import ParsedItem
    from newsdesk.ingest.store import articles_upsert
    from newsdesk.models import Article, Source

    sources = list(Source.objects.filter(enabled=True).order_by("id"))
    rng = random.Random(run)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        print(f"pg_pid={cursor.fetchone()[0]}", flush=True)
    start, stored, translated, waiting = time.monotonic(), 0, 0, []
    words = [
        "minister",
        "talks",
        "lithium",
        "inflation",
        "exports",
        "election",
        "court",
        "summit",
        "budget",
        "drought",
        "storm",
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while time.monotonic() - start < seconds and not stop.is_set():
        due = start + stored / rate
        time.sleep(max(0.0, due - time.monotonic()))
        source = rng.choice(sources)
        title = " ".join(rng.choices(words, k=8)).capitalize()
        item = ParsedItem(
            dedupe_key=f"{INGEST_PREFIX}{run}-{stored}", title=title, summary=" ".join(rng.choices(words, k=30)),
            url=f"https://outlet{source.id}.example/live/{run}/{stored}", published_at=timezone.now(),
        )  # fmt: skip
        counts = articles_upsert(source=source, items=[item])
        stored += 1
        waiting += [(time.monotonic() + 1.0, i) for i in counts.to_enrich]
        while waiting and waiting[0][0] <= time.monotonic():
            _, article_id = waiting.pop(0)
            Article.objects.filter(id=article_id).update(title_en=title, translation_status="done")
            translated += 1
    print(f"stored={stored} translated={translated} seconds={time.monotonic() - start:.1f}", flush=True)


def ingested_delete(db: str) -> int:
    from newsdesk.models import Article

    deleted, _ = Article.objects.filter(dedupe_key__startswith=INGEST_PREFIX).delete()
    return deleted


# --- measuring ----------------------------------------------------------------------


def proc_cpu(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def pg_backends(db: str, exclude: set[int]) -> list[int]:
    """PostgreSQL backends connected to ``db`` (the web workers'), but the ingest's and our own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = %s",
            [db, "client backend"],
        )
        return [pid for (pid,) in cursor.fetchall() if pid not in exclude]


def measure(server: Server, name: str, results: dict, paths: list[str], n: int, headers: dict | None = None,
            expect: int = 200, before=None) -> None:  # fmt: skip
    """``n`` requests on two connections; server p50/p95 and the workers' CPU per request into ``results``."""
    cpu0, offset = server.cpu_seconds(), server.log_offset()
    if before is None:
        _, errors = load_run(port=server.port, paths=paths, requests=n, concurrency=2, headers=headers, expect=expect)
    else:
        errors = 0
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for i in range(n):
            before()
            conn.request("GET", paths[i % len(paths)], headers=headers or {})
            response = conn.getresponse()
            response.read()
            errors += response.status != expect
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    cpu = (server.cpu_seconds() - cpu0) * 1000 / n
    times = server.server_times(offset, count=n)
    results[name] = (pct(times, 0.5), pct(times, 0.95), cpu, errors)


def live_start(port: int, query: dict, headers: dict | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/live/?" + urlencode(query), headers={**POLL_HEADERS, **(headers or {})})
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body


def login(port: int, username: str, password: str) -> str:
    """Sign in through the login form as a browser does; the session cookie's value."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    conn.request("POST", "/accounts/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
    })  # fmt: skip
    response = conn.getresponse()
    response.read()
    found = re.search(r"sessionid=([^;]+)", " ".join(v for k, v in response.getheaders() if k == "Set-Cookie"))
    if response.status != 302 or not found:
        raise SystemExit(f"bench login failed: {response.status}")
    return found.group(1)


def quiet_phase(db: str, requests: int) -> dict:
    """Ratios in one run: nothing new, a feed's 304, the dashboard; then a private desk's poll."""
    results: dict = {}
    server = Server(db, workers=2)
    try:
        state = live_start(server.port, {})
        nothing_new = f"/live/?after={state['after']}&v={state['version']}"
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        conn.request("GET", "/feeds/rss/?country=FR")
        etag = conn.getresponse().getheader("ETag")
        conn.close()
        for paths in (["/"], [nothing_new]):  # warm
            load_run(port=server.port, paths=paths, requests=20, concurrency=2)
        measure(server, "live: nothing new (public)", results, [nothing_new], requests, headers=POLL_HEADERS)
        measure(server, "feed 304", results, ["/feeds/rss/?country=FR"], requests, {"If-None-Match": etag}, 304)
        measure(server, "dashboard first page", results, ["/"], max(requests // 5, 50))
    finally:
        server.stop()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from newsdesk.accounts.livepass import EPOCH_KEY
    from newsdesk.accounts.roles import editors_group_ensure

    user, _ = get_user_model().objects.get_or_create(username="bench-live")
    password = "bench-live-" + str(random.random())
    user.set_password(password)
    user.save()
    user.groups.add(editors_group_ensure())
    os.environ["NEWSDESK_DASHBOARD_PUBLIC"] = "false"
    try:
        server = Server(db, workers=2)
    finally:
        del os.environ["NEWSDESK_DASHBOARD_PUBLIC"]
    try:
        cookie = {"Cookie": "sessionid=" + login(server.port, "bench-live", password), **POLL_HEADERS}
        state = live_start(server.port, {}, cookie)
        nothing_new = f"/live/?after={state['after']}&v={state['version']}"
        load_run(port=server.port, paths=[nothing_new], requests=20, concurrency=2, headers=cookie)
        measure(server, "live: nothing new (private, pass)", results, [nothing_new], requests, headers=cookie)
        measure(server, "live: nothing new (private, no pass)", results, [nothing_new], max(requests // 5, 50),
                headers=cookie, before=lambda: cache.incr(EPOCH_KEY))  # fmt: skip
    finally:
        server.stop()
    return results


class Dashboards:
    """Open dashboards polling as live.js does; every poll's client time and answer."""

    def __init__(self, port: int, count: int, every: float, rng: random.Random) -> None:
        self.port, self.every = port, every
        self.queries = [rng.choice(FILTER_MIX) for _ in range(count)]
        self.state: list[dict] = [{} for _ in range(count)]
        self.heap = [(time.monotonic() + rng.uniform(0, every), i, "open") for i in range(count)]
        heapq.heapify(self.heap)
        self.lock = threading.Lock()
        self.stop_at = float("inf")
        self.polls: list[tuple[float, float, bool, bool]] = []  # (started, client ms, changed, ok)
        self.late: list[float] = []

    def run(self, threads: int = 8) -> None:
        workers = [threading.Thread(target=self._worker) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()

    def _worker(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while True:
            with self.lock:
                due, i, kind = self.heap[0]
                now = time.monotonic()
                if now >= self.stop_at:
                    return
                if due <= now:
                    heapq.heappop(self.heap)
            if due > now:
                time.sleep(min(due - now, 0.02))
                continue
            query, state = self.queries[i], self.state[i]
            path = "/live/?" + urlencode(
                query if kind == "open" else {**query, "after": state["after"], "v": state["v"]}
            )
            start = time.perf_counter()
            try:
                conn.request("GET", path, headers=POLL_HEADERS)
                response = conn.getresponse()
                body = json.loads(response.read())
                ok = response.status == 200
            except (OSError, http.client.HTTPException, ValueError):
                body, ok = {}, False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            elapsed = (time.perf_counter() - start) * 1000
            with self.lock:
                if kind == "open":
                    state.update(after=body.get("after", 0), v=body.get("version", ""))
                else:
                    if body.get("changed"):
                        state["v"] = body.get("version", state["v"])
                    self.polls.append((time.monotonic(), elapsed, bool(body.get("changed")), ok))
                    self.late.append(max(0.0, time.monotonic() - due - elapsed / 1000))
                heapq.heappush(self.heap, (time.monotonic() + self.every, i, "poll"))


def ingest_phase(db: str, dashboards: int, seconds: float, rate: float, every: float) -> dict:
    from django.core.cache import cache

    from newsdesk.changes import VERSION_KEY

    run = f"{int(time.time())}"
    child = subprocess_start(db, rate, seconds + every + 60, run)  # stopped when the polling ends
    ingest_pid = int(child.stdout.readline().split("=")[1])
    server = Server(db, workers=2)
    try:
        desks = Dashboards(server.port, dashboards, every, random.Random(20261206))
        desks.stop_at = time.monotonic() + every + seconds
        poller = threading.Thread(target=desks.run)
        poller.start()
        time.sleep(every)  # every dashboard opened; from here every request is a poll
        backends = pg_backends(db, {ingest_pid})
        cpu0, pg0, offset = server.cpu_seconds(), proc_cpu(backends), server.log_offset()
        version0, wall0 = cache.get(VERSION_KEY), time.monotonic()
        poller.join()
        wall = time.monotonic() - wall0
        web_cpu = server.cpu_seconds() - cpu0
        pg1 = proc_cpu(backends + pg_backends(db, {ingest_pid}))
        pg_cpu = sum(v - pg0.get(pid, 0.0) for pid, v in pg1.items())
        bumps = (cache.get(VERSION_KEY) or 0) - (version0 or 0)
        polls = [p for p in desks.polls if p[0] >= wall0]
        server_ms = server.server_times(offset, count=len(polls))
    finally:
        server.stop()
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=60)
    tail = child.stdout.read().strip()
    return {
        "wall": wall, "polls": len(polls), "changed": sum(p[2] for p in polls), "errors": sum(not p[3] for p in polls),
        "web_cpu": web_cpu, "pg_cpu": pg_cpu, "bumps": bumps, "server_ms": server_ms,
        "client_ms": [p[1] for p in polls], "late_p95_s": pct(desks.late, 0.95), "ingest": tail,
    }  # fmt: skip


def subprocess_start(db: str, rate: float, seconds: float, run: str) -> subprocess.Popen:
    argv = [PYTHON, __file__, "--db", db, "--ingest-child", f"--rate={rate}", f"--seconds={seconds}", f"--run={run}"]
    return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="newsdesk_bench", help="a database bench/dashboard.py prepared")
    parser.add_argument("--dashboards", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120.0, help="polling measured after the opening interval")
    parser.add_argument("--rate", type=float, default=1.0, help="new articles stored a second during the polling")
    parser.add_argument("--requests", type=int, default=1500, help="requests per quiet scenario")
    parser.add_argument("--ingest-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--run", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_child:
        ingest_child(db=args.db, rate=args.rate, seconds=args.seconds, run=args.run)
        return 0
    (ROOT / "var" / "bench-dashboard").mkdir(parents=True, exist_ok=True)
    django_setup(args.db)
    from django.conf import settings

    from newsdesk.models import Article

    every = float(settings.NEWSDESK_LIVE_POLL_SECONDS)
    articles = Article.objects.count()
    load0 = os.getloadavg()[0]
    quiet = quiet_phase(args.db, args.requests)
    load1 = os.getloadavg()[0]
    try:
        busy = ingest_phase(args.db, args.dashboards, args.seconds, args.rate, every)
    finally:
        removed = ingested_delete(args.db)
    print(f"\narticles={articles:,}  2 gunicorn sync workers  {os.cpu_count()} cores  "
          f"load average {load0:.1f} (quiet start) / {load1:.1f} (ingest start) / {os.getloadavg()[0]:.1f} (end)")  # fmt: skip
    print("quiet: server time from the access log; app CPU = the gunicorn workers' CPU per request")
    for name, (p50, p95, cpu, errors) in quiet.items():
        print(f"  {name:<38} server p50={p50:6.2f}ms p95={p95:6.2f}ms  app cpu/request={cpu:5.2f}ms  errors={errors}")
    base = quiet["live: nothing new (public)"]
    print(
        "  ratios of medians to a public 'nothing new': "
        + ", ".join(f"{name} {v[0] / base[0]:.1f}x" for name, v in quiet.items() if v is not base)
    )
    polls_s = busy["polls"] / busy["wall"]
    print(
        f"ingest: {args.dashboards} dashboards polling every {every:g} s, measured {busy['wall']:.0f} s; "
        f"{busy['ingest']} (asked {args.rate:g}/s); {busy['bumps']} version bumps = {busy['bumps'] / busy['wall']:.2f}/s\n"
        f"  polls {busy['polls']} ({polls_s:.1f}/s), {busy['changed']} found something new, errors={busy['errors']}; "
        f"poll late p95 {busy['late_p95_s']:.2f} s\n"
        f"  server p50={pct(busy['server_ms'], 0.5):.2f}ms p95={pct(busy['server_ms'], 0.95):.2f}ms  "
        f"client p95={pct(busy['client_ms'], 0.95):.2f}ms\n"
        f"  web CPU: gunicorn workers {busy['web_cpu'] / busy['wall'] * 100:.1f}% of one core, their PostgreSQL "
        f"backends {busy['pg_cpu'] / busy['wall'] * 100:.1f}%; {busy['web_cpu'] * 1000 / max(busy['polls'], 1):.2f} ms "
        f"app CPU per poll; {removed} bench articles deleted afterwards"
    )  # fmt: skip
    figures = {"live_nothing_new_p95_ms": base[1], "private_pass_p95_ms": quiet["live: nothing new (private, pass)"][1]}
    errors = sum(v[3] for v in quiet.values()) + busy["errors"]
    ok = errors == 0 and all(figures[k] <= TARGETS[k] for k in TARGETS)
    print(
        " ".join(f"{k}={v:.2f} (target<={TARGETS[k]:g})" for k, v in figures.items())
        + f" private_no_pass_p95_ms={quiet['live: nothing new (private, no pass)'][1]:.2f}"
        f" polls_under_ingest_p95_ms={pct(busy['server_ms'], 0.95):.2f}"
        f" web_cpu_core_share={(busy['web_cpu'] + busy['pg_cpu']) / busy['wall']:.3f}"
        f" dashboards={args.dashboards} ingest_rate={args.rate:g}/s errors={errors} (target=0) articles={articles}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
