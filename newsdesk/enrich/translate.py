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

from django.conf import settings
from django.db import IntegrityError, transaction

from newsdesk.models import Translation

from .breaker import breaker_failure, breaker_state, breaker_success, provider_gate
from .budget import BudgetExhausted, budget_refund, budget_reserve
from .chunking import Chunk, chunks_join, text_chunks
from .providers import (
    LanguageUnsupported,
    Provider,
    ProviderError,
    provider_call,
    provider_get,
    secrets_scrub,
)
from .ratelimit import parse_per_provider
from .redisstate import redis_client, redis_key

log = logging.getLogger(__name__)

# C0/C1 control characters (keeping tab and newline) and bidi overrides that
# could disguise text; translations are untrusted.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_LOCK_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end"


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


def _cached(*, digest: str, source: str, target: str, chain: list[str]) -> Translation | None:
    rows = list(
        Translation.objects.filter(
            text_hash=digest, source_language=source, target_language=target, provider__in=chain
        ).only("translated", "provider")
    )
    if not rows:
        return None
    rows.sort(key=lambda row: chain.index(row.provider))
    return rows[0]


def _store(*, digest: str, source: str, target: str, provider: str, translated: str, characters: int) -> None:
    row = Translation(
        text_hash=digest,
        source_language=source,
        target_language=target,
        provider=provider,
        translated=translated,
        characters=characters,
    )
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint, so a duplicate does not break the caller's transaction
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        pass  # stored by a concurrent worker (same text, same provider): keep the first


def _retries(retries: int | None) -> int:
    return max(0, settings.NEWSDESK_TRANSLATION_RETRIES if retries is None else retries)


def _call_with_retries(
    *, provider: Provider, text: str, source: str, target: str, retries: int | None = None
) -> str | None:
    """One provider, a few attempts; raises ProviderError with the last reason."""
    timeout = settings.NEWSDESK_TRANSLATION_TIMEOUT
    rate = parse_per_provider(raw=settings.NEWSDESK_TRANSLATION_RATES).get(provider.name, 0.0)
    attempts = 1 + _retries(retries)
    for attempt in range(attempts):
        gate = provider_gate(provider=provider.name, per_second=rate, max_wait=timeout, probe_seconds=timeout + 5)
        if not gate.allowed:
            raise ProviderError(gate.reason, retryable=False, breaker=False)
        try:
            budget_reserve(provider=provider.name, characters=len(text))
        except BudgetExhausted as exc:
            raise ProviderError(str(exc), retryable=False, breaker=False) from None
        try:
            result = provider_call(
                provider=provider, text=text, source=source, target=target, deadline=time.monotonic() + timeout
            )
        except ProviderError as exc:
            budget_refund(provider=provider.name, characters=len(text))
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
        if gate.dirty:
            breaker_success(provider=provider.name)
        return result
    raise ProviderError(f"{provider.name}: no attempt made", retryable=True)  # pragma: no cover


def _lock_acquire(key: str, token: str, seconds: float) -> bool:
    return bool(redis_client().set(key, token, nx=True, px=max(1, int(seconds * 1000))))


def _lock_release(key: str, token: str) -> None:
    redis_client().eval(_LOCK_RELEASE, 1, key, token)


