"""The Django side of file drops: scan inboxes, store what they hold, record attempts.

Exactly once, end to end:

1. a file is claimed by an atomic rename into ``processing/`` (inbox.py);
2. its articles, a FetchAttempt and a DropFile row (unique per source and
   content hash) are written in one transaction;
3. only after the commit is the file moved to ``done/YYYY-MM-DD/``.

A worker that dies before 2 commits leaves nothing in the database; the
sweeper returns its file and it is stored once. A worker that dies between
2 and 3 leaves the DropFile row; the returned file is then recognised as a
duplicate (no article is touched) and moved to ``done/``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from newsdesk.ingest.store import UpsertOutcome, article_upsert
from newsdesk.models import Article, DropFile, FetchAttempt, Source, SourceKind

from .errors import DropRejected
from .formats import DropEntry, ParsedDrop, ZipLimits, drop_parse
from .inbox import (
    Claim,
    FileChanging,
    Inbox,
    InboxInvalid,
    Refusal,
    claim_done,
    claim_failed,
    claim_release,
    file_claim,
    file_refuse,
    inbox_list,
    inbox_open,
    inbox_sweep,
)

log = logging.getLogger(__name__)

ArticleCallback = Callable[[int], object]
# Errors that are the infrastructure's, not the file's: the file goes back to the inbox.
TRANSIENT = (OperationalError, InterfaceError)


class _ConcurrentDuplicate(Exception):
    """Another worker stored identical content while we were storing it."""


@dataclass
class FileResult:
    name: str
    status: str  # ok | duplicate | failed | refused | released
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    to_enrich: list[int] = field(default_factory=list)
    path: Path | None = None
    error: str = ""
    attempt_id: int | None = None


@dataclass
class ScanResult:
    files: list[FileResult] = field(default_factory=list)
    swept: int = 0
    waiting: int = 0
    error: str = ""

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


def zip_limits() -> ZipLimits:
    return ZipLimits(
        max_members=settings.NEWSDESK_DROP_ZIP_MAX_MEMBERS,
        max_member_bytes=settings.NEWSDESK_DROP_MAX_BYTES,
        max_total_bytes=settings.NEWSDESK_DROP_ZIP_MAX_BYTES,
    )


# --- Outlets ---------------------------------------------------------------------------------


class OutletCache:
    """Outlet name -> Source for one scan, so a backfill of one outlet's cards looks it up once."""

    def __init__(self, drop: Source) -> None:
        self.drop = drop
        self._by_name: dict[str, Source] = {}

    def get(self, *, name: str, country: str, language: str) -> Source:
        if not name or name.casefold() == self.drop.name.casefold():
            return self.drop
        key = name.casefold()
        if key not in self._by_name:
            self._by_name[key] = outlet_source(drop=self.drop, name=name, country=country, language=language)
        return self._by_name[key]


def _outlet_find(*, drop: Source, name: str) -> Source | None:
    matches = list(Source.objects.filter(name__iexact=name).order_by("id")[:20])
    # Prefer an outlet this inbox created, then a real feed of that name, then anything.
    for prefer in (
        lambda s: s.parent_id == drop.id,
        lambda s: s.kind == SourceKind.FEED and bool(s.url),
        lambda s: True,
    ):
        for source in matches:
            if prefer(source):
                return source
    return None


def outlet_source(*, drop: Source, name: str, country: str = "", language: str = "") -> Source:
    """The Source for an outlet named in a dropped file: matched by name, or created under ``drop``."""
    found = _outlet_find(drop=drop, name=name)
    if found is None:
        with transaction.atomic():
            # Serialise creation per inbox so two workers do not both create the outlet.
            Source.objects.select_for_update().filter(id=drop.id).first()
            found = _outlet_find(drop=drop, name=name)
            if found is None:
                found = Source.objects.create(
                    name=name[:200],
                    kind=SourceKind.FEED,
                    url="",
                    parent=drop,
                    country=country,
                    language=language,
                    category=drop.category,
                )
                log.info("event=drop_outlet_created source_id=%s name=%r parent_id=%s", found.id, name, drop.id)
    if (country and not found.country) or (language and not found.language):
        found.country = found.country or country
        found.language = found.language or language
        Source.objects.filter(id=found.id).update(country=found.country, language=found.language)
    return found


# --- Storing one file's content ------------------------------------------------------------


