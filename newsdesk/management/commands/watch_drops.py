"""Watch drop inboxes with inotify (watchdog) and ingest files within a second.

    manage.py watch_drops [--seconds N] [--no-enrich]

For installs that want instant pickup; beat's periodic scan keeps working
beside it (claims make the two safe together). A file moved into an inbox
is complete by construction and is taken at once; a file written in place
is taken shortly after its writer closes it, provided no further write
follows within a short quiet period; a file that is created but never
closed (a writer that crashed) waits for the ordinary settle window.
Every NEWSDESK_DROP_SCAN_SECONDS a full scan runs anyway, in case an event
was missed, and the list of drop sources is reloaded.
"""

from __future__ import annotations

import logging
import queue
import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from newsdesk.drops.inbox import InboxInvalid, inbox_open
from newsdesk.drops.scan import drop_source_scan, drop_sources
from newsdesk.models import Source
from newsdesk.tasks import EnrichSender

log = logging.getLogger(__name__)

# After a writer closes a file, wait this long for another write before taking it.
QUIET_SECONDS = 0.3
# inotify reports a file renamed in from an unwatched folder as "created" with no
# "opened" after it; a file created by a writer is "opened" at once. This is how
# long we wait for that "opened" before treating the file as moved in.
OPEN_GRACE_SECONDS = 0.1
COMPLETE, CANDIDATE, PARTIAL = "complete", "candidate", "partial"


class _Handler(FileSystemEventHandler):
    def __init__(self, events: queue.Queue) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.event_type == "moved":
            self.events.put((Path(str(event.dest_path)), "moved"))
        elif event.event_type in ("created", "opened", "modified", "closed"):
            self.events.put((Path(str(event.src_path)), event.event_type))


def pending_update(pending: dict[Path, tuple[str, float]], path: Path, event: str, now: float, settle: float) -> None:
    """Advance one file's state: when it may be taken, and whether it is known complete."""
    if event == "moved":
        pending[path] = (COMPLETE, now)
    elif event == "created":
        pending[path] = (CANDIDATE, now + OPEN_GRACE_SECONDS)
    elif event == "closed":
        pending[path] = (COMPLETE, now + QUIET_SECONDS)
    elif event == "opened" and path not in pending:
        return  # someone reading a file (a scanner claiming it): nothing to do
    else:  # modified, or opened right after created: a writer is at work
        pending[path] = (PARTIAL, now + settle)


class Command(BaseCommand):
    help = "Ingest files dropped into inboxes as soon as they arrive (inotify via watchdog)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--seconds", type=float, default=0.0, help="stop after this many seconds (0: run until stopped)"
        )
        parser.add_argument("--no-enrich", action="store_true", help="do not queue enrichment of new articles")

    def handle(self, *args, **options) -> None:
        self.stopping = False
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        sender = None if options["no_enrich"] else EnrichSender()
        stop_at = time.monotonic() + options["seconds"] if options["seconds"] else None
        events: queue.Queue = queue.Queue()
        observer = Observer()
        handler = _Handler(events)
        watched: dict[Path, int] = {}  # inbox folder -> source id
        rescan_every = float(settings.NEWSDESK_DROP_SCAN_SECONDS)
        settle = float(settings.NEWSDESK_DROP_SETTLE_SECONDS)
        observer.start()
        try:
            next_full = 0.0
            pending: dict[Path, tuple[str, float]] = {}  # file -> (state, when it may be taken)
            while not self.stopping and (stop_at is None or time.monotonic() < stop_at):
                now = time.monotonic()
                if now >= next_full:
                    self._watch_new_sources(observer, handler, watched)
                    for source in drop_sources():  # sweeps stale claims first: the start-up sweeper
                        self._scan(source, None, sender)
                    next_full = time.monotonic() + rescan_every
                try:
                    path, event = events.get(timeout=0.05)
                    while True:
                        if path.parent in watched:
                            pending_update(pending, path, event, time.monotonic(), settle)
                        path, event = events.get_nowait()
                except queue.Empty:
                    pass
                now = time.monotonic()
                due: dict[int, set[str]] = {}
                for path, (_state, when) in list(pending.items()):
                    if when <= now:
                        due.setdefault(watched[path.parent], set()).add(path.name)
                        del pending[path]
                for source_id, names in due.items():
                    source = Source.objects.filter(id=source_id, enabled=True).first()
                    if source is not None:
                        self._scan(source, names, sender)
        finally:
            observer.stop()
            observer.join(timeout=5)

    def _watch_new_sources(self, observer, handler, watched: dict[Path, int]) -> None:
        close_old_connections()
        for source in drop_sources():
            try:
                box = inbox_open(drop_root=Path(settings.NEWSDESK_DROP_ROOT), inbox=source.inbox)
            except (InboxInvalid, OSError) as exc:
                log.error("event=watch_inbox_invalid source_id=%s error=%r", source.id, str(exc))
                continue
            if box.path not in watched:
                observer.schedule(handler, str(box.path), recursive=False)
                watched[box.path] = source.id
                self.stdout.write(f"watching {box.path} for {source.name!r}")

    def _scan(self, source: Source, names: set[str] | None, sender: EnrichSender | None) -> None:
        close_old_connections()
        result = drop_source_scan(source=source, on_article=sender.add if sender else None, settled=names)
        if sender is not None:
            sender.flush()
        for item in result.files:
            self.stdout.write(f"{item.status:9} {source.inbox}/{item.name} new={item.new} updated={item.updated}")
            self.stdout.flush()
