"""Drop inboxes on a real file system: readiness, claims, refusals, moves and the sweeper (drops/inbox, claims, moves)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsdesk.drops.claims import FileChanging, claim_done, claim_failed, file_claim, file_tries, inbox_sweep
from newsdesk.drops.inbox import InboxInvalid, Refusal, inbox_list, inbox_open
from newsdesk.drops.moves import move_unique

MAX = 1_000_000


@pytest.fixture
def box(tmp_path):
    return inbox_open(drop_root=tmp_path / "root", inbox="wire")


def test_layout_is_created(box):
    assert box.processing.is_dir() and box.done.is_dir() and box.failed.is_dir()


@pytest.mark.parametrize("name", ["../outside", "/abs", "a/../../b", "", "."])
def test_inbox_names_that_escape_the_root_are_refused(tmp_path, name):
    with pytest.raises(InboxInvalid):
        inbox_open(drop_root=tmp_path, inbox=name)


def test_symlinked_inbox_pointing_outside_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "evil").symlink_to(outside)
    with pytest.raises(InboxInvalid, match="not a plain directory"):
        inbox_open(drop_root=tmp_path / "root", inbox="evil")
    assert not (outside / "processing").exists()


def test_dotfiles_tmp_part_and_folders_are_skipped(box):
    for name in (".hidden", "a.tmp", "b.part", "c.txt"):
        (box.path / name).write_text("T\nbody")
    (box.path / "folder").mkdir()
    listing = inbox_list(box=box, settle_seconds=0, max_bytes=MAX)
    assert listing.ready == ["c.txt"]
    assert not listing.refused


def test_refused_kinds_each_with_a_reason(box, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("Secret\nnot for the desk")
    (box.path / "link.txt").symlink_to(outside)
    os.link(outside, box.path / "hard.txt")
    os.mkfifo(box.path / "pipe.txt")
    (box.path / "big.txt").write_bytes(b"x" * (MAX + 1))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(box.path / "sock"))
    try:
        listing = inbox_list(box=box, settle_seconds=0, max_bytes=MAX)
    finally:
        sock.close()
    reasons = {r.name: r.reason for r in listing.refused}
    assert "symbolic link" in reasons["link.txt"]
    assert "hard link" in reasons["hard.txt"]
    assert "FIFO" in reasons["pipe.txt"]
    assert "cap" in reasons["big.txt"]
    assert "socket" in reasons["sock"]
    assert listing.ready == []


def test_device_file_is_refused(box):
    if not os.path.exists("/dev/null"):
        pytest.skip("no /dev/null")
    from newsdesk.drops.inbox import stat_refusal

    assert "device" in stat_refusal(info=os.lstat("/dev/null"), max_bytes=MAX)


def test_claim_renames_into_processing_and_done_moves_by_date(box):
    (box.path / "a.txt").write_text("Title\nbody")
    claim = file_claim(box=box, name="a.txt", max_bytes=MAX)
    assert claim is not None and not isinstance(claim, Refusal)
    assert not (box.path / "a.txt").exists()
    assert claim.path.parent == box.processing and claim.path.name.endswith("~a.txt")
    assert claim.read(max_bytes=MAX) == b"Title\nbody"
    target = claim_done(claim=claim)
    assert target.parent.parent == box.done
    assert len(target.parent.name) == 10  # YYYY-MM-DD
    assert target.read_text() == "Title\nbody"
    assert list(box.processing.iterdir()) == []


def test_second_claim_of_same_file_gets_nothing(box):
    (box.path / "a.txt").write_text("Title\nbody")
    first = file_claim(box=box, name="a.txt", max_bytes=MAX)
    assert file_claim(box=box, name="a.txt", max_bytes=MAX) is None
    first.close()


def test_claim_refuses_symlink_swapped_in_after_listing(box, tmp_path):
    (tmp_path / "target.txt").write_text("x")
    (box.path / "a.txt").symlink_to(tmp_path / "target.txt")
    result = file_claim(box=box, name="a.txt", max_bytes=MAX)
    assert isinstance(result, Refusal)
    assert (box.path / "a.txt").is_symlink()  # untouched: the scan moves it to failed/


def test_failed_writes_error_note_and_never_overwrites(box):
    for attempt in range(2):
        (box.path / "bad.json").write_text("{")
        claim = file_claim(box=box, name="bad.json", max_bytes=MAX)
        claim_failed(claim=claim, reason="invalid JSON", where=f"line {attempt + 1}")
    names = sorted(p.name for p in box.failed.iterdir())
    assert names == ["bad.json", "bad.json.error.txt", "bad~2.json", "bad~2.json.error.txt"]
    assert "reason: invalid JSON" in (box.failed / "bad.json.error.txt").read_text()
    assert "where: line 2" in (box.failed / "bad~2.json.error.txt").read_text()


def test_move_unique_keeps_both_files(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("old")
    (tmp_path / "a.txt").write_text("new")
    target = move_unique(tmp_path / "a.txt", tmp_path / "d", "a.txt")
    assert target.name == "a~2.txt"
    assert (tmp_path / "d" / "a.txt").read_text() == "old"


def test_recently_changed_file_waits_for_the_settle_window(box):
    (box.path / "a.txt").write_text("Title\nbody")
    assert inbox_list(box=box, settle_seconds=30, max_bytes=MAX).waiting == ["a.txt"]
    assert inbox_list(box=box, settle_seconds=30, max_bytes=MAX, now=time.time() + 31).ready == ["a.txt"]


@pytest.mark.slow  # a writer subprocess
def test_half_written_file_is_not_taken_until_complete(box):
    """A writer appending every 0.1 s for 2 s: repeated listings with a 0.5 s window never
    offer the file; once the writer stops, it is offered and read whole."""
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\n"
            "f=open(sys.argv[1],'w')\n"
            "f.write('Title\\n'); f.flush()\n"
            "for i in range(20):\n"
            "    time.sleep(0.1); f.write('line %d\\n' % i); f.flush()\n"
            "f.close()\n",
            str(box.path / "growing.txt"),
        ]
    )
    try:
        while writer.poll() is None:
            listing = inbox_list(box=box, settle_seconds=0.5, max_bytes=MAX)
            assert "growing.txt" not in listing.ready
            time.sleep(0.05)
    finally:
        writer.wait(timeout=10)
    deadline = time.monotonic() + 5
    while "growing.txt" not in inbox_list(box=box, settle_seconds=0.5, max_bytes=MAX).ready:
        assert time.monotonic() < deadline, "the finished file was never offered"
        time.sleep(0.05)
    claim = file_claim(box=box, name="growing.txt", max_bytes=MAX)
    assert claim.read(max_bytes=MAX).count(b"\n") == 21
    claim.close()


def test_read_detects_a_writer_still_appending(box):
    path = box.path / "a.txt"
    path.write_text("Title\n")
    claim = file_claim(box=box, name="a.txt", max_bytes=MAX)
    with open(claim.path, "a") as handle:  # the writer kept its descriptor across our rename
        handle.write("more\n")
    with pytest.raises(FileChanging):
        claim.read(max_bytes=MAX)
    claim.close()


def test_sweeper_returns_only_claims_whose_owner_died(box):
    (box.path / "live.txt").write_text("Live\nbody")
    live = file_claim(box=box, name="live.txt", max_bytes=MAX)
    (box.path / "dead.txt").write_text("Dead\nbody")
    dead = file_claim(box=box, name="dead.txt", max_bytes=MAX)
    dead.close()  # as the kernel does for a killed process
    returned = inbox_sweep(box=box).returned
    assert [p.name for p in returned] == ["dead.txt"]
    assert (box.path / "dead.txt").read_text() == "Dead\nbody"
    assert live.path.exists()
    live.close()


def test_sweeper_after_sigkill_returns_the_file(box):
    """A process that claimed a file and was killed with SIGKILL leaves an unlocked claim."""
    (box.path / "a.txt").write_text("Title\nbody")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\n"
            "from pathlib import Path\n"
            "from newsdesk.drops.claims import file_claim\n"
            "from newsdesk.drops.inbox import Inbox\n"
            "c=file_claim(box=Inbox(path=Path(sys.argv[1])), name='a.txt', max_bytes=10**6)\n"
            "print('claimed', flush=True); time.sleep(60)\n",
            str(box.path),
        ],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert child.stdout.readline().strip() == b"claimed"
        assert inbox_sweep(box=box).returned == []  # alive: its lock is held
        child.kill()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert [p.name for p in inbox_sweep(box=box).returned] == ["a.txt"]
    assert [p for p in box.processing.iterdir() if not p.name.startswith(".")] == []
    assert file_tries(box=box, info=os.lstat(box.path / "a.txt")) == 1  # its death is counted


def test_symlink_planted_as_a_done_folder_is_not_followed(box, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (box.path / "a.txt").write_text("Title\nbody")
    claim = file_claim(box=box, name="a.txt", max_bytes=MAX)
    day = datetime(2026, 2, 9, tzinfo=UTC)
    (box.done / "2026-02-09").symlink_to(outside)
    with pytest.raises(OSError, match="not a plain directory"):
        claim_done(claim=claim, day=day)
    assert list(outside.iterdir()) == []
    claim.close()
    assert [p.name for p in inbox_sweep(box=box).returned] == ["a.txt"]  # returned, not lost
