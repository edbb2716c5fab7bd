"""The fault suite's harness: private services, the pipeline's processes, feed farms, and the counting.

bench/faults.py holds the scenarios; each runs on a :class:`Suite` freshly
reset (empty database, flushed Redis, no processes), builds its feeds or
inbox, injects its fault, waits for the pipeline to settle (advancing the
clock past the designed waits, see :meth:`Suite.clock_advance`) and checks
the database against what was served (:meth:`Suite.verdict`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench._faultlib import ROOT, FeedFarm, PgCluster, RedisServer, Stack, wait_until

# Ingest scenarios run workers without the enrich queue: the check is what
# was stored, and enrichment (checked by its own scenarios) is the slow part.
INGEST_QUEUES = "poll,drops,default"


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

    def served(self, feeds: int, items: int, *, extra_paths: list[str] = ()) -> tuple[FeedFarm, dict[int, str]]:
        """A feed farm served on loopback, and a source for each of its feeds (and each of ``extra_paths``)."""
        farm, httpd = self.farm(feeds, items)
        return farm, self.sources(farm, httpd, extra_paths=extra_paths)

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

    def recovered(
        self,
        result: Result,
        farm: FeedFarm,
        id_to_path: dict[int, str],
        done: Callable[[], bool],
        *,
        timeout: float,
        warp_seconds: int = 0,
        enrich: bool = False,
    ) -> bool:
        """Settle (see :meth:`settle`), record the times and the counts in ``result``; True when the
        pipeline settled with every article served stored once."""
        ok, result.recovery_s, result.simulated_s = self.settle(
            done, timeout=timeout, warp_seconds=warp_seconds, enrich=enrich
        )
        self.verdict(result, farm, id_to_path)
        return ok and result.stored == result.expected and result.duplicates == 0

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

    # -- running scenarios ----------------------------------------------------------

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
        farm, ids = self.served(feeds, items)
        worker = self.stack.worker(concurrency=2, queues="" if enrich else INGEST_QUEUES)
        self.stack.beat()
        if not self.wait_mid(mid, timeout=120):
            result.notes.append("never caught the pipeline mid-work")
            return self.verdict(result, farm, ids)
        killed = worker.kill_children()
        result.notes.append(f"SIGKILLed {len(killed)} pool processes")
        ok = self.recovered(
            result,
            farm,
            ids,
            self.complete(farm, ids, translated=enrich, enriched=enrich),
            timeout=180,
            warp_seconds=self._redelivery_window(),
            enrich=enrich,
        )
        stuck = self.db(lambda: Source.objects.filter(state="polling").count())
        result.ok = ok and worker.proc.poll() is None
        if stuck:
            result.notes.append(f"{stuck} sources still POLLING")
        return result

    def _redelivery_window(self) -> int:
        from newsdesk.ingest.dispatch import QUEUED_STALE_AFTER

        return int(QUEUED_STALE_AFTER.total_seconds()) + 5
