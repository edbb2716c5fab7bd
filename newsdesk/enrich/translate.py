"""Translating one text: cache, single flight, provider chain, and the failure policy.

The unit of work is a chunk (a whole text when it fits the provider's
limit). For each chunk:

1. Cache: a Translation row for (sha256, source, target) from any provider
   in the chain answers without a call. Identical wire copies cost nothing.
2. Single flight: a Redis ``SET NX`` lock per chunk lets one worker call the
   provider while any other worker wanting the same text waits for the row.
3. Chain: providers in ``NEWSDESK_TRANSLATORS`` order, skipping those whose
   circuit breaker is open or whose budget is spent.
4. Each call: rate-limit slot, budget reservation, deadline-bound request,
   in-call retries of transient errors with exponential backoff and full
   jitter, breaker bookkeeping.

Long texts are translated chunk by chunk, each chunk cached on its own so
a partial failure resumes where it stopped, then also cached whole.
"""

from __future__ import annotations

import hashlib
import html
import logging
import random
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.utils import timezone

from newsdesk.models import Translation

from .breaker import breaker_failure, breaker_state
from .budget import budget_refund, usage_add, usage_batch, usage_record, usage_statement
from .chunking import Chunk, chunks_join, text_chunks
from .gate import RECHECK_SECONDS, Claim, call_claim, call_finish
from .providers import (
    LanguageUnsupported,
    Provider,
    ProviderError,
    provider_call,
    provider_get,
    secrets_scrub,
)
from .redisstate import redis_key

log = logging.getLogger(__name__)

# C0/C1 control characters (keeping tab and newline) and bidi overrides that
# could disguise text; translations are untrusted.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# A "done" marker whose row cannot be found this long (an admin deleted the
# row, or its writer died) is taken over instead of waited for.
_DONE_GRACE_SECONDS = 2.0


class TranslationPending(Exception):
    """No provider could translate now; worth retrying later (outage, breaker, budget)."""


class TranslationFailed(Exception):
    """No provider can ever translate this (language unsupported, input refused)."""


@dataclass
class TranslationResult:
    text: str
    provider: str
    calls: int = 0
    chunks: int = 1
    # False when part of the text kept its original (empty provider answer).
    complete: bool = True


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def text_clean(*, text: str) -> str:
    return _CONTROL.sub("", text)


def text_needs_translation(*, text: str) -> bool:
    """Text without letters (emoji, numbers, punctuation) reads the same in any language."""
    return any(ch.isalpha() for ch in text)


class Cached(NamedTuple):
    translated: str
    provider: str


@lru_cache(maxsize=64)
def _lookup_sql(vendor: str, texts: int, providers: int) -> str:
    quote = connection.ops.quote_name
    meta = Translation._meta
    hash_, source, target, provider, translated = (
        quote(meta.get_field(name).column)
        for name in ("text_hash", "source_language", "target_language", "provider", "translated")
    )
    # Only quoted names of our own model are formatted in; values are parameters.
    return (
        f"SELECT {hash_}, {translated}, {provider} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {hash_} IN ({', '.join(['%s'] * texts)}) AND {source} = %s AND {target} = %s "
        f"AND {provider} IN ({', '.join(['%s'] * providers)})"
    )


def _cached_many(*, digests: list[str], source: str, target: str, chain: list[str]) -> dict[str, Cached]:
    """Cached rows for several texts in one query; for each text the first provider in the chain wins.
    (Plain SQL: this runs for every article, and the ORM's query building cost more than the query.)"""
    if not digests or not chain:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_lookup_sql(connection.vendor, len(digests), len(chain)), [*digests, source, target, *chain])
        rows = cursor.fetchall()
    hits: dict[str, Cached] = {}
    for digest, translated, provider in sorted(rows, key=lambda row: chain.index(row[2]), reverse=True):
        hits[digest] = Cached(translated, provider)
    return hits


def _cached(*, digest: str, source: str, target: str, chain: list[str]) -> Cached | None:
    return _cached_many(digests=[digest], source=source, target=target, chain=chain).get(digest)


