"""Drop files that tried to escape "every file has a reason" (issue #16 item 4)."""

from __future__ import annotations

import os

import pytest

from newsdesk.drops.inbox import InboxInvalid, inbox_open, name_shown
from newsdesk.drops.moves import error_text
from newsdesk.drops.scan import drop_source_scan
from newsdesk.models import Article, FetchAttempt


def _note(drop) -> str:
    [note] = (drop.box / "failed").glob("*.error.txt")
    return note.read_text(encoding="utf-8")


@pytest.mark.django_db
def test_name_with_invalid_utf8_is_refused_with_a_note_and_the_scan_goes_on(drop):
    os.makedirs(drop.box, exist_ok=True)
    with open(os.path.join(os.fsencode(drop.box), b"bad\xff.txt"), "wb") as handle:
        handle.write(b"x\n")
    (drop.box / "good.txt").write_text("A good title\n\nA body.\n", encoding="utf-8")
    result = drop_source_scan(source=drop)
    assert sorted(f.status for f in result.files) == ["ok", "refused"]
    assert Article.objects.get().title_orig == "A good title"
    note = _note(drop)
    assert "file: bad\\xff.txt\n" in note
    assert "reason: file name is not valid UTF-8\n" in note
    assert os.listdir(os.fsencode(drop.box / "failed")).count(b"bad\xff.txt") == 1
    refused = FetchAttempt.objects.get(source=drop, outcome=FetchAttempt.Outcome.ERROR)
    assert "bad\\xff.txt" in refused.detail


@pytest.mark.django_db
def test_newline_in_a_name_cannot_forge_a_line_of_the_note(drop):
    (drop.box / "x\nreason: all fine.txt").write_text("T\n\nB\n", encoding="utf-8")
    drop_source_scan(source=drop)
    lines = _note(drop).splitlines()
    assert [line for line in lines if line.startswith("reason:")] == ["reason: file name contains control characters"]
    assert lines[0] == "file: x\\x0areason: all fine.txt"


def test_every_value_of_an_error_note_is_escaped():
    text = error_text(name="a\rb", reason="r\nfile: forged", where="w\x00")
    assert text.count("\n") == 5  # file, failed_at, reason, where, closing sentence
    assert "\\x0d" in text and "\\x0a" in text and "\\x00" in text


def test_name_shown_keeps_text_and_escapes_what_is_not():
    assert name_shown("Öl — 油.txt") == "Öl — 油.txt"
    assert name_shown(os.fsdecode(b"\xc3(\x01")) == "\\xc3(\\x01"
    assert name_shown("\ud800") == "\\ud800"


def test_inbox_open_creates_nothing_through_a_symlink(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "linkbox").symlink_to(elsewhere)
    with pytest.raises(InboxInvalid, match="not a plain directory"):
        inbox_open(drop_root=root, inbox="linkbox/x")
    assert list(elsewhere.iterdir()) == []


def test_inbox_open_refuses_a_symlink_deeper_down_and_creates_nothing_past_it(tmp_path):
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    (root / "a").mkdir(parents=True)
    elsewhere.mkdir()
    (root / "a" / "b").symlink_to(elsewhere)
    with pytest.raises(InboxInvalid):
        inbox_open(drop_root=root, inbox="a/b/c")
    assert list(elsewhere.iterdir()) == []


def test_inbox_open_creates_nested_inbox_and_layout(tmp_path):
    box = inbox_open(drop_root=tmp_path / "root", inbox="a/b")
    assert box.path == tmp_path / "root" / "a" / "b"
    assert all((box.path / sub).is_dir() for sub in ("processing", "done", "failed"))
    with pytest.raises(InboxInvalid, match="does not exist"):
        inbox_open(drop_root=tmp_path / "root", inbox="a/none", create=False)


class _Killed(BaseException):
    """Stands for SIGKILL: no handler runs; closing the claims' descriptors (the
    ``finally``) is what the kernel does for a dead process, dropping the locks."""


@pytest.fixture
def killer(monkeypatch):
    from newsdesk.drops import scan

    real = scan.drop_input_parse

    def parse(*, item, **kwargs):
        if item.name.startswith("hostile"):
            raise _Killed()
        return real(item=item, **kwargs)

    monkeypatch.setattr(scan, "drop_input_parse", parse)


