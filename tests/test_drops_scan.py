"""newsdesk/drops/scan.py: inbox files become articles exactly once, with FetchAttempts and moves."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.drops.scan import drop_source_scan, drops_scan_all
from newsdesk.models import Article, DropFile, FetchAttempt, Source, SourceKind

pytestmark = pytest.mark.django_db

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seeds" / "000_dfb12736f0fd9d45.txt"
MARCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


@pytest.fixture
def drop(drop, settings):
    """tests/conftest.py's drop inbox, with a 200 kB file limit."""
    settings.NEWSDESK_DROP_MAX_BYTES = 200_000
    return drop


def _put(drop, name: str, data: bytes, mtime: float = MARCH) -> Path:
    path = drop.box / name
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def _seed() -> bytes:
    if not SEED.exists():
        pytest.skip(f"seed card not found at {SEED} (the shared folder sits beside the repository)")
    return SEED.read_bytes()


def _done(drop) -> list[Path]:
    return sorted(p for p in (drop.box / "done").rglob("*") if p.is_file())


def test_seed_card_becomes_an_article_of_a_new_outlet(drop):
    _put(drop, "000_dfb12736f0fd9d45.txt", _seed())
    enqueued: list[int] = []
    result = drop_source_scan(source=drop, on_article=enqueued.append)
    assert [f.status for f in result.files] == ["ok"]
    article = Article.objects.get()
    assert article.country == "MX"
    assert article.source.name == "El Financiero"
    assert article.source.parent_id == drop.id
    assert article.source.country == "MX"
    assert article.language_declared == "es"
    assert article.language == "es"  # declared; the enrich stage detects the English text
    assert article.title_orig == "Critical minerals should not be negotiated separately"
    assert "Similar Coverage" not in article.content_orig
    assert "Similar Coverage" not in article.summary_orig
    assert article.summary_orig.startswith("The U.S. government emphasizes")
    assert article.content_orig.endswith("considering resource dependencies.</p>")
    assert article.published_at == datetime(2026, 2, 9, 11, 0, tzinfo=UTC)
    assert enqueued == [article.id]
    [done] = _done(drop)
    assert done.name == "000_dfb12736f0fd9d45.txt"
    assert done.parent.name == datetime.now(UTC).strftime("%Y-%m-%d")
    attempt = FetchAttempt.objects.get(source=drop)
    assert (attempt.outcome, attempt.items_new) == (FetchAttempt.Outcome.OK, 1)
    assert "format=card" in attempt.detail
    assert list((drop.box / "processing").iterdir()) == []


def test_card_outlet_matches_an_existing_source_by_name(drop):
    feed = Source.objects.create(name="El Financiero", url="https://example.org/ef.xml", country="MX", language="es")
    _put(drop, "card.txt", _seed())
    drop_source_scan(source=drop)
    assert Article.objects.get().source_id == feed.id
    assert Source.objects.filter(name__iexact="el financiero").count() == 1


def test_redropping_identical_content_is_a_duplicate_and_still_moves_to_done(drop):
    _put(drop, "card.txt", _seed())
    drop_source_scan(source=drop)
    _put(drop, "card.txt", _seed())  # same name, same bytes
    _put(drop, "copy-of-card.txt", _seed())
    enqueued: list[int] = []
    result = drop_source_scan(source=drop, on_article=enqueued.append)
    assert sorted(f.status for f in result.files) == ["duplicate", "duplicate"]
    assert Article.objects.count() == 1
    assert enqueued == []
    assert [p.name for p in _done(drop)] == ["card.txt", "card~2.txt", "copy-of-card.txt"]
    duplicates = FetchAttempt.objects.filter(outcome=FetchAttempt.Outcome.DUPLICATE)
    assert duplicates.count() == 2
    assert all("identical to card.txt" in a.detail for a in duplicates)
    assert DropFile.objects.count() == 1


def test_same_articles_in_different_bytes_are_a_duplicate_too(drop):
    _put(drop, "card.txt", _seed())
    drop_source_scan(source=drop)
    _put(drop, "card-crlf.txt", _seed().replace(b"\n", b"\r\n"))
    [result] = drop_source_scan(source=drop).files
    assert result.status == "duplicate"
    assert Article.objects.count() == 1
    assert "already stored unchanged" in FetchAttempt.objects.get(outcome="duplicate").detail


