"""manage.py check_corpus: every file through the parse path, bounded, summarised."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.http import rss

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FEEDS = SHARED / "corpora" / "feeds"
HOSTILE = SHARED / "corpora" / "hostile"
SUMMARY_RE = re.compile(r"^files=(\d+) ok=(\d+) bozo=(\d+) rejected=(\d+) crashed=(\d+) hung=(\d+)$")


def _run(*args: str) -> tuple[list[str], dict[str, int], CommandError | None]:
    out = io.StringIO()
    error = None
    try:
        call_command("check_corpus", *args, stdout=out)
    except CommandError as exc:
        error = exc
    lines = out.getvalue().splitlines()
    match = SUMMARY_RE.match(lines[-1])
    assert match, lines[-1]
    counts = dict(zip(("files", "ok", "bozo", "rejected", "crashed", "hung"), map(int, match.groups()), strict=True))
    return lines[:-1], counts, error


def _files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
@pytest.mark.skipif(not FEEDS.is_dir(), reason="../shared/corpora/feeds is not present beside the repo")
def test_shared_feed_corpus_has_no_crash_or_hang():
    """Every file of feedparser's corpus, feed-rs fixtures and real outlets gets an outcome."""
    files = _files_under(FEEDS)
    lines, counts, error = _run(str(FEEDS))
    assert error is None, error
    assert counts["files"] == len(files) == len(lines)
    assert counts["crashed"] == 0 and counts["hung"] == 0
    assert counts["ok"] + counts["bozo"] + counts["rejected"] == len(files)
    reported = [line.split()[1] for line in lines]
    assert sorted(reported) == sorted(str(p) for p in files)  # each file once
    # The real outlets are feeds with items, not rejections (the path is the second field:
    # each line ends with its count or message).
    outlets = [line for line in lines if "/outlets/" in line.split()[1] and line.split()[1].endswith(".xml")]
    assert outlets
    for line in outlets:
        assert line.startswith(("ok", "bozo")) and "items=0" not in line.split()[2], line
    # JSON Feed fixtures parse through our own JSON path.
    json_feeds = [line for line in lines if "/jsonfeed/" in line and not line.split()[1].endswith(".serde.json")]
    assert json_feeds and all(line.startswith("ok") for line in json_feeds), json_feeds


@pytest.mark.skipif(not HOSTILE.is_dir(), reason="../shared/corpora/hostile is not present beside the repo")
def test_hostile_corpus_entity_files_are_rejected():
    lines, counts, error = _run(str(HOSTILE))
    assert error is None
    assert counts["crashed"] == counts["hung"] == 0
    for line in lines:
        path = Path(line.split()[1])
        if "<!ENTITY" in path.read_text(errors="replace"):
            assert line.startswith("rejected") and "ENTITY" in line, line


def _small_corpus(root: Path) -> None:
    (root / "sub").mkdir()
    (root / "good.xml").write_bytes(rss([{"title": "One", "guid": "1"}, {"title": "Two", "guid": "2"}]))
    (root / "sub" / "bozo.xml").write_bytes(
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>A & B</title></item></channel></rss>'
    )
    (root / "page.html").write_bytes(b"<!DOCTYPE html><html><body>home</body></html>")
    (root / "bomb.xml").write_bytes(b'<!DOCTYPE r [<!ENTITY a "aaaa">]><rss version="2.0"><channel/></rss>')


def test_each_outcome_is_reported_with_a_summary(tmp_path):
    _small_corpus(tmp_path)
    lines, counts, error = _run(str(tmp_path))
    assert error is None
    assert counts == {"files": 4, "ok": 1, "bozo": 1, "rejected": 2, "crashed": 0, "hung": 0}
    by_name = {Path(line.split()[1]).name: line for line in lines}
    assert by_name["good.xml"].startswith("ok") and "items=2" in by_name["good.xml"]
    assert by_name["bozo.xml"].startswith("bozo") and "items=1" in by_name["bozo.xml"]
    assert by_name["page.html"].startswith("rejected") and "HTML page" in by_name["page.html"]
    assert by_name["bomb.xml"].startswith("rejected") and "ENTITY" in by_name["bomb.xml"]


def _big_feed(path: Path) -> None:
    """An 8.7 MB Atom feed (under NEWSDESK_FETCH_MAX_BYTES) of 25,000 entries: feedparser reads
    Atom (the fast reader takes only plain RSS 2.0) in about 3.5 s on a quiet core, well over the
    1 s bound below; a plain RSS feed of this size now parses in under half a second."""
    lead = "&lt;p&gt;" + "word " * 40 + "&lt;/p&gt;"
    entries = "".join(
        f"<entry><id>urn:example:{i}</id><title>Item {i}</title><updated>2026-12-01T00:00:00Z</updated>"
        f'<summary type="html">{lead}</summary></entry>'
        for i in range(25_000)
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Big</title>'
        f"<id>urn:example:feed</id><updated>2026-12-01T00:00:00Z</updated>{entries}</feed>",
        encoding="utf-8",
    )


@pytest.mark.slow  # starts check_corpus in a subprocess
def test_a_file_over_the_time_bound_is_hung_and_the_run_goes_on(tmp_path):
    _small_corpus(tmp_path)
    _big_feed(tmp_path / "big.xml")
    lines, counts, error = _run(str(tmp_path), "--timeout", "1.0")
    assert error is not None and error.returncode == 1
    assert counts["hung"] == 1 and counts["files"] == 5
    assert counts["ok"] == 1 and counts["bozo"] == 1 and counts["rejected"] == 2
    assert any(line.startswith("hung") and "big.xml" in line for line in lines)


@pytest.mark.slow  # starts check_corpus in a subprocess
def test_a_file_over_the_memory_bound_is_crashed_and_the_run_goes_on(tmp_path):
    """Run as its own process: a long-lived test process has free heap that a
    forked worker could reuse without growing, which would blur the bound."""
    _small_corpus(tmp_path)
    _big_feed(tmp_path / "big.xml")
    completed = subprocess.run(
        [sys.executable, "manage.py", "check_corpus", str(tmp_path), "--memory-mb", "20", "--timeout", "60"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "crashed or hung" in completed.stderr
    lines = completed.stdout.splitlines()
    match = SUMMARY_RE.match(lines[-1])
    assert match, completed.stdout[-500:]
    counts = dict(zip(("files", "ok", "bozo", "rejected", "crashed", "hung"), map(int, match.groups()), strict=True))
    assert counts["crashed"] == 1 and counts["files"] == 5
    assert counts["ok"] == 1 and counts["bozo"] == 1 and counts["rejected"] == 2
    assert any(line.startswith("crashed") and "big.xml" in line for line in lines)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("check_corpus", str(tmp_path / "nope"), stdout=io.StringIO())


@pytest.mark.slow  # starts check_corpus's worker processes
def test_the_issue_16_reproduction_is_parsed_not_hung(tmp_path):
    """A <description> of '&lt;script' x 40000 hung a poller (quadratic html_to_text); it parses now."""
    from tests.support.http import rss

    (tmp_path / "script.xml").write_bytes(
        rss([{"title": "<!--x" * 40000, "link": "https://example.org/a", "description": "<script" * 40000}])
    )
    lines, counts, _error = _run(str(tmp_path), "--timeout", "10")
    assert counts["hung"] == 0 and counts["crashed"] == 0, lines
    assert counts["ok"] + counts["bozo"] == 1
