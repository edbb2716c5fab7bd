"""Storing dropped files' content: many files per transaction, exactly once.

Used by the inbox scan (scan.py) and by ``manage.py ingest``. One
transaction per batch writes the articles (one bulk ``articles_upsert`` per
outlet), a FetchAttempt per file and a DropFile row per distinct content
(unique per source and SHA-256), which is how identical content dropped
again, or returned by the sweeper after a crash between commit and move, is
recognised as a duplicate without touching any article.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from newsdesk.ingest.store import UpsertOutcome, article_upsert, articles_upsert, item_content_hash
from newsdesk.models import Article, DropFile, FetchAttempt, Source, SourceKind

from .claims import FileClaim
from .errors import DropRejected
from .formats import DropEntry, ParsedDrop, ZipLimits, drop_parse

log = logging.getLogger(__name__)

NEVER = datetime(9999, 1, 1, tzinfo=UTC)
# A batch also stops growing at this many bytes, so a batch of large files stays small in memory.
BATCH_MAX_BYTES = 64 * 1024 * 1024
# Errors that are the infrastructure's, not the file's: the file goes back to the inbox.
TRANSIENT = (OperationalError, InterfaceError)


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
                    # No URL, nothing to poll: never due for the feed dispatcher (which
                    # selects feed sources by next_poll_at). Adding a URL in admin and
                    # setting "next poll" makes it a polled feed.
                    next_poll_at=NEVER,
                )
                log.info("event=drop_outlet_created source_id=%s name=%r parent_id=%s", found.id, name, drop.id)
    if (country and not found.country) or (language and not found.language):
        found.country = found.country or country
        found.language = found.language or language
        Source.objects.filter(id=found.id).update(country=found.country, language=found.language)
    return found


# --- Storing files' content, many files per transaction -----------------------------------


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
        elif outcome is UpsertOutcome.REVISED:
            result.updated += 1
        else:
            result.unchanged += 1


@dataclass
class DropInput:
    """One file's bytes on their way into the database (claimed from an inbox, or read by `ingest`)."""

    name: str
    data: bytes
    mtime: datetime
    claim: FileClaim | None = None
    started: float = field(default_factory=time.monotonic)
    sha256: str = ""
    parsed: ParsedDrop | None = None
    result: FileResult | None = None
    detail: str = ""


def drop_input_parse(*, item: DropInput, now: datetime, source_id: int | None = None) -> None:
    """Hash and parse outside any transaction; failures land on ``item.result``."""
    item.sha256 = hashlib.sha256(item.data).hexdigest()
    item.result = FileResult(name=item.name, status="ok")
    item.detail = f"file {item.name} sha256={item.sha256[:16]}"
    try:
        item.parsed = drop_parse(data=item.data, name=item.name, mtime=min(item.mtime, now), zip_limits=zip_limits())
    except DropRejected as exc:
        item.result.status, item.result.error = "failed", str(exc)
        return
    except SoftTimeLimitExceeded:
        raise  # time is up for the scan; the file is given back, not failed
    except Exception as exc:  # a parser bug must not loop the file forever: fail it, with the reason
        log.exception("event=drop_parse_crashed source_id=%s file=%r", source_id, item.name)
        item.result.status = "failed"
        item.result.error = f"internal error while parsing: {type(exc).__name__}: {exc}"
        return
    item.detail += f" format={item.parsed.format}"
    item.detail += f" encoding={item.parsed.encoding}" if item.parsed.encoding else ""
    item.detail += "".join(f"; {note}" for note in item.parsed.notes)