def _translate_chunk(
    *,
    text: str,
    source: str,
    target: str,
    chain: list[str],
    provider: Provider,
    retries: int | None = None,
    checked: bool = False,
) -> TranslationResult:
    """Translate one chunk with one provider, at most one call across all workers.
    ``checked``: the caller already looked this very text up in the cache."""
    digest = text_hash(text)
    hit = None if checked else _cached(digest=digest, source=source, target=target, chain=chain)
    if hit is not None:
        return TranslationResult(hit.translated, hit.provider)
    attempts = 1 + _retries(retries)
    hold = settings.NEWSDESK_TRANSLATION_TIMEOUT * attempts + settings.NEWSDESK_TRANSLATION_BACKOFF * 2**attempts + 5
    lock_key = redis_key("lock", digest, source, target)
    token = secrets.token_hex(8)
    waited_until = time.monotonic() + hold
    while not _lock_acquire(lock_key, token, hold):
        # Another worker is translating this very text: wait for its row.
        if time.monotonic() > waited_until:
            raise ProviderError("waited too long for a concurrent translation", retryable=True, breaker=False)
        time.sleep(0.05)
        hit = _cached(digest=digest, source=source, target=target, chain=chain)
        if hit is not None:
            return TranslationResult(hit.translated, hit.provider)
    try:
        hit = _cached(digest=digest, source=source, target=target, chain=chain)
        if hit is not None:
            return TranslationResult(hit.translated, hit.provider)
        raw = _call_with_retries(provider=provider, text=text, source=source, target=target, retries=retries)
        translated = text_clean(text=str(raw)).strip() if raw is not None else ""
        if not translated:
            # None or empty for a non-empty text: keep the original, and do not
            # cache it, so a later re-translation can still do better.
            log.warning("event=translation_empty provider=%s chars=%s", provider.name, len(text))
            return TranslationResult(text, provider.name, calls=1, complete=False)
        _store(
            digest=digest,
            source=source,
            target=target,
            provider=provider.name,
            translated=translated,
            characters=len(text),
        )
        return TranslationResult(translated, provider.name, calls=1)
    finally:
        # Always free the lock: waiters would see the row anyway, but a cache
        # row deleted by an admin must not leave this text blocked until expiry.
        _lock_release(lock_key, token)


def _translate_with(
    *, provider: Provider, text: str, source: str, target: str, chain: list[str], retries: int | None = None
) -> TranslationResult:
    chunks: list[Chunk] = text_chunks(text=text, limit=provider.max_chars, size=provider.chunk_size)
    pieces: list[str] = []
    calls = 0
    complete = True
    providers_used: list[str] = []
    for chunk in chunks:
        if not text_needs_translation(text=chunk.text):
            pieces.append(chunk.text)
            continue
        result = _translate_chunk(
            text=chunk.text,
            source=source,
            target=target,
            chain=chain,
            provider=provider,
            retries=retries,
            checked=len(chunks) == 1 and chunk.text == text,
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
    digests = {text_hash(text): text for text in normal if text and text_needs_translation(text=text)}
    hits: dict[str, Translation] = {}
    if digests and source_language != target_language:
        rows = Translation.objects.filter(
            text_hash__in=list(digests),
            source_language=source_language,
            target_language=target_language,
            provider__in=chain,
        ).only("text_hash", "translated", "provider")
        for row in sorted(rows, key=lambda row: chain.index(row.provider), reverse=True):
            hits[row.text_hash] = row  # the first provider in the chain wins
    results = []
    for text in normal:
        row = hits.get(text_hash(text)) if text in digests.values() else None
        if row is not None:
            results.append(TranslationResult(row.translated, row.provider))
        else:
            results.append(
                translate_text(
                    text=text,
                    source_language=source_language,
                    target_language=target_language,
                    retries=retries,
                    _known_miss=bool(digests) and text in digests.values(),
                )
            )
    return results


def translate_text(
    *,
    text: str,
    source_language: str,
    target_language: str = "en",
    retries: int | None = None,
    _known_miss: bool = False,
) -> TranslationResult:
    """English (or ``target_language``) text for ``text``, from cache or the provider chain.

    ``retries`` overrides NEWSDESK_TRANSLATION_RETRIES (a web request wants none).

    Raises TranslationPending when every provider is unavailable for now, and
    TranslationFailed when none can translate this language or input.
    """
    text = _normalise(text)
    if not text or not text_needs_translation(text=text) or source_language == target_language:
        return TranslationResult(text, "")
    chain = [name for name in settings.NEWSDESK_TRANSLATORS if name]
    digest = text_hash(text)
    whole = None if _known_miss else _cached(digest=digest, source=source_language, target=target_language, chain=chain)
    if whole is not None:
        return TranslationResult(whole.translated, whole.provider)
    reasons: list[str] = []
    transient = False
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
