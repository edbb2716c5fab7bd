"""File drops across processes: concurrent scanners, SIGKILL mid-file, and a real Celery worker.

Scanners run as separate Python processes against the same test database and
inbox, as two workers on two machines sharing a folder would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone

from newsdesk.drops.scan import drops_scan_all
from newsdesk.models import Article, DropFile, FetchAttempt, Source, SourceKind
from tests.support.worker import ROOT, celery_worker, wait_for
from tests.support.worker import test_database_url as database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]  # real worker and scanner processes

SCANNER = """
import os, sys, time
import django
django.setup()
from newsdesk.drops import scan
mode = sys.argv[1]
if mode == "race":
    while not os.path.exists(sys.argv[2]):  # start together
        time.sleep(0.005)
elif mode in ("before_commit", "after_commit"):
    name = "drop_batch_store" if mode == "before_commit" else "claim_done"
    original = getattr(scan, name)
    def paused(*args, **kwargs):
        print("paused", flush=True)
        time.sleep(120)  # killed here
        return original(*args, **kwargs)
    setattr(scan, name, paused)
print("handled", scan.drops_scan_all(), flush=True)
"""


@pytest.fixture
def drop(settings, tmp_path):
    settings.NEWSDESK_DROP_ROOT = tmp_path / "drops"
    settings.NEWSDESK_DROP_SETTLE_SECONDS = 0
    source = Source.objects.create(name="Shared inbox", kind=SourceKind.DROP, inbox="shared")
    source.box = tmp_path / "drops" / "shared"
    source.box.mkdir(parents=True)
    return source


def _env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "true",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "NEWSDESK_DROP_ROOT": str(settings.NEWSDESK_DROP_ROOT),
            "NEWSDESK_DROP_SETTLE_SECONDS": "0",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _scanner(settings, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SCANNER, *args], cwd=ROOT, env=_env(settings), stdout=subprocess.PIPE
    )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_two_scanners_at_once_take_each_file_once(drop, settings, tmp_path):
    count = 120
    for i in range(count):
        (drop.box / f"note-{i:03d}.txt").write_text(f"Note number {i}\nBody of note {i}.\n")
    go = tmp_path / "go"
    scanners = [_scanner(settings, "race", str(go)) for _ in range(2)]
    time.sleep(1.5)  # both processes importing Django and waiting on the start line
    go.touch()
    handled = []
    for proc in scanners:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        handled.append(int(out.decode().split("handled")[-1]))
    close_old_connections()
    assert sum(handled) == count  # no file was handled by both
    assert Article.objects.count() == count
    assert DropFile.objects.count() == count
    assert FetchAttempt.objects.filter(outcome=FetchAttempt.Outcome.OK).count() == count
    assert FetchAttempt.objects.count() == count
    assert len(_files(drop.box / "done")) == count
    assert _files(drop.box / "processing") == []
    assert [p for p in drop.box.iterdir() if p.is_file()] == []


@pytest.mark.parametrize("moment", ["before_commit", "after_commit"])
def test_worker_killed_mid_file_processes_it_exactly_once_after_restart(drop, settings, moment):
    """SIGKILL after the claim and before the commit (nothing stored), or after the commit and
    before the move to done/ (stored, file left in processing/): the next scan's sweeper returns
    the file and it ends up stored once, in done/."""
    (drop.box / "card.txt").write_text(
        "Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)\n\nA headline\n\nA body.\n\n📡 Similar Coverage\n"
    )
    proc = _scanner(settings, moment)
    try:
        assert proc.stdout.readline().strip() == b"paused"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    close_old_connections()
    [claimed] = _files(drop.box / "processing")
    assert claimed.name.endswith("~card.txt")
    assert Article.objects.count() == (0 if moment == "before_commit" else 1)

    assert drops_scan_all() == 1  # the restarted worker: sweep, then scan

    assert Article.objects.count() == 1
    assert Article.objects.get().title_orig == "A headline"
    assert [p.name for p in _files(drop.box / "done")] == ["card.txt"]
    assert _files(drop.box / "processing") == []
    assert DropFile.objects.count() == 1
    outcomes = sorted(FetchAttempt.objects.values_list("outcome", flat=True))
    assert outcomes == (["ok"] if moment == "before_commit" else ["duplicate", "ok"])


def _items_in(path: Path) -> int:
    """How many articles a drop file holds: a JSON list's length, an NDJSON file's lines, else one."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ndjson":
        return len([line for line in text.splitlines() if line.strip()])
    if path.suffix == ".json":
        data = json.loads(text)
        return len(data) if isinstance(data, list) else 1
    return 1


def test_demo_inbox_is_ingested_and_enriched_by_a_real_worker(settings, tmp_path, translator):
    """load_demo writes the demo files; the scan task on a real Celery worker stores and enriches each once."""
    from newsdesk.management.demo_content import QUAKE, demo_files

    settings.NEWSDESK_DROP_ROOT = tmp_path / "drops"
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    demo = tmp_path / "drops" / "demo"
    expected = sorted(demo_files(now=timezone.now()))
    assert sorted(p.name for p in demo.iterdir() if p.is_file() and not p.name.startswith(".")) == expected
    items = sum(_items_in(demo / name) for name in expected)
    with celery_worker(extra_env={"NEWSDESK_DROP_SETTLE_SECONDS": "0"}):
        from newsdesk.tasks import scan_drop_sources

        scan_drop_sources.delay()

        def enriched() -> bool:
            close_old_connections()
            return Article.objects.filter(enriched_at__isnull=False).count() == items

        wait_for(enriched, timeout=90, message=f"{items} demo articles stored and enriched")
    assert Article.objects.count() == items, "each demo item stored once"
    card = Article.objects.get(title_orig__startswith="Mexico and Canada")
    assert card.source.name == "El Financiero"  # matched to the demo feed source of that name
    assert card.country == "MX"
    assert card.language_declared == "es"
    assert card.language_detected == "en"  # English text, detected by the enrich stage
    quake = Article.objects.get(title_orig=QUAKE[0].title)
    assert (quake.source.name, quake.source.parent.inbox, quake.country) == (QUAKE[0].outlet, "demo", "CL")
    assert quake.language_detected == "es"
    assert len(_files(demo / "done")) == len(expected)