def _attempt_for(*, source: Source, item: DropInput, now: datetime) -> FetchAttempt:
    result = item.result
    outcome = {
        "ok": FetchAttempt.Outcome.OK,
        "duplicate": FetchAttempt.Outcome.DUPLICATE,
    }.get(result.status, FetchAttempt.Outcome.ERROR)
    return FetchAttempt(
        source=source,
        started_at=now,
        duration_ms=int((time.monotonic() - item.started) * 1000),
        outcome=outcome,
        bytes=len(item.data),
        items_new=result.new,
        items_updated=result.updated,
        items_unchanged=result.unchanged,
        error=result.error[:2000],
        detail=(item.detail or f"file {item.name}")[:2000],
    )


def _store_grouped(*, items: list[DropInput], outlets: OutletCache, now: datetime) -> list[DropInput]:
    """The fast path: one ``articles_upsert`` per outlet for the whole batch.

    Per-file counts come from reading the existing keys first (inside the
    same transaction). Returns the files that must take the per-file path
    instead: those repeating an article key already taken by an earlier
    file of the batch (an edit dropped right after its original).
    """
    groups: dict[int, tuple[Source, list[tuple[DropInput, DropEntry]]]] = {}
    taken: set[tuple[int, str]] = set()
    deferred: list[DropInput] = []
    for item in items:
        pairs = [
            (outlets.get(name=e.outlet, country=e.country, language=e.item.language), e) for e in item.parsed.entries
        ]
        if any((source.id, entry.item.dedupe_key) in taken for source, entry in pairs):
            deferred.append(item)
            continue
        mine: set[tuple[int, str]] = set()
        for source, entry in pairs:
            key = (source.id, entry.item.dedupe_key)
            if key in mine:
                item.result.unchanged += 1  # the file repeats an item; the first copy counts
                continue
            mine.add(key)
            groups.setdefault(source.id, (source, []))[1].append((item, entry))
        taken |= mine
    if not groups:
        return deferred
    # Existing keys and hashes of the whole batch in one query, then one bulk upsert per outlet.
    wanted = Q()
    for source_id, (_, members) in groups.items():
        wanted |= Q(source_id=source_id, dedupe_key__in=[entry.item.dedupe_key for _, entry in members])
    before = {
        (source_id, key): content_hash
        for source_id, key, content_hash in Article.objects.filter(wanted).values_list(
            "source_id", "dedupe_key", "content_hash"
        )
    }
    changed: dict[tuple[int, str], DropInput] = {}
    for source, members in groups.values():
        counts = articles_upsert(source=source, items=[entry.item for _, entry in members], now=now)
        for item, entry in members:
            key = (source.id, entry.item.dedupe_key)
            if key not in before:
                item.result.new += 1
                changed[key] = item
                if entry.country and entry.country != source.country:
                    # The file's country beats the outlet's (a wire item about Chile from "Demo Wire").
                    Article.objects.filter(source=source, dedupe_key=key[1]).update(country=entry.country)
            elif before[key] == item_content_hash(entry.item):
                item.result.unchanged += 1
            else:
                item.result.updated += 1
                if key[1] in counts.enrich_keys:  # not a content-only revision
                    changed[key] = item
    if changed:
        wanted = Q()
        for source_id in {source_id for source_id, _ in changed}:
            wanted |= Q(source_id=source_id, dedupe_key__in=[key for sid, key in changed if sid == source_id])
        for source_id, key, article_id in Article.objects.filter(wanted).values_list("source_id", "dedupe_key", "id"):
            changed[(source_id, key)].result.to_enrich.append(article_id)
    return deferred


def _store_one(*, item: DropInput, outlets: OutletCache, now: datetime, source_id: int) -> bool:
    """The per-file path, in its own savepoint; False when the database refused the file."""
    try:
        with transaction.atomic():
            drop_entries_store(entries=item.parsed.entries, outlets=outlets, now=now, result=item.result)
    except TRANSIENT:
        raise
    except DatabaseError as exc:
        log.exception("event=drop_store_failed source_id=%s file=%r", source_id, item.name)
        item.result = FileResult(name=item.name, status="failed", error=f"the database refused it: {exc}")
        return False
    return True