@lru_cache(maxsize=4)
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    meta = Translation._meta
    names = ("text_hash", "source_language", "target_language", "provider", "translated", "characters", "created_at")
    columns = [quote(meta.get_field(name).column) for name in names]
    # Only quoted names of our own model are formatted in; values are parameters.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(columns[:4])}) DO NOTHING"
    )


def _store(
    *, digest: str, source: str, target: str, provider: str, translated: str, characters: int, billed: bool = False
) -> None:
    """Insert the cache row (a concurrent duplicate keeps the first) and, when
    ``billed``, count the call in today's usage: on PostgreSQL in the same
    statement (one round trip), elsewhere through usage_add (SQLite has no
    round trip to save, but each statement and commit costs, so the usage of
    an article is written once, by translate_texts' usage_batch)."""
    params = [
        digest,
        source,
        target,
        provider,
        translated,
        characters,
        connection.ops.adapt_datetimefield_value(timezone.now()),
    ]
    insert = _insert_sql(connection.vendor)
    with connection.cursor() as cursor:
        if billed and connection.vendor == "postgresql":
            usage_sql, usage_params = usage_statement(provider=provider, characters=characters)
            cursor.execute(f"WITH stored AS ({insert}) {usage_sql}", params + usage_params)
            return
        cursor.execute(insert, params)
    if billed:
        usage_add(provider=provider, characters=characters)


def _retries(retries: int | None) -> int:
    return max(0, settings.NEWSDESK_TRANSLATION_RETRIES if retries is None else retries)


def _call_with_retries(
    *, provider: Provider, text: str, source: str, target: str, claim: Claim, retries: int | None = None
) -> tuple[str | None, bool]:
    """One provider, a few attempts; the first under ``claim`` (taken by the
    caller with the lock). Returns the provider's text and whether the breaker
    needs closing; raises ProviderError with the last reason."""
    timeout = settings.NEWSDESK_TRANSLATION_TIMEOUT
    attempts = 1 + _retries(retries)
    for attempt in range(attempts):
        if attempt:
            claim = call_claim(provider=provider.name, characters=len(text))
        try:
            result = provider_call(
                provider=provider, text=text, source=source, target=target, deadline=time.monotonic() + timeout
            )
        except ProviderError as exc:
            budget_refund(provider=provider.name, characters=claim.reserved)
            usage_record(provider=provider.name, characters=0, failures=1)
            opened = exc.breaker and breaker_failure(
                provider=provider.name, reason=exc.reason, retry_after=exc.retry_after
            )
            log.warning(
                "event=translation_call_failed provider=%s attempt=%s reason=%s",
                provider.name,
                attempt + 1,
                secrets_scrub(text=exc.reason),
            )
            if not exc.retryable or opened or attempt == attempts - 1:
                raise
            # Full jitter: sleep uniformly in [0, base * 2^attempt].
            time.sleep(random.uniform(0, settings.NEWSDESK_TRANSLATION_BACKOFF * 2**attempt))
            continue
        return result, claim.dirty
    raise ProviderError(f"{provider.name}: no attempt made", retryable=True)  # pragma: no cover


