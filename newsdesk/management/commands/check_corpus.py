"""Run every file under some folders through the feed parse-and-normalise path.

    manage.py check_corpus DIR [DIR...] [--timeout 10] [--memory-mb 512] [--workers N]

Nothing is stored. Each file is parsed in a worker process that has an
address-space limit, and the parent kills a worker that takes longer than
the timeout, so a file that would hang or exhaust memory in a poller is
reported as ``hung`` or ``crashed`` instead of taking this command down.
One line per file, in path order, then
``files=N ok=N bozo=N rejected=N crashed=N hung=N``; the exit status is
non-zero if any file crashed or hung.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from newsdesk.ingest.parse import FeedRejected, parse_feed

OUTCOMES = ("ok", "bozo", "rejected", "crashed", "hung")


@dataclass
class _Outcome:
    outcome: str
    items: int = 0
    detail: str = ""


def corpus_file_check(*, path: Path) -> _Outcome:
    """Parse one file exactly as a polled body would be parsed (no headers, no base URL)."""
    try:
        with path.open("rb") as handle:
            body = handle.read(int(settings.NEWSDESK_FETCH_MAX_BYTES) + 1)
    except OSError as exc:
        return _Outcome("rejected", detail=f"cannot read the file: {exc}")
    try:
        feed = parse_feed(body=body, headers={}, base_url="")
    except FeedRejected as exc:
        return _Outcome("rejected", detail=str(exc))
    except Exception as exc:
        return _Outcome("crashed", detail=f"{type(exc).__name__}: {exc}")
    if feed.bozo:
        return _Outcome("bozo", items=len(feed.items), detail=feed.bozo_reason)
    return _Outcome("ok", items=len(feed.items))


def _address_space_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _worker(conn: Connection, memory_bytes: int) -> None:
    """Serve paths from ``conn`` until told to stop, under a memory limit."""
    if memory_bytes:
        used = _address_space_bytes()
        if used:
            limit = used + memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        try:
            result = corpus_file_check(path=Path(path))
        except MemoryError:
            result = _Outcome("crashed", detail="MemoryError: over the memory bound")
        conn.send((result.outcome, result.items, result.detail[:300]))


class _Slot:
    """One worker process and the file it is working on."""

    def __init__(self, context: multiprocessing.context.BaseContext, memory_bytes: int) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(child, memory_bytes), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0

    def give(self, index: int, path: Path) -> None:
        self.index = index
        self.started = time.monotonic()
        self.conn.send(str(path))

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


def corpus_files(*, roots: list[Path]) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            files.extend(Path(dirpath) / name for name in sorted(filenames))
    return files


class Command(BaseCommand):
    help = "Parse every file under the given folders like a polled feed, without storing; report each outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dirs", nargs="+", type=Path, help="Folders (or files) to check.")
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds one file may take (default 10).")
        parser.add_argument(
            "--memory-mb", type=int, default=512, help="Memory a worker may add while parsing (default 512)."
        )
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="Worker processes.")

    def handle(self, *args, dirs: list[Path], timeout: float, memory_mb: int, workers: int, **options) -> None:
        missing = [str(d) for d in dirs if not d.exists()]
        if missing:
            raise CommandError(f"no such file or folder: {', '.join(missing)}")
        files = corpus_files(roots=dirs)
        results: list[_Outcome | None] = [None] * len(files)
        context = multiprocessing.get_context("fork")
        memory_bytes = max(memory_mb, 0) * 1024 * 1024
        slots = [_Slot(context, memory_bytes) for _ in range(max(1, min(workers, len(files) or 1)))]
        next_file = 0
        printed = 0
        counts = dict.fromkeys(OUTCOMES, 0)

        def flush() -> None:
            nonlocal printed
            while printed < len(files) and results[printed] is not None:
                result = results[printed]
                assert result is not None
                counts[result.outcome] += 1
                detail = " ".join(result.detail.split())
                line = f"{result.outcome:<8} {files[printed]} items={result.items}"
                self.stdout.write(f"{line} {detail}".rstrip() if detail else line)
                printed += 1

        try:
            while printed < len(files):
                for slot in slots:
                    if slot.index is None and next_file < len(files):
                        slot.give(next_file, files[next_file])
                        next_file += 1
                busy = [slot for slot in slots if slot.index is not None]
                now = time.monotonic()
                wait_for = min(max(0.0, slot.started + timeout - now) for slot in busy)
                ready = wait([slot.conn for slot in busy], timeout=wait_for)
                for i, slot in enumerate(slots):
                    if slot.index is None:
                        continue
                    if slot.conn in ready:
                        try:
                            outcome, items, detail = slot.conn.recv()
                            results[slot.index] = _Outcome(outcome, items, detail)
                            slot.index = None
                            continue
                        except (EOFError, OSError):
                            code = slot.process.exitcode
                            results[slot.index] = _Outcome("crashed", detail=f"worker died (exit code {code})")
                    elif time.monotonic() - slot.started > timeout:
                        results[slot.index] = _Outcome("hung", detail=f"no result after {timeout:g}s; worker killed")
                    else:
                        continue
                    slot.stop(kill=True)
                    slots[i] = _Slot(context, memory_bytes)
                flush()
        finally:
            for slot in slots:
                slot.stop()
        summary = " ".join(f"{name}={counts[name]}" for name in OUTCOMES)
        self.stdout.write(f"files={len(files)} {summary}")
        failed = counts["crashed"] + counts["hung"]
        if failed:
            raise CommandError(f"{failed} file(s) crashed or hung", returncode=1)