def drop_entries_store(
    *, entries: Iterable[DropEntry], outlets: OutletCache, now: datetime, result: FileResult
) -> None:
    """Upsert each entry's article under its outlet, counting outcomes into ``result``."""
    for entry in entries:
        source = outlets.get(name=entry.outlet, country=entry.country, language=entry.item.language)
        outcome, article = article_upsert(source=source, item=entry.item, now=now)
        if outcome is UpsertOutcome.CREATED:
            result.new += 1
            result.to_enrich.append(article.id)
            if entry.country and article.country != entry.country:
                # The file's country beats the outlet's (a wire item about Chile from "Demo Wire").
                Article.objects.filter(id=article.id).update(country=entry.country)
        elif outcome is UpsertOutcome.UPDATED:
            result.updated += 1
            result.to_enrich.append(article.id)
        else:
            result.unchanged += 1


def _attempt(
    *, source: Source, now: datetime, started: float, outcome: str, size: int, detail: str, result: FileResult, error=""
) -> FetchAttempt:
    return FetchAttempt.objects.create(
        source=source,
        started_at=now,
        duration_ms=int((time.monotonic() - started) * 1000),
        outcome=outcome,
        bytes=size,
        items_new=result.new,
        items_updated=result.updated,
        items_unchanged=result.unchanged,
        error=error[:2000],
        detail=detail[:2000],
    )


def drop_bytes_ingest(
    *,
    source: Source,
    name: str,
    data: bytes,
    mtime: datetime,
    now: datetime | None = None,
    outlets: OutletCache | None = None,
) -> FileResult:
    """Parse and store one file's bytes in one transaction, recording a FetchAttempt.

    Returns status ``ok``, ``duplicate`` (identical content seen before, or
    nothing new or changed in it) or ``failed`` (``error`` says why and where).
    Raises only for infrastructure errors (database down), so the caller can
    give the file back to the inbox.
    """
    now = now or timezone.now()
    started = time.monotonic()
    outlets = outlets or OutletCache(source)
    result = FileResult(name=name, status="ok")
    sha = hashlib.sha256(data).hexdigest()
    parsed: ParsedDrop | None = None
    try:
        parsed = drop_parse(data=data, name=name, mtime=min(mtime, now), zip_limits=zip_limits())
    except DropRejected as exc:
        result.status, result.error = "failed", str(exc)
    except Exception as exc:  # a parser bug must not loop the file forever: fail it, with the reason
        log.exception("event=drop_parse_crashed source_id=%s file=%r", source.id, name)
        result.status, result.error = "failed", f"internal error while parsing: {type(exc).__name__}: {exc}"
    detail = f"file {name} sha256={sha[:16]}"
    if parsed is not None:
        detail += f" format={parsed.format}" + (f" encoding={parsed.encoding}" if parsed.encoding else "")
        detail += "".join(f"; {note}" for note in parsed.notes)

    if parsed is None:
        attempt = _attempt(
            source=source,
            now=now,
            started=started,
            outcome=FetchAttempt.Outcome.ERROR,
            size=len(data),
            detail=detail,
            result=result,
            error=result.error,
        )
        result.attempt_id = attempt.id
        return result

    try:
        with transaction.atomic():
            previous = DropFile.objects.filter(source=source, sha256=sha).first()
            if previous is not None:
                result.status = "duplicate"
                detail += f"; identical to {previous.name} stored {previous.ingested_at:%Y-%m-%d %H:%M:%S} UTC" + (
                    f" (attempt {previous.attempt_id})" if previous.attempt_id else ""
                )
            else:
                drop_entries_store(entries=parsed.entries, outlets=outlets, now=now, result=result)
                if not result.new and not result.updated:
                    result.status = "duplicate"
                    detail += "; every article in it was already stored unchanged"
            outcome = FetchAttempt.Outcome.OK if result.status == "ok" else FetchAttempt.Outcome.DUPLICATE
            attempt = _attempt(
                source=source, now=now, started=started, outcome=outcome, size=len(data), detail=detail, result=result
            )
            result.attempt_id = attempt.id
            if previous is None:
                try:
                    with transaction.atomic():
                        DropFile.objects.create(
                            source=source,
                            sha256=sha,
                            name=name[:255],
                            size=len(data),
                            format=parsed.format,
                            encoding=parsed.encoding[:32],
                            articles=result.new + result.updated + result.unchanged,
                            attempt=attempt,
                            ingested_at=now,
                        )
                except IntegrityError as exc:
                    raise _ConcurrentDuplicate from exc
    except _ConcurrentDuplicate:
        result = FileResult(name=name, status="duplicate")
        attempt = _attempt(
            source=source,
            now=now,
            started=started,
            outcome=FetchAttempt.Outcome.DUPLICATE,
            size=len(data),
            detail=detail + "; identical content was stored by another worker at the same time",
            result=result,
        )
        result.attempt_id = attempt.id
    return result


# --- Scanning inboxes ----------------------------------------------------------------------------


