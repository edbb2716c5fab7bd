"""Translating one text: cache, single flight, provider chain, and the failure policy.

The unit of work is a chunk (a whole text when it fits the provider's
limit). For each chunk:

1. Cache: a Translation row for (sha256, source, target) from any provider
   in the chain answers without a call (:mod:`.cache`). Identical wire copies
   cost nothing. An article's texts are looked up in one query.
2. Claim, in one Redis script (:mod:`.gate`): the single-flight lock on the
   text (so one worker calls the provider while any other wanting the same
   text waits for the row), the circuit breaker, the daily budget and a
   rate-limit slot. A title and summary that both missed are claimed together.
3. Chain: providers in ``NEWSDESK_TRANSLATORS`` order, skipping those whose
   circuit breaker is open or whose budget is spent.
4. Each call: deadline-bound request, in-call retries of transient errors
   with exponential backoff and full jitter, breaker bookkeeping; then the
   row and the usage are written (one statement on PostgreSQL).

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

from newsdesk.ingest.sanitize import html_to_text, text_clean

from .breaker import breaker_failure, breaker_state
from .budget import budget_refund, usage_add, usage_batch, usage_record
from .cache import Cached, cache_lookup, cache_lookup_many, cache_store
from .chunking import Chunk, chunks_join, text_chunks
from .gate import RECHECK_SECONDS, Claim, call_claim, call_claim_many, call_finish
from .providers import (
    LanguageUnsupported,
    Provider,
    ProviderError,
    provider_call,
    provider_get,
    provider_language,
    secrets_scrub,
)
from .redisstate import redis_key
from .together import texts_translate_together

log = logging.getLogger(__name__)

# Bidi overrides and isolates could disguise a translation's text; translations are untrusted.
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# A tag-like span, bounded so a missing ">" costs no backtracking over the text.
_TAG_LIKE = re.compile(r"</?[a-zA-Z!?][^<>]{0,300}>")


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


def translation_clean(*, text: str) -> str:
    """A provider's answer as we store it: what ``text_clean`` removes from any
    text we are given (control characters, non-characters), and bidi controls."""
    return _BIDI_CONTROLS.sub("", text_clean(text))


def translation_as_original(*, text: str, source: str | None = None) -> str:
    """A provider's answer cleaned like the originals (on top of ``translation_clean``).

    Titles and summaries (``source`` None) go through ``html_to_text`` as at
    ingest: tags and comments gone, entities decoded, whitespace collapsed. A
    provider answering ``<img onerror=...>`` must not put markup in a title
    that an RSS reader renders as HTML. Full content (``source``: the plain
    text that was sent) keeps its paragraphs and any tag-like text the
    original itself had ("a <b> tag" in an article about HTML); tags the
    provider added are dropped.
    """
    if source is None:
        return html_to_text(translation_clean(text=text))
    text = translation_clean(text=text)
    known = set(_TAG_LIKE.findall(source))
    return _TAG_LIKE.sub(lambda m: m.group() if m.group() in known else "", text).strip()


def text_needs_translation(*, text: str) -> bool:
    """Text without letters (emoji, numbers, punctuation) reads the same in any language."""
    return any(ch.isalpha() for ch in text)


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


def _hold_seconds(retries: int | None) -> float:
    """Longest time one chunk's calls can take (the lock is held that long)."""
    attempts = 1 + _retries(retries)
    return (
        settings.NEWSDESK_TRANSLATION_TIMEOUT * attempts
        + settings.NEWSDESK_TRANSLATION_BACKOFF * 2**attempts
        + settings.NEWSDESK_TRANSLATION_LOCK_MARGIN
    )


def _claim_lock(
    *,
    text: str,
    digest: str,
    source: str,
    target: str,
    chain: list[str],
    provider: Provider,
    retries: int | None,
    missed_at: float,
) -> tuple[Claim | Cached, float, str, str]:
    """Claim the text's lock (with breaker, budget and rate slot), or wait for
    the row of the worker holding it. Returns the claim (or the row found),
    when the last cache lookup missed, the lock key and the token."""
    hold = _hold_seconds(retries)
    lock_key = redis_key("lock", digest, source, target)
    token = secrets.token_hex(8)
    # A holder's lock turns "done" after ``hold``; a done lock without its row is taken over after the grace.
    # A "done" marker whose row cannot be found this long (an admin deleted the
    # row, or its writer died) is taken over instead of waited for.
    grace = settings.NEWSDESK_TRANSLATION_DONE_GRACE
    waited_until = time.monotonic() + hold + grace + 1
    done_missing_since: float | None = None
    waits = 0
    while True:
        take_done = done_missing_since is not None and time.monotonic() - done_missing_since > grace
        claim = call_claim(
            provider=provider.name,
            characters=len(text),
            lock_key=lock_key,
            token=token,
            lock_seconds=hold,
            take_done=take_done,
        )
        if claim.outcome == "go":
            return claim, missed_at, lock_key, token
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
        hit = cache_lookup(digest=digest, source=source, target=target, chain=chain)
        if hit is not None:
            return hit, missed_at, lock_key, token


def _claim_release(*, provider: str, claim: Claim) -> None:
    """Give back a claim taken for a call that will not happen."""
    budget_refund(provider=provider, characters=claim.reserved)
    call_finish(provider=provider, lock_key=claim.lock_key, token=claim.token)