def _translate_chunk(
    *,
    text: str,
    source: str,
    target: str,
    chain: list[str],
    provider: Provider,
    retries: int | None = None,
    missed_at: float | None = None,
) -> TranslationResult:
    """Translate one chunk with one provider, at most one call across all workers.

    ``missed_at``: ``time.monotonic()`` taken just before a cache lookup that
    missed this very text (None: look it up here). See :mod:`.gate` for why a
    recent miss needs no second lookup once the lock is ours.
    """
    digest = text_hash(text)
    if missed_at is None:
        missed_at = time.monotonic()
        hit = _cached(digest=digest, source=source, target=target, chain=chain)
        if hit is not None:
            return TranslationResult(hit.translated, hit.provider)
    attempts = 1 + _retries(retries)
    hold = settings.NEWSDESK_TRANSLATION_TIMEOUT * attempts + settings.NEWSDESK_TRANSLATION_BACKOFF * 2**attempts + 5
    lock_key = redis_key("lock", digest, source, target)
    token = secrets.token_hex(8)
    # A holder's lock turns "done" after ``hold``; a done lock without its row is taken over after the grace.
    waited_until = time.monotonic() + hold + _DONE_GRACE_SECONDS + 1
    done_missing_since: float | None = None
    waits = 0
    while True:
        take_done = done_missing_since is not None and time.monotonic() - done_missing_since > _DONE_GRACE_SECONDS
        claim = call_claim(
            provider=provider.name,
            characters=len(text),
            lock_key=lock_key,
            token=token,
            lock_seconds=hold,
            take_done=take_done,
        )
        if claim.outcome == "go":
            break
        # Another worker is translating (or has translated) this very text: wait for its row.
        if claim.outcome == "held":
            done_missing_since = None
            if time.monotonic() > waited_until:
                raise ProviderError("waited too long for a concurrent translation", retryable=True, breaker=False)
        elif done_missing_since is None:
            done_missing_since = time.monotonic()
        if waits:
            time.sleep(0.05)
        waits += 1
        missed_at = time.monotonic()
        hit = _cached(digest=digest, source=source, target=target, chain=chain)
        if hit is not None:
            return TranslationResult(hit.translated, hit.provider)
    done, dirty = False, False
    try:
        if time.monotonic() - missed_at > RECHECK_SECONDS:
            hit = _cached(digest=digest, source=source, target=target, chain=chain)
            if hit is not None:
                budget_refund(provider=provider.name, characters=claim.reserved)
                return TranslationResult(hit.translated, hit.provider)
        raw, dirty = _call_with_retries(
            provider=provider, text=text, source=source, target=target, claim=claim, retries=retries
        )
        translated = text_clean(text=str(raw)).strip() if raw is not None else ""
        if not translated:
            # None or empty for a non-empty text: keep the original, and do not
            # cache it, so a later re-translation can still do better.
            log.warning("event=translation_empty provider=%s chars=%s", provider.name, len(text))
            usage_add(provider=provider.name, characters=len(text))
            return TranslationResult(text, provider.name, calls=1, complete=False)
        # The lock stays (gate.py): workers that missed the cache before this row is written see it.
        done = True
        call_finish(provider=provider.name, dirty=dirty)
        _store(
            digest=digest,
            source=source,
            target=target,
            provider=provider.name,
            translated=translated,
            characters=len(text),
            billed=True,
        )
        return TranslationResult(translated, provider.name, calls=1)
    finally:
        # Otherwise free the lock: nothing was stored, so the next caller must be able to try.
        if not done:
            call_finish(provider=provider.name, lock_key=lock_key, token=token, dirty=dirty)


def _translate_with(
    *,
    provider: Provider,
    text: str,
    source: str,
    target: str,
    chain: list[str],
    retries: int | None = None,
    missed_at: float | None = None,
) -> TranslationResult:
    """``missed_at``: when a cache lookup of the whole ``text`` missed (see _translate_chunk)."""
    chunks: list[Chunk] = text_chunks(text=text, limit=provider.max_chars, size=provider.chunk_size)
    hits: dict[str, Cached] = {}
    if len(chunks) > 1:
        # One lookup for every chunk, not one per chunk.
        missed_at = time.monotonic()
        digests = [text_hash(chunk.text) for chunk in chunks]
        hits = _cached_many(digests=digests, source=source, target=target, chain=chain)
    elif chunks and chunks[0].text != text:
        missed_at = None
    pieces: list[str] = []
    calls = 0
    complete = True
    providers_used: list[str] = []
    for chunk in chunks:
        if not text_needs_translation(text=chunk.text):
            pieces.append(chunk.text)
            continue
        row = hits.get(text_hash(chunk.text)) if hits else None
        if row is not None:
            pieces.append(row.translated)
            providers_used.append(row.provider)
            continue
        result = _translate_chunk(
            text=chunk.text,
            source=source,
            target=target,
            chain=chain,
            provider=provider,
            retries=retries,
            missed_at=missed_at,
        )
        pieces.append(result.text)
        calls += result.calls
        complete = complete and result.complete
        providers_used.append(result.provider)
    return TranslationResult(
        chunks_join(chunks=chunks, translated=pieces),
        providers_used[0] if providers_used else "",
        calls,
        len(chunks),
        complete,
    )