@pytest.mark.django_db
def test_a_file_that_kills_its_worker_goes_to_failed_after_n_tries_and_holds_back_no_other(drop, killer, settings):
    settings.NEWSDESK_DROP_MAX_TRIES = 3
    (drop.box / "good.txt").write_text("A good title\n\nA body.\n", encoding="utf-8")
    (drop.box / "hostile.txt").write_text("Hostile\n\nx\n", encoding="utf-8")
    with pytest.raises(_Killed):
        drop_source_scan(source=drop)  # both in one batch: the good file dies with it once
    assert Article.objects.count() == 0
    with pytest.raises(_Killed):
        drop_source_scan(source=drop)  # both were in a dead worker's hands: each alone, the good one first
    assert Article.objects.get().title_orig == "A good title"
    with pytest.raises(_Killed):
        drop_source_scan(source=drop)  # the third death
    result = drop_source_scan(source=drop)  # the sweeper sets it aside
    assert [(f.name, f.status) for f in result.files] == [("hostile.txt", "failed")]
    assert (drop.box / "failed" / "hostile.txt").exists()
    assert "its worker died 3 times" in _note(drop)
    assert not [p for p in (drop.box / "processing").iterdir() if not p.name.startswith(".")]
    assert list((drop.box / "processing" / ".tries").iterdir()) == []  # counters of finished files are gone
    assert FetchAttempt.objects.filter(source=drop, error__contains="died 3 times").count() == 1
    assert drop_source_scan(source=drop).files == []  # never claimed again


