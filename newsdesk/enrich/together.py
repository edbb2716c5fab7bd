"""An article's short texts in one provider request (title and summary together).

:func:`newsdesk.enrich.translate.translate_texts` claims an article's missed
texts at once for the first provider of the chain; when that provider's
protocol takes several texts (``Provider.many``), the claimed texts go in one
request, as many as one request may carry (together no longer than the
provider's limit for one text). Each translated text is cached and counted as
if it had been sent alone. When the provider refuses the request for what it
carries (an HTTP 4xx other than key, quota or rate), each text is sent alone,
so the text at fault fails by itself. Any text left untranslated (an outage,
an empty answer) keeps its claim and goes the one-text way, with its retries
and breaker bookkeeping, as without batching: one bad text never costs the
others their translation.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings

from .cache import Cached, cache_store
from .gate import Claim, call_finish
from .providers import Provider, ProviderError, provider_call_many, provider_get, secrets_scrub

log = logging.getLogger(__name__)

# Statuses that refuse a request whatever it carries (key, quota, rate).
_NOT_THE_TEXTS = frozenset({401, 403, 429, 456})


def _call(provider: Provider, texts: list[str], source: str, target: str) -> list[str | None]:
    deadline = time.monotonic() + settings.NEWSDESK_TRANSLATION_TIMEOUT
    return provider_call_many(provider=provider, texts=texts, source=source, target=target, deadline=deadline)


def texts_translate_together(
    *,
    provider_name: str,
    texts: dict[str, str],
    source: str,
    target: str,
    preclaimed: dict[tuple[str, str], Claim],
    hits: dict[str, Cached],
    clean: Callable[[str], str],
) -> int:
    """Translate the preclaimed ``texts`` (digest -> text) in one request; add them to ``hits``.

    Returns how many were translated. The claims of those are used up (taken
    out of ``preclaimed``); the others stay for the one-text path.
    """
    provider = provider_get(name=provider_name)
    if provider.many is None:
        return 0
    picked: list[tuple[str, str]] = []
    size = 0
    for digest, text in texts.items():
        cost = provider.chunk_size(text)
        if (provider.name, digest) in preclaimed and size + cost <= provider.max_chars:
            picked.append((digest, text))
            size += cost
    if len(picked) < 2:
        return 0
    claims = [preclaimed[(provider.name, digest)] for digest, _ in picked]
    wait = max(claim.not_before for claim in claims) - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    try:
        answers = _call(provider, [text for _, text in picked], source, target)
    except ProviderError as exc:
        log.warning(
            "event=translation_together_failed provider=%s texts=%d reason=%s",
            provider.name,
            len(picked),
            secrets_scrub(text=exc.reason),
        )
        if exc.status is None or exc.status in _NOT_THE_TEXTS or exc.status >= 500:
            return 0  # an outage or a refusal of every text: the one-text path deals with it
        # The request was refused for something it carried: each text alone,
        # so the text at fault fails by itself and the others are translated.
        answers = []
        for _, text in picked:
            try:
                answers += _call(provider, [text], source, target)
            except ProviderError:
                answers.append(None)  # tried again by the one-text path, which records the failure
    done = 0
    for (digest, text), raw in zip(picked, answers, strict=True):
        translated = clean(str(raw)).strip() if raw is not None else ""
        if not translated:
            continue  # sent alone next, under its claim
        del preclaimed[(provider.name, digest)]
        row = {"provider": provider.name, "translated": translated, "characters": len(text)}
        cache_store(digest=digest, source=source, target=target, billed=True, **row)
        hits[digest] = Cached(translated, provider.name)
        done += 1
    if done:
        # As after one text: the locks stay (the rows are written); a dirty breaker is closed.
        call_finish(provider=provider.name, dirty=any(claim.dirty for claim in claims))
    return done