def translation_chain_available() -> bool:
    """Is any provider in the chain not behind an open breaker?"""
    return any(breaker_state(provider=name).state != "open" for name in settings.NEWSDESK_TRANSLATORS if name)


def _normalise(text: str) -> str:
    text = (text or "").strip()
    if "&" in text:
        # Entities in the original (double-encoded feeds) would be translated
        # literally; providers should see the characters. Output is plain text.
        text = html.unescape(text).strip()
    return text


def translate_texts(
    *, texts: list[str], source_language: str, target_language: str = "en", retries: int | None = None
) -> list[TranslationResult]:
    """``translate_text`` for several texts of one article, with one cache query for all of them."""
    chain = [name for name in settings.NEWSDESK_TRANSLATORS if name]
    normal = [_normalise(text) for text in texts]
    wanted = {text_hash(text): text for text in normal if text and text_needs_translation(text=text)}
    hits: dict[str, Cached] = {}
    missed_at = time.monotonic()
    if wanted and source_language != target_language:
        hits = _cached_many(digests=list(wanted), source=source_language, target=target_language, chain=chain)
    results = []
    with usage_batch():
        for text in normal:
            results.append(
                _translate_one(
                    text=text,
                    hits=hits,
                    wanted=wanted,
                    missed_at=missed_at,
                    source_language=source_language,
                    target_language=target_language,
                    retries=retries,
                )
            )
    return results


def _translate_one(
    *,
    text: str,
    hits: dict[str, Cached],
    wanted: dict[str, str],
    missed_at: float,
    source_language: str,
    target_language: str,
    retries: int | None,
) -> TranslationResult:
    digest = text_hash(text) if text else ""
    row = hits.get(digest) if digest in wanted else None
    if row is not None:
        return TranslationResult(row.translated, row.provider)
    return translate_text(
        text=text,
        source_language=source_language,
        target_language=target_language,
        retries=retries,
        _missed_at=missed_at if digest in wanted else None,
    )


def translate_text(
    *,
    text: str,
    source_language: str,
    target_language: str = "en",
    retries: int | None = None,
    _missed_at: float | None = None,
) -> TranslationResult:
    """English (or ``target_language``) text for ``text``, from cache or the provider chain.

    ``retries`` overrides NEWSDESK_TRANSLATION_RETRIES (a web request wants none).
    ``_missed_at``: ``time.monotonic()`` just before the caller's cache lookup
    missed this text (translate_texts), so it is not looked up again.

    Raises TranslationPending when every provider is unavailable for now, and
    TranslationFailed when none can translate this language or input.
    """
    text = _normalise(text)
    if not text or not text_needs_translation(text=text) or source_language == target_language:
        return TranslationResult(text, "")
    chain = [name for name in settings.NEWSDESK_TRANSLATORS if name]
    digest = text_hash(text)
    if _missed_at is None:
        _missed_at = time.monotonic()
        whole = _cached(digest=digest, source=source_language, target=target_language, chain=chain)
        if whole is not None:
            return TranslationResult(whole.translated, whole.provider)
    reasons: list[str] = []
    transient = False
    with usage_batch():  # chunks of a long text: one usage write
        for name in chain:
            try:
                provider = provider_get(name=name)
                result = _translate_with(
                    provider=provider,
                    text=text,
                    source=source_language,
                    target=target_language,
                    chain=chain,
                    retries=retries,
                    missed_at=_missed_at,
                )
            except LanguageUnsupported as exc:
                reasons.append(exc.reason)
                continue
            except ProviderError as exc:
                reasons.append(exc.reason)
                # Only a refused input or a missing configuration is final; outages, breakers, budgets heal.
                transient = transient or not exc.final
                continue
            if result.chunks > 1 and result.provider and result.complete:
                _store(
                    digest=digest,
                    source=source_language,
                    target=target_language,
                    provider=result.provider,
                    translated=result.text,
                    characters=len(text),
                )
            return result
    message = secrets_scrub(text="; ".join(reasons) or "no translation provider configured")[:1000]
    if transient:
        raise TranslationPending(message)
    raise TranslationFailed(message)