def test_edited_card_updates_the_article_in_place(drop):
    """A body-only edit is stored without new enrichment; an edited lead is enriched again."""
    _put(drop, "card.txt", _seed())
    drop_source_scan(source=drop)
    _put(drop, "card-v2.txt", _seed().replace(b"Last Wednesday", b"On Wednesday"))
    enqueued: list[int] = []
    [result] = drop_source_scan(source=drop, on_article=enqueued.append).files
    assert (result.status, result.updated) == ("ok", 1)
    article = Article.objects.get()
    assert "On Wednesday" in article.content_orig
    assert enqueued == []
    _put(drop, "card-v3.txt", _seed().replace(b"emphasizes the importance", b"stresses the importance"))
    [result] = drop_source_scan(source=drop, on_article=enqueued.append).files
    assert (result.status, result.updated) == ("ok", 1)
    assert "stresses" in Article.objects.get().summary_orig
    assert enqueued == [article.id]


def test_failed_file_goes_to_failed_with_reason_line_and_field(drop):
    _put(drop, "items.ndjson", b'{"title": "Fine"}\n{"summary": "no title"}\n')
    [result] = drop_source_scan(source=drop).files
    assert result.status == "failed"
    assert Article.objects.count() == 0  # nothing of a failed file is stored
    note = (drop.box / "failed" / "items.ndjson.error.txt").read_text()
    assert "reason: missing title (line 2, field 'title')" in note
    assert (drop.box / "failed" / "items.ndjson").read_bytes().startswith(b'{"title": "Fine"}')
    attempt = FetchAttempt.objects.get()
    assert attempt.outcome == FetchAttempt.Outcome.ERROR
    assert "line 2" in attempt.error


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "device", "oversize"])
def test_refused_files_go_to_failed_with_a_reason(drop, tmp_path, kind):
    outside = tmp_path / "outside.txt"
    outside.write_text("Outside\nsecret text")
    name = f"{kind}.txt"
    if kind == "symlink":
        (drop.box / name).symlink_to(outside)
    elif kind == "hardlink":
        os.link(outside, drop.box / name)
    elif kind == "fifo":
        os.mkfifo(drop.box / name)
    elif kind == "device":
        try:  # a character device like /dev/null (1, 3); needs CAP_MKNOD
            os.mknod(drop.box / name, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("creating a device node needs CAP_MKNOD")
    else:
        _put(drop, name, b"Big\n" + b"x" * 200_001)
    [result] = drop_source_scan(source=drop).files
    assert result.status == "refused"
    assert Article.objects.count() == 0
    assert os.path.lexists(drop.box / "failed" / name)
    note = (drop.box / "failed" / f"{name}.error.txt").read_text()
    expected = {
        "symlink": "symbolic link",
        "hardlink": "hard link",
        "fifo": "FIFO",
        "device": "device",
        "oversize": "cap",
    }[kind]
    assert expected in note
    assert outside.read_text() == "Outside\nsecret text"  # the target is untouched
    assert FetchAttempt.objects.get().error.startswith("refused:")


def test_inbox_that_escapes_the_root_is_not_scanned(drop, tmp_path):
    evil = Source.objects.create(name="Evil", kind=SourceKind.DROP, inbox="../outside")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "a.txt").write_text("Title\nbody")
    result = drop_source_scan(source=evil)
    assert "relative folder name" in result.error
    assert (tmp_path / "outside" / "a.txt").exists()
    evil.refresh_from_db()
    assert "relative folder name" in evil.last_error


def test_json_item_with_country_and_no_source_stays_on_the_drop(drop):
    _put(drop, "wire.json", json.dumps({"title": "Chile item", "summary": "s", "country": "CL"}).encode())
    drop_source_scan(source=drop)
    article = Article.objects.get()
    assert (article.source_id, article.country) == (drop.id, "CL")


def test_zip_archive_is_unpacked_into_articles(drop):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("one.txt", "First note\nbody one")
        archive.writestr("two.json", json.dumps({"title": "Second", "source": "Zip Wire"}))
    _put(drop, "batch.zip", buffer.getvalue())
    [result] = drop_source_scan(source=drop).files
    assert (result.status, result.new) == ("ok", 2)
    assert set(Article.objects.values_list("title_orig", "source__name")) == {
        ("First note", "Wire inbox"),
        ("Second", "Zip Wire"),
    }


def test_unsafe_zip_goes_to_failed_and_stores_nothing(drop):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.txt", "Fine\nbody")
        archive.writestr("../escape.txt", "Escape\nbody")
    _put(drop, "evil.zip", buffer.getvalue())
    [result] = drop_source_scan(source=drop).files
    assert result.status == "failed"
    assert Article.objects.count() == 0
    assert "archive member '../escape.txt'" in (drop.box / "failed" / "evil.zip.error.txt").read_text()