def drop_batch_store(*, source: Source, items: list[DropInput], outlets: OutletCache, now: datetime) -> None:
    """Store parsed files in one transaction: articles, a FetchAttempt each, DropFile ledger rows.

    One commit for the batch, and one bulk upsert per outlet, is what makes
    backfills fast. If the database refuses anything in the bulk path (a
    value too long, say), the batch is redone file by file, each in its own
    savepoint, so the bad file fails alone. Raises only for infrastructure
    errors (TRANSIENT), in which case nothing of the batch is stored.
    """
    with transaction.atomic():
        shas = {item.sha256 for item in items if item.parsed is not None}
        known = {
            sha: (name, at, attempt_id)
            for sha, name, at, attempt_id in DropFile.objects.filter(source=source, sha256__in=shas).values_list(
                "sha256", "name", "ingested_at", "attempt_id"
            )
        }
        fresh: list[DropInput] = []
        for item in items:
            if item.parsed is None:
                continue
            if item.sha256 in known:
                name, at, attempt_id = known[item.sha256]
                item.result.status = "duplicate"
                item.detail += f"; identical to {name} stored {at:%Y-%m-%d %H:%M:%S} UTC" + (
                    f" (attempt {attempt_id})" if attempt_id else ""
                )
                continue
            known[item.sha256] = (item.name, now, None)  # a second copy in this batch is a duplicate
            fresh.append(item)
        try:
            with transaction.atomic():
                one_by_one = _store_grouped(items=fresh, outlets=outlets, now=now)
        except TRANSIENT:
            raise
        except DatabaseError:
            log.warning("event=drop_batch_fallback source_id=%s files=%s", source.id, len(fresh), exc_info=True)
            for item in fresh:
                item.result = FileResult(name=item.name, status="ok")
            one_by_one = fresh
        slow = {id(item) for item in one_by_one}
        stored = [item for item in fresh if id(item) not in slow]
        for item in one_by_one:
            if _store_one(item=item, outlets=outlets, now=now, source_id=source.id):
                stored.append(item)
        for item in stored:
            if not item.result.new and not item.result.updated:
                item.result.status = "duplicate"
                item.detail += "; every article in it was already stored unchanged"
        attempts = [_attempt_for(source=source, item=item, now=now) for item in items]
        FetchAttempt.objects.bulk_create(attempts)
        for item, attempt in zip(items, attempts, strict=True):
            item.result.attempt_id = attempt.id
        # ignore_conflicts: a concurrent worker storing identical content wins the
        # ledger row; the article constraint has already kept its articles single.
        DropFile.objects.bulk_create(
            [
                DropFile(
                    source=source,
                    sha256=item.sha256,
                    name=item.name[:255],
                    size=len(item.data),
                    format=item.parsed.format,
                    encoding=item.parsed.encoding[:32],
                    articles=item.result.new + item.result.updated + item.result.unchanged,
                    attempt_id=item.result.attempt_id,
                    ingested_at=now,
                )
                for item in stored
            ],
            ignore_conflicts=True,
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
    """Parse and store one file's bytes, recording a FetchAttempt (a batch of one)."""
    return drop_inputs_ingest(
        source=source, items=[DropInput(name=name, data=data, mtime=mtime)], now=now, outlets=outlets
    )[0]


def drop_inputs_ingest(
    *, source: Source, items: list[DropInput], now: datetime | None = None, outlets: OutletCache | None = None
) -> list[FileResult]:
    """Parse and store several files' bytes in one transaction; one FileResult each, in order.

    Status ``ok``, ``duplicate`` (identical content seen before, or nothing
    new or changed in it) or ``failed`` (``error`` says why and where).
    """
    now = now or timezone.now()
    for item in items:
        drop_input_parse(item=item, now=now, source_id=source.id)
    drop_batch_store(source=source, items=items, outlets=outlets or OutletCache(source), now=now)
    return [item.result for item in items]