def _refuse(*, source: Source, box: Inbox, refusal: Refusal, now: datetime) -> FileResult:
    target = file_refuse(box=box, name=refusal.name, reason=refusal.reason)
    result = FileResult(name=refusal.name, status="refused", error=refusal.reason, path=target)
    if target is not None:
        attempt = FetchAttempt.objects.create(
            source=source,
            started_at=now,
            outcome=FetchAttempt.Outcome.ERROR,
            error=f"refused: {refusal.reason}"[:2000],
            detail=f"file {refusal.name} -> failed/{target.name}"[:2000],
        )
        result.attempt_id = attempt.id
        log.warning("event=drop_refused source_id=%s file=%r reason=%r", source.id, refusal.name, refusal.reason)
    return result


def drop_claim_process(
    *, source: Source, claim: Claim, outlets: OutletCache, on_article: ArticleCallback | None = None
) -> FileResult:
    """Read, store and move on one claimed file. The claim is always closed on return."""
    try:
        try:
            data = claim.read(max_bytes=settings.NEWSDESK_DROP_MAX_BYTES)
        except FileChanging as exc:
            claim_release(claim=claim)
            return FileResult(name=claim.name, status="released", error=str(exc))
        if len(data) > settings.NEWSDESK_DROP_MAX_BYTES:
            reason = f"file grew past the cap of {settings.NEWSDESK_DROP_MAX_BYTES} bytes (NEWSDESK_DROP_MAX_BYTES)"
            result = FileResult(name=claim.name, status="failed", error=reason)
            FetchAttempt.objects.create(
                source=source, outcome=FetchAttempt.Outcome.ERROR, error=reason, detail=f"file {claim.name}"
            )
        else:
            try:
                result = drop_bytes_ingest(
                    source=source, name=claim.name, data=data, mtime=claim.mtime, outlets=outlets
                )
            except TRANSIENT:
                claim_release(claim=claim)
                raise
        if result.status == "failed":
            result.path = claim_failed(claim=claim, reason=result.error)
        else:
            result.path = claim_done(claim=claim)
    finally:
        claim.close()
    if on_article is not None:
        for article_id in result.to_enrich:
            try:
                on_article(article_id)
            except Exception:
                # The file is stored and moved; retry_pending_translations picks up
                # articles whose enrich message never left.
                log.exception("event=drop_enqueue_failed article_id=%s", article_id)
    log.info(
        "event=drop_file source_id=%s file=%r status=%s new=%s updated=%s unchanged=%s",
        source.id,
        result.name,
        result.status,
        result.new,
        result.updated,
        result.unchanged,
    )
    return result


def drop_source_scan(
    *,
    source: Source,
    on_article: ArticleCallback | None = None,
    deadline: float | None = None,
    settled: set[str] | None = None,
    settle_seconds: float | None = None,
) -> ScanResult:
    """Sweep stale claims, refuse what must be refused, and ingest every complete file.

    ``settled`` names files known to be complete (inotify saw them moved in or
    closed), which skip the settle window. ``deadline`` (time.monotonic) stops
    claiming more files so a task never runs into its time limit mid-file.
    """
    scan = ScanResult()
    try:
        box = inbox_open(drop_root=Path(settings.NEWSDESK_DROP_ROOT), inbox=source.inbox)
    except (InboxInvalid, OSError) as exc:
        scan.error = str(exc)
        log.error("event=drop_inbox_invalid source_id=%s error=%r", source.id, scan.error)
        Source.objects.filter(id=source.id).update(last_error=scan.error[:2000], last_error_at=timezone.now())
        return scan
    scan.swept = len(inbox_sweep(box=box))
    window = settings.NEWSDESK_DROP_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    listing = inbox_list(box=box, settle_seconds=window, max_bytes=settings.NEWSDESK_DROP_MAX_BYTES)
    ready = listing.ready + [name for name in listing.waiting if settled and name in settled]
    scan.waiting = len(listing.waiting) - (len(ready) - len(listing.ready))
    for refusal in listing.refused:
        scan.files.append(_refuse(source=source, box=box, refusal=refusal, now=timezone.now()))
    outlets = OutletCache(source)
    for name in ready:
        if deadline is not None and time.monotonic() > deadline:
            scan.waiting += 1
            continue
        claim = file_claim(box=box, name=name, max_bytes=settings.NEWSDESK_DROP_MAX_BYTES)
        if claim is None:
            continue
        if isinstance(claim, Refusal):
            scan.files.append(_refuse(source=source, box=box, refusal=claim, now=timezone.now()))
            continue
        scan.files.append(drop_claim_process(source=source, claim=claim, outlets=outlets, on_article=on_article))
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