def _translate_chunk(
    *,
    text: str,
    source: str,
    target: str,
    chain: list[str],
    provider: Provider,
    retries: int | None = None,
    missed_at: float | None = None,
    preclaimed: dict[tuple[str, str], Claim] | None = None,
) -> TranslationResult:
    """Translate one chunk with one provider, at most one call across all workers.

    ``missed_at``: ``time.monotonic()`` taken just before a cache lookup that
    missed this very text (None: look it up here). See :mod:`.gate` for why a
    recent miss needs no second lookup once the lock is ours.
    ``preclaimed``: claims taken for the article's texts at once
    (translate_texts); the one for (provider, text) is used, and so removed.
    """
    digest = text_hash(text)
    claim = preclaimed.pop((provider.name, digest), None) if preclaimed else None
    if missed_at is None:
        missed_at = time.monotonic()
        hit = cache_lookup(digest=digest, source=source, target=target, chain=chain)
        if hit is not None:
            if claim is not None:
                _claim_release(provider=provider.name, claim=claim)
            return TranslationResult(hit.translated, hit.provider)
    if claim is not None:
        lock_key, token = claim.lock_key, claim.token
        if claim.not_before > time.monotonic():
            time.sleep(claim.not_before - time.monotonic())
    else:
        found, missed_at, lock_key, token = _claim_lock(
            text=text,
            digest=digest,
            source=source,
            target=target,
            chain=chain,
            provider=provider,
            retries=retries,
            missed_at=missed_at,
        )
        if isinstance(found, Cached):
            return TranslationResult(found.translated, found.provider)
        claim = found
    done, dirty = False, False
    try:
        if time.monotonic() - missed_at > RECHECK_SECONDS:
            hit = cache_lookup(digest=digest, source=source, target=target, chain=chain)
            if hit is not None:
                budget_refund(provider=provider.name, characters=claim.reserved)
                return TranslationResult(hit.translated, hit.provider)
        raw, dirty = _call_with_retries(
            provider=provider, text=text, source=source, target=target, claim=claim, retries=retries
        )
        translated = translation_clean(text=str(raw)).strip() if raw is not None else ""
        if not translated:
            # None or empty for a non-empty text: keep the original, and do not
            # cache it, so a later re-translation can still do better.
            log.warning("event=translation_empty provider=%s chars=%s", provider.name, len(text))
            usage_add(provider=provider.name, characters=len(text))
            return TranslationResult(text, provider.name, calls=1, complete=False)
        # The lock stays (gate.py): workers that missed the cache before this row is written see it.
        done = True
        call_finish(provider=provider.name, dirty=dirty)
        cache_store(
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
    preclaimed: dict[tuple[str, str], Claim] | None = None,
) -> TranslationResult:
    """``missed_at``, ``preclaimed``: see _translate_chunk."""
    chunks: list[Chunk] = text_chunks(text=text, limit=provider.max_chars, size=provider.chunk_size)
    hits: dict[str, Cached] = {}
    if len(chunks) > 1:
        # One lookup for every chunk, not one per chunk.
        missed_at = time.monotonic()
        digests = [text_hash(chunk.text) for chunk in chunks]
        hits = cache_lookup_many(digests=digests, source=source, target=target, chain=chain)
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
            preclaimed=preclaimed,
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
        hits = cache_lookup_many(digests=list(wanted), source=source_language, target=target_language, chain=chain)
    results = []
    misses = [text for digest, text in wanted.items() if digest not in hits]
    preclaimed: dict[tuple[str, str], Claim] = {}
    try:
        if len(misses) > 1 and source_language != target_language and chain:
            preclaimed = _preclaim(
                texts=misses, source=source_language, target=target_language, provider_name=chain[0], retries=retries
            )
            together = {digest: text for digest, text in wanted.items() if digest not in hits}
            texts_translate_together(
                provider_name=chain[0],
                texts=together,
                source=source_language,
                target=target_language,
                preclaimed=preclaimed,
                hits=hits,
                clean=lambda text: translation_clean(text=text),
            )
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
                        preclaimed=preclaimed,
                    )
                )
    finally:
        # Claims not used (an earlier text failed, so the article is pending): give them back.
        for (provider, _digest), claim in preclaimed.items():
            _claim_release(provider=provider, claim=claim)
    return results


def _preclaim(
    *, texts: list[str], source: str, target: str, provider_name: str, retries: int | None
) -> dict[tuple[str, str], Claim]:
    """Claims for an article's texts that each fit in one call of the first
    provider, in one Redis round trip (gate.call_claim_many); empty when that
    is not possible, and the texts are then claimed one by one."""
    try:
        provider = provider_get(name=provider_name)
        provider_language(provider=provider, code=source)
        provider_language(provider=provider, code=target)
    except ProviderError:
        return {}
    single = []
    for text in texts:
        chunks = text_chunks(text=text, limit=provider.max_chars, size=provider.chunk_size)
        if len(chunks) != 1 or chunks[0].text != text:
            continue
        digest = text_hash(text)
        single.append((digest, redis_key("lock", digest, source, target), secrets.token_hex(8), len(text)))
    if len(single) < 2:
        return {}
    claims = call_claim_many(
        provider=provider.name,
        texts=[(key, token, chars) for _digest, key, token, chars in single],
        lock_seconds=_hold_seconds(retries),
    )
    if claims is None:
        return {}
    return {
        (provider.name, digest): claim
        for (digest, *_rest), claim in zip(single, claims, strict=True)
        if claim.outcome == "go"
    }


def _translate_one(
    *,
    text: str,
    hits: dict[str, Cached],
    wanted: dict[str, str],
    missed_at: float,
    source_language: str,
    target_language: str,
    retries: int | None,
    preclaimed: dict[tuple[str, str], Claim],
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
        _preclaimed=preclaimed,
    )


def translate_text(
    *,
    text: str,
    source_language: str,
    target_language: str = "en",
    retries: int | None = None,
    _missed_at: float | None = None,
    _preclaimed: dict[tuple[str, str], Claim] | None = None,
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
        whole = cache_lookup(digest=digest, source=source_language, target=target_language, chain=chain)
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
                    preclaimed=_preclaimed,
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
                cache_store(
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
