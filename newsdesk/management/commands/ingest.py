"""Ingest files or folders in the foreground: backfills of thousands of drop files.

    manage.py ingest PATH... [--source NAME] [--no-enrich]

Files are read where they are and never moved or changed (an inbox's
claim/done/failed dance is for live drops). Each file goes through the same
parse-and-store path as a drop, in its own transaction, with a FetchAttempt;
running the command twice stores nothing twice (DropFile content hashes).
Folders are walked recursively, skipping dotfiles and *.tmp/*.part, and
without following symlinks.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from newsdesk.drops.inbox import name_shown, name_skipped, stat_refusal
from newsdesk.drops.store import BATCH_MAX_BYTES, DropInput, FileResult, OutletCache, drop_inputs_ingest
from newsdesk.models import FetchAttempt, Source, SourceKind
from newsdesk.tasks import EnrichSender

DEFAULT_SOURCE = "Manual ingest"
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def _walk(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        try:
            info = os.lstat(path)
        except FileNotFoundError as exc:
            raise CommandError(f"{raw}: no such file or folder") from exc
        if stat.S_ISDIR(info.st_mode):
            for folder, dirnames, filenames in os.walk(path):  # does not follow symlinked folders
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                files.extend(Path(folder) / name for name in sorted(filenames) if not name_skipped(name))
        else:
            files.append(path)
    return files


def _read(path: Path, max_bytes: int) -> tuple[bytes, datetime]:
    """Read with the inbox's rules: no symlinks, FIFOs, devices, hard links, or oversize files."""
    reason = stat_refusal(info=os.lstat(path), max_bytes=max_bytes)
    if reason:
        raise ValueError(reason)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        reason = stat_refusal(info=info, max_bytes=max_bytes)
        if reason:
            raise ValueError(reason)
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ValueError(f"file grew past the cap of {max_bytes} bytes (NEWSDESK_DROP_MAX_BYTES)")
    return data, datetime.fromtimestamp(info.st_mtime, tz=UTC)


class Command(BaseCommand):
    help = "Ingest drop files (cards, JSON/NDJSON, feeds, text, zip) from files or folders, with a progress bar."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", help="files or folders (walked recursively)")
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            help=f"name of the source the files arrive through (a drop source is created if none has this name; default {DEFAULT_SOURCE!r})",
        )
        parser.add_argument(
            "--no-enrich",
            action="store_true",
            help="do not queue enrichment (the periodic retry picks new articles up later)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, cron)")

    def handle(self, *args, **options) -> None:
        source = Source.objects.filter(name=options["source"]).order_by("id").first()
        if source is None:
            inbox = "".join(c if c.isalnum() else "-" for c in options["source"].lower()).strip("-") or "ingest"
            source = Source.objects.create(name=options["source"], kind=SourceKind.DROP, inbox=inbox, enabled=False)
            self.stdout.write(f"created drop source {source.name!r} (disabled: it only records this ingest)")
        files = _walk(options["paths"])
        enqueue = None if options["no_enrich"] else EnrichSender()
        outlets = OutletCache(source)
        totals = {"ok": 0, "duplicate": 0, "failed": 0}
        counts = {"new": 0, "updated": 0}
        failures: list[str] = []
        max_bytes = settings.NEWSDESK_DROP_MAX_BYTES
        batch: list[DropInput] = []
        paths: dict[int, Path] = {}

        def record(result: FileResult, path: Path) -> None:
            totals[result.status] += 1
            counts["new"] += result.new
            counts["updated"] += result.updated
            if result.status == "failed":
                failures.append(f"{name_shown(str(path))}: {result.error}")
            if enqueue is not None:
                for article_id in result.to_enrich:
                    enqueue.add(article_id)

        def flush() -> None:
            # One transaction per batch, as the inbox scan does.
            for item, result in zip(
                batch, drop_inputs_ingest(source=source, items=batch, outlets=outlets), strict=True
            ):
                record(result, paths.pop(id(item)))
            batch.clear()

        bar = tqdm(files, unit="file", disable=options["no_progress"], file=self.stderr)
        for path in bar:
            try:
                if name_shown(path.name) != path.name:
                    # Stored names and notes are text: bytes that are not UTF-8, or a
                    # newline forging a line, have no place in them (issue #16).
                    raise ValueError("file name is not valid UTF-8 or holds control characters")
                data, mtime = _read(path, max_bytes)
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                FetchAttempt.objects.create(
                    source=source,
                    outcome=FetchAttempt.Outcome.ERROR,
                    error=f"refused: {reason}",
                    detail=f"file {name_shown(str(path))}",
                )
                record(FileResult(name=name_shown(str(path)), status="failed", error=f"refused: {reason}"), path)
            else:
                item = DropInput(name=path.name, data=data, mtime=mtime)
                paths[id(item)] = path
                batch.append(item)
                if (
                    len(batch) >= settings.NEWSDESK_DROP_BATCH_FILES
                    or sum(map(len, (i.data for i in batch))) >= BATCH_MAX_BYTES
                ):
                    flush()
            bar.set_postfix(new=counts["new"], dup=totals["duplicate"], failed=totals["failed"], refresh=False)
        if batch:
            flush()
        if enqueue is not None:
            enqueue.flush()
        bar.close()
        for line in failures:
            self.stderr.write(f"failed: {line}")
        self.stdout.write(
            f"files={len(files)} stored={totals['ok']} duplicate={totals['duplicate']} failed={totals['failed']} "
            f"articles_new={counts['new']} articles_updated={counts['updated']}"
        )
        if failures:
            raise CommandError(f"{len(failures)} file(s) failed; see the reasons above")
