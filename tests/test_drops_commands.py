"""manage.py ingest (foreground backfill) and manage.py watch_drops (inotify pickup)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections

from newsdesk.models import Article, DropFile, FetchAttempt, Source, SourceKind
from tests.support.worker import ROOT
from tests.support.worker import test_database_url as database_url

pytestmark = pytest.mark.django_db(transaction=True)


def _tree(root):
    (root / "a").mkdir(parents=True)
    (root / "a" / "one.txt").write_text("First backfill note\nBody one.\n")
    (root / "a" / "two.json").write_text('[{"title": "Second"}, {"title": "Third", "source": "Backfill Wire"}]')
    (root / "a" / ".hidden.txt").write_text("Hidden\nnot ingested")
    (root / "a" / "partial.txt.part").write_text("Partial\nnot ingested")
    (root / "b.txt").write_text("Fourth\nBody four.\n")


def test_ingest_walks_folders_and_reruns_store_nothing_twice(tmp_path):
    _tree(tmp_path / "in")
    out, err = io.StringIO(), io.StringIO()
    call_command("ingest", str(tmp_path / "in"), "--no-enrich", stdout=out, stderr=err)
    assert "files=3 stored=3 duplicate=0 failed=0 articles_new=4" in out.getvalue()
    assert "3/3" in err.getvalue()  # the tqdm progress bar
    source = Source.objects.get(name="Manual ingest")
    assert (source.kind, source.enabled) == (SourceKind.DROP, False)
    assert set(Article.objects.values_list("title_orig", flat=True)) == {
        "First backfill note",
        "Second",
        "Third",
        "Fourth",
    }
    assert Article.objects.get(title_orig="Third").source.parent_id == source.id
    assert (tmp_path / "in" / "a" / "one.txt").exists()  # read in place, never moved

    out = io.StringIO()
    call_command("ingest", str(tmp_path / "in"), "--no-enrich", "--no-progress", stdout=out, stderr=io.StringIO())
    assert "files=3 stored=0 duplicate=3 failed=0 articles_new=0" in out.getvalue()
    assert Article.objects.count() == 4
    assert DropFile.objects.count() == 3


def test_ingest_into_a_named_source_and_failures_exit_non_zero(tmp_path):
    wire = Source.objects.create(name="Partner export", kind=SourceKind.DROP, inbox="partner")
    (tmp_path / "ok.txt").write_text("Fine\nbody")
    (tmp_path / "bad.json").write_text('{"summary": "no title"}')
    (tmp_path / "link.txt").symlink_to(tmp_path / "ok.txt")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 file"):
        call_command(
            "ingest",
            str(tmp_path / "ok.txt"),
            str(tmp_path / "bad.json"),
            str(tmp_path / "link.txt"),
            "--source",
            "Partner export",
            "--no-enrich",
            "--no-progress",
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "bad.json: missing title (line 1, field 'title')" in err.getvalue()
    assert "link.txt: refused: symbolic links are refused" in err.getvalue()
    assert list(Article.objects.values_list("source_id", flat=True)) == [wire.id]
    assert FetchAttempt.objects.filter(source=wire, outcome=FetchAttempt.Outcome.ERROR).count() == 2


@pytest.mark.slow  # runs watch_drops in a subprocess
def test_watch_drops_picks_up_a_moved_in_file_within_a_second(settings, tmp_path):
    root = tmp_path / "drops"
    Source.objects.create(name="Watched", kind=SourceKind.DROP, inbox="watched")
    env = dict(os.environ)
    env.update(
        {
            "DEBUG": "true",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "NEWSDESK_DROP_ROOT": str(root),
            "NEWSDESK_DROP_SETTLE_SECONDS": "30",  # a scan alone would wait 30 s: only inotify can be fast
            "NEWSDESK_DROP_SCAN_SECONDS": "600",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "watch_drops", "--seconds", "60", "--no-enrich"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("watching"), line
        time.sleep(0.3)
        staging = tmp_path / "staging.txt"
        staging.write_text("Instant pickup\nMoved in atomically.\n")
        started = time.monotonic()
        os.rename(staging, root / "watched" / "instant.txt")
        while True:
            close_old_connections()
            if Article.objects.filter(title_orig="Instant pickup").exists():
                break
            assert time.monotonic() - started < 5, "watch_drops did not ingest the file"
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        # Within a second on an idle machine; the margin absorbs a loaded CI box.
        assert elapsed < 2.0, f"took {elapsed:.2f}s"

        # Written in place by a writer that then closes it: taken shortly after the close.
        (root / "watched" / "written.txt").write_text("Written in place\nClosed by its writer.\n")
        started = time.monotonic()
        while not Article.objects.filter(title_orig="Written in place").exists():
            assert time.monotonic() - started < 5, "watch_drops did not ingest the closed file"
            time.sleep(0.05)
            close_old_connections()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert sorted(p.name for p in (root / "watched" / "done").rglob("*.txt")) == ["instant.txt", "written.txt"]
