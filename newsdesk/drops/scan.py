"""The inbox scan: sweep, list, claim, store in batches, then move files on.

Exactly once, end to end:

1. a file is claimed by an atomic rename into ``processing/`` (inbox.py);
2. its articles, a FetchAttempt and a DropFile row (unique per source and
   content hash) are written in one transaction (store.py);
3. only after the commit is the file moved to ``done/YYYY-MM-DD/``.

A worker that dies before 2 commits leaves nothing in the database; the
sweeper returns its file and it is stored once. A worker that dies between
2 and 3 leaves the DropFile row; the returned file is then recognised as a
duplicate (no article is touched) and moved to ``done/``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from newsdesk.models import FetchAttempt, Source, SourceKind

from .claims import (
    FileChanging,
    FileClaim,
    claim_done,
    claim_failed,
    claim_release,
    file_claim,
    inbox_sweep,
    names_tried,
)
from .inbox import Inbox, InboxInvalid, Refusal, inbox_list, inbox_open, name_shown
from .moves import file_refuse
from .store import (
    BATCH_MAX_BYTES,
    TRANSIENT,
    DropInput,
    FileResult,
    OutletCache,
    drop_batch_store,
    drop_input_parse,
)

log = logging.getLogger(__name__)

ArticleCallback = Callable[[int], object]


@dataclass
class ScanResult:
    files: list[FileResult] = field(default_factory=list)
    swept: int = 0
    waiting: int = 0
    error: str = ""

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


# --- Scanning inboxes ----------------------------------------------------------------------------


def _refuse(*, source: Source, box: Inbox, refusal: Refusal, now: datetime) -> FileResult:
    shown = name_shown(refusal.name)
    try:
        target = file_refuse(box=box, name=refusal.name, reason=refusal.reason)
    except OSError as exc:
        # One file that cannot be moved must not end the scan of the others.
        log.exception("event=drop_refuse_failed source_id=%s file=%r", source.id, shown)
        target, reason = None, f"{refusal.reason}; moving it to failed/ failed: {exc}"
    else:
        reason = refusal.reason
        if target is None:
            return FileResult(name=shown, status="refused", error=reason)  # another worker took it first
    result = FileResult(name=shown, status="refused", error=reason, path=target)
    attempt = FetchAttempt.objects.create(
        source=source,
        started_at=now,
        outcome=FetchAttempt.Outcome.ERROR,
        error=f"refused: {name_shown(reason)}"[:2000],
        detail=f"file {shown} -> " + (f"failed/{name_shown(target.name)}" if target else "left in the inbox"),
    )
    result.attempt_id = attempt.id
    log.warning("event=drop_refused source_id=%s file=%r reason=%r", source.id, shown, reason)
    return result


def _set_aside(*, source: Source, gone: Refusal, now: datetime) -> FileResult:
    """The record of a file the sweeper moved to failed/ after it killed its workers."""
    shown = name_shown(gone.name)
    attempt = FetchAttempt.objects.create(
        source=source,
        started_at=now,
        outcome=FetchAttempt.Outcome.ERROR,
        error=f"failed: {gone.reason}"[:2000],
        detail=f"file {shown} -> failed/"[:2000],
    )
    log.error("event=drop_file_set_aside source_id=%s file=%r reason=%r", source.id, shown, gone.reason)
    return FileResult(name=shown, status="failed", error=gone.reason, attempt_id=attempt.id)


def _claims_read(claims: list[FileClaim]) -> tuple[list[DropInput], list[FileResult]]:
    """Read claimed files; a file still being written goes straight back to the inbox."""
    inputs: list[DropInput] = []
    released: list[FileResult] = []
    cap = settings.NEWSDESK_DROP_MAX_BYTES
    for claim in claims:
        try:
            data = claim.read(max_bytes=cap)
        except FileChanging as exc:
            claim_release(claim=claim)
            released.append(FileResult(name=claim.name, status="released", error=str(exc)))
            continue
        item = DropInput(name=claim.name, data=data, mtime=claim.mtime, claim=claim)
        if len(data) > cap:
            item.data = b""
            item.result = FileResult(
                name=claim.name,
                status="failed",
                error=f"file grew past the cap of {cap} bytes (NEWSDESK_DROP_MAX_BYTES)",
            )
        inputs.append(item)
    return inputs, released


def drop_claims_process(
    *, source: Source, claims: list[FileClaim], outlets: OutletCache, on_article: ArticleCallback | None = None
) -> list[FileResult]:
    """Read, store (one transaction) and move on claimed files. Every claim is closed on return."""
    try:
        inputs, results = _claims_read(claims)
        now = timezone.now()
        for item in inputs:
            if item.result is None:
                drop_input_parse(item=item, now=now, source_id=source.id)
        try:
            drop_batch_store(source=source, items=inputs, outlets=outlets, now=now)
        except TRANSIENT:
            for item in inputs:
                claim_release(claim=item.claim)
            raise
        # Committed: only now may the files leave processing/.
        for item in inputs:
            changed = item.claim.changed_since_claim() if item.result.status != "failed" else ""
            if changed:
                log.error("event=drop_file_changed source_id=%s file=%r", source.id, name_shown(item.name))
                item.result.status, item.result.error = "failed", changed
            if item.result.status == "failed":
                item.result.path = claim_failed(claim=item.claim, reason=item.result.error)
            else:
                item.result.path = claim_done(claim=item.claim)
            results.append(item.result)
    except SoftTimeLimitExceeded:
        # Time is up: every file still held goes back to the inbox (a file
        # already committed is recognised as a duplicate next time).
        for claim in claims:
            if claim.fd >= 0:
                claim_release(claim=claim)
        raise
    finally:
        for claim in claims:
            claim.close()
    for result in results:
        log.info(
            "event=drop_file source_id=%s file=%r status=%s new=%s updated=%s unchanged=%s",
            source.id,
            result.name,
            result.status,
            result.new,
            result.updated,
            result.unchanged,
        )
        if on_article is None:
            continue
        for article_id in result.to_enrich:
            try:
                on_article(article_id)
            except Exception:
                # The file is stored and moved; retry_pending_translations picks up
                # articles whose enrich message never left.
                log.exception("event=drop_enqueue_failed article_id=%s", article_id)
    return results


def drop_source_scan(
    *,
    source: Source,
    on_article: ArticleCallback | None = None,
    deadline: float | None = None,
    settled: set[str] | None = None,
    settle_seconds: float | None = None,
) -> ScanResult:
    """Sweep stale claims, refuse what must be refused, and ingest every complete file.

    Files are claimed and stored in batches of NEWSDESK_DROP_BATCH_FILES (one
    transaction each). ``settled`` names files known to be complete (inotify
    saw them moved in or closed), which skip the settle window. ``deadline``
    (time.monotonic) stops claiming more files so a task never runs into its
    time limit mid-batch.
    """
    scan = ScanResult()
    try:
        box = inbox_open(drop_root=Path(settings.NEWSDESK_DROP_ROOT), inbox=source.inbox)
    except (InboxInvalid, OSError) as exc:
        scan.error = str(exc)
        log.error("event=drop_inbox_invalid source_id=%s error=%r", source.id, scan.error)
        Source.objects.filter(id=source.id).update(last_error=scan.error[:2000], last_error_at=timezone.now())
        return scan
    swept = inbox_sweep(box=box, max_tries=settings.NEWSDESK_DROP_MAX_TRIES)
    scan.swept = len(swept.returned)
    for gone in swept.failed:
        scan.files.append(_set_aside(source=source, gone=gone, now=timezone.now()))
    window = settings.NEWSDESK_DROP_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    listing = inbox_list(box=box, settle_seconds=window, max_bytes=settings.NEWSDESK_DROP_MAX_BYTES)
    ready = listing.ready + [name for name in listing.waiting if settled and name in settled]
    scan.waiting = len(listing.waiting) - (len(ready) - len(listing.ready))
    for refusal in listing.refused:
        scan.files.append(_refuse(source=source, box=box, refusal=refusal, now=timezone.now()))
    outlets = OutletCache(source)
    batch_size = max(1, settings.NEWSDESK_DROP_BATCH_FILES)
    # Files that were in a dead worker's hands go last, each in a batch of its
    # own: if one kills this worker too, no other file dies with it.
    tried = names_tried(box=box, names=ready)
    ready = [name for name in ready if name not in tried] + [name for name in ready if name in tried]
    position = 0
    while position < len(ready):
        if deadline is not None and time.monotonic() > deadline:
            scan.waiting += len(ready) - position
            break
        claims: list[FileClaim] = []
        batch_bytes = 0
        while position < len(ready) and len(claims) < batch_size and batch_bytes < BATCH_MAX_BYTES:
            name = ready[position]
            if claims and name in tried:
                break
            position += 1
            try:
                claim = file_claim(box=box, name=name, max_bytes=settings.NEWSDESK_DROP_MAX_BYTES)
            except OSError as exc:
                # One file the system will not let us take must not end the scan of the others.
                claim = Refusal(name=name, reason=f"could not be claimed: {exc.strerror or exc}")
            if isinstance(claim, Refusal):
                scan.files.append(_refuse(source=source, box=box, refusal=claim, now=timezone.now()))
            elif claim is not None:
                claims.append(claim)
                batch_bytes += claim.info.st_size
                if name in tried:
                    break
        if claims:
            scan.files.extend(drop_claims_process(source=source, claims=claims, outlets=outlets, on_article=on_article))
    if scan.files:
        now = timezone.now()
        Source.objects.filter(id=source.id).update(last_polled_at=now, last_success_at=now, last_error="")
    return scan


def drop_sources() -> list[Source]:
    return list(Source.objects.filter(kind=SourceKind.DROP, enabled=True).exclude(inbox="").order_by("id"))


def drops_scan_all(*, on_new_article: ArticleCallback | None = None, budget_seconds: float | None = None) -> int:
    """Scan every enabled drop source once; return how many files were handled."""
    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT / 2 if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    handled = 0
    for source in drop_sources():
        result = drop_source_scan(source=source, on_article=on_new_article, deadline=deadline)
        handled += len(result.files)
    return handled