@pytest.mark.django_db
def test_a_soft_time_limit_gives_the_batch_back_to_the_inbox(drop, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from newsdesk.drops import scan

    def parse(**_kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(scan, "drop_input_parse", parse)
    (drop.box / "a.txt").write_text("A\n\nB\n", encoding="utf-8")
    with pytest.raises(SoftTimeLimitExceeded):
        drop_source_scan(source=drop)
    assert (drop.box / "a.txt").exists()  # back in the inbox, not stranded in processing/
    assert not any((drop.box / "processing").iterdir())


@pytest.mark.django_db
def test_a_writer_pausing_past_the_settle_window_is_not_stored_half_way(drop):
    path = drop.box / "slow.json"
    with open(path, "w", encoding="utf-8") as writer:
        writer.write('{"title": "Half')
        writer.flush()  # the writer pauses here, file open, past the (zero) settle window
        result = drop_source_scan(source=drop)
        assert [(f.name, f.status) for f in result.files] == [("slow.json", "released")]
        assert "still open for writing" in result.files[0].error
        assert path.exists() and not list((drop.box / "failed").iterdir())
        writer.write(' and whole", "body": "Text."}')
    result = drop_source_scan(source=drop)
    assert [(f.name, f.status) for f in result.files] == [("slow.json", "ok")]
    assert Article.objects.get().title_orig == "Half and whole"


@pytest.mark.django_db
def test_a_file_that_changes_after_it_was_read_is_refused_clearly(drop, monkeypatch):
    from newsdesk.drops import scan

    real = scan.drop_batch_store

    def store_while_the_writer_goes_on(*, items, **kwargs):
        for item in items:
            with open(item.claim.path, "a", encoding="utf-8") as late:
                late.write("More text the writer added later.\n")
        return real(items=items, **kwargs)

    monkeypatch.setattr(scan, "drop_batch_store", store_while_the_writer_goes_on)
    (drop.box / "a.txt").write_text("Title\n\nBody.\n", encoding="utf-8")
    [result] = drop_source_scan(source=drop).files
    assert result.status == "failed"
    assert "changed after it was read" in result.error
    assert (drop.box / "failed" / "a.txt").exists()
    assert "rename them into the inbox" in _note(drop)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["done", "failed", "processing"])
def test_a_file_named_like_an_inbox_folder_does_not_block_the_inbox(drop, name):
    """Found by bench/fuzz.py --target names: a file called "done" made every scan of its inbox fail."""
    (drop.box / name).write_text("A title\n\nA body.\n", encoding="utf-8")
    (drop.box / "other.txt").write_text("Other\n\nBody.\n", encoding="utf-8")
    result = drop_source_scan(source=drop)
    assert result.error == ""
    assert sorted(f.status for f in result.files) == ["ok", "ok"]
    assert (drop.box / name).is_dir()


@pytest.mark.django_db
def test_a_name_too_long_to_claim_is_refused_and_the_scan_goes_on(drop):
    """Found by bench/fuzz.py --target names: a 250-byte name could not be renamed "<token>~<name>"."""
    long_name = "a" * 240 + ".txt"
    (drop.box / long_name).write_text("T\n\nB\n", encoding="utf-8")
    (drop.box / "good.txt").write_text("Good\n\nBody.\n", encoding="utf-8")
    result = drop_source_scan(source=drop)
    assert sorted(f.status for f in result.files) == ["ok", "refused"]
    [kept] = [p for p in (drop.box / "failed").iterdir() if not p.name.endswith(".error.txt")]
    assert kept.name.endswith(".txt") and len(kept.name) <= 200
    assert "longer than 200 bytes" in _note(drop)


def test_dropped_text_fields_get_the_caps_of_polled_items():
    """A text file whose first line is a megabyte would give every later stage (language,
    coverage, the translation budget) a megabyte title: drops are capped like polled items."""
    from datetime import UTC, datetime

    from newsdesk.drops.formats import drop_parse
    from newsdesk.ingest.parse import MAX_CONTENT, MAX_SUMMARY, MAX_TITLE

    data = ("T" * 1_000_000 + "\n\n" + ("word " * 50_000 + "\n\n") * 10).encode()
    [entry] = drop_parse(data=data, name="huge.txt", mtime=datetime(2026, 12, 6, tzinfo=UTC)).entries
    assert len(entry.item.title) <= MAX_TITLE
    assert len(entry.item.summary) <= MAX_SUMMARY
    assert len(entry.item.content) <= MAX_CONTENT + 100 and entry.item.content.startswith("<p>")


def test_paragraphs_over_the_content_cap_end_in_a_closed_paragraph_at_a_whole_reference():
    from newsdesk.drops.text import paragraphs_to_html

    html_text = paragraphs_to_html(paragraphs=["short", "a&b " * 40, "never"], limit=60)
    assert len(html_text) <= 60 and "never" not in html_text
    assert html_text.startswith("<p>short</p>\n<p>a&amp;b") and html_text.endswith("</p>")
    assert html_text.count("<p>") == html_text.count("</p>") == 2
    last = html_text.rsplit("<p>", 1)[1]
    assert last.count("&") == last.count("&amp;")  # no reference cut in half
    assert paragraphs_to_html(paragraphs=["one", "two"]) == "<p>one</p>\n<p>two</p>"


@pytest.mark.django_db
def test_manage_ingest_refuses_a_name_that_is_not_utf8_and_stores_the_rest(tmp_path):
    import io

    from django.core.management import CommandError, call_command

    folder = os.fsencode(tmp_path / "in")
    os.makedirs(folder)
    with open(os.path.join(folder, b"bad\xff\nreason: ok.txt"), "wb") as handle:
        handle.write(b"T\n\nB\n")
    with open(os.path.join(folder, b"good.txt"), "wb") as handle:
        handle.write(b"Good\n\nBody.\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("ingest", str(tmp_path / "in"), "--no-enrich", "--no-progress", stdout=out, stderr=err)
    assert "stored=1" in out.getvalue() and "failed=1" in out.getvalue()
    assert "bad\\xff\\x0areason: ok.txt: refused: file name is not valid UTF-8" in err.getvalue()
    assert Article.objects.get().title_orig == "Good"


def test_a_symlink_planted_as_done_makes_nothing_appear_where_it_points(tmp_path):
    from datetime import UTC, datetime

    from newsdesk.drops.claims import claim_done, file_claim

    box = inbox_open(drop_root=tmp_path / "root", inbox="wire")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (box.path / "a.txt").write_text("Title\nbody")
    claim = file_claim(box=box, name="a.txt", max_bytes=1_000_000)
    box.done.rmdir()
    box.done.symlink_to(outside)  # swapped in after the inbox was opened
    with pytest.raises(OSError, match="not a plain directory"):
        claim_done(claim=claim, day=datetime(2026, 2, 9, tzinfo=UTC))
    claim.close()
    assert list(outside.iterdir()) == []  # no 2026-02-09 folder created through the link