def test_writer_still_appending_is_left_for_a_later_scan(drop, settings):
    settings.NEWSDESK_DROP_SETTLE_SECONDS = 60
    (drop.box / "fresh.txt").write_text("Fresh\nbody")
    result = drop_source_scan(source=drop)
    assert (result.files, result.waiting) == ([], 1)
    assert (drop.box / "fresh.txt").exists()


def test_scan_all_covers_enabled_drop_sources_only(drop, settings):
    off = Source.objects.create(name="Off", kind=SourceKind.DROP, inbox="off", enabled=False)
    (Path(settings.NEWSDESK_DROP_ROOT) / "off").mkdir()
    _put(drop, "a.txt", b"A\nbody")
    (Path(settings.NEWSDESK_DROP_ROOT) / "off" / "b.txt").write_text("B\nbody")
    assert drops_scan_all() == 1
    assert list(Article.objects.values_list("title_orig", flat=True)) == ["A"]
    assert off.articles.count() == 0


def test_scan_stops_claiming_at_its_deadline(drop):
    for i in range(3):
        _put(drop, f"{i}.txt", f"Title {i}\nbody".encode())
    result = drop_source_scan(source=drop, deadline=0.0)
    assert result.files == []
    assert result.waiting == 3


def test_original_and_edit_in_one_batch_are_stored_in_order(drop):
    """Two versions of a card claimed in the same batch: the first creates, the second updates."""
    _put(drop, "a-original.txt", _seed())
    _put(drop, "b-edit.txt", _seed().replace(b"Last Wednesday", b"On Wednesday"))
    _put(drop, "c-copy.txt", _seed())  # identical to the first, in the same batch
    results = {f.name: f for f in drop_source_scan(source=drop).files}
    assert (results["a-original.txt"].status, results["a-original.txt"].new) == ("ok", 1)
    assert (results["b-edit.txt"].status, results["b-edit.txt"].updated) == ("ok", 1)
    assert results["c-copy.txt"].status == "duplicate"
    assert "On Wednesday" in Article.objects.get().content_orig
    assert DropFile.objects.count() == 2


def test_a_file_the_database_refuses_fails_alone(drop, monkeypatch):
    """If the bulk path hits a database error, the batch is redone file by file and only the
    offending file goes to failed/."""
    from django.db import DataError

    from newsdesk.drops import store

    def bulk_refuses(**kwargs):
        raise DataError("value too long for type character varying(2000)")

    real_upsert = store.article_upsert

    def upsert(*, source, item, now=None):
        if item.title == "Poison":
            raise DataError("value too long for type character varying(2000)")
        return real_upsert(source=source, item=item, now=now)

    monkeypatch.setattr(store, "articles_upsert", bulk_refuses)
    monkeypatch.setattr(store, "article_upsert", upsert)
    _put(drop, "1.txt", b"Fine one\nbody")
    _put(drop, "2.txt", b"Poison\nbody")
    _put(drop, "3.txt", b"Fine three\nbody")
    results = {f.name: f.status for f in drop_source_scan(source=drop).files}
    assert results == {"1.txt": "ok", "2.txt": "failed", "3.txt": "ok"}
    assert sorted(Article.objects.values_list("title_orig", flat=True)) == ["Fine one", "Fine three"]
    assert "the database refused it" in (drop.box / "failed" / "2.txt.error.txt").read_text()
    assert DropFile.objects.count() == 2


def test_batches_commit_separately(drop, settings):
    settings.NEWSDESK_DROP_BATCH_FILES = 2
    for i in range(5):
        _put(drop, f"{i}.txt", f"Title {i}\nbody".encode())
    result = drop_source_scan(source=drop)
    assert [f.status for f in result.files] == ["ok"] * 5
    assert Article.objects.count() == 5


def test_outlet_created_from_a_card_is_never_due_for_polling(drop):
    """An outlet first seen in a drop has no feed URL: the feed dispatcher must not pick it."""
    from django.utils import timezone

    from newsdesk.ingest.dispatch import sources_claim_due

    _put(drop, "card.txt", _seed())
    drop_source_scan(source=drop)
    outlet = Source.objects.get(name="El Financiero")
    assert outlet.url == ""
    assert outlet.id not in sources_claim_due(now=timezone.now())
