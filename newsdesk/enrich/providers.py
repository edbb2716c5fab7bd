"""Translation providers through deep-translator, each call under our own deadline.

Why the deadline works the way it does
--------------------------------------
deep-translator calls the module-level ``requests.get`` / ``requests.post``
with no ``timeout``, so a silent server would hold a Celery worker forever,
and it throws away the response (status, ``Retry-After``) before raising.
Nothing in its API lets us pass a timeout, a session or an adapter: each
call builds a fresh ``requests.Session`` inside ``requests.api``. So we give
each deep-translator provider module its own ``requests`` object
(:class:`_DeadlineRequests`, replacing only the name ``requests`` inside
those modules, never the real library, so feed fetching and everything else
is untouched). It forwards to one pooled session per thread with:

* ``timeout=(connect, read)`` bounded by what is left of the deadline, so no
  socket operation can block past it;
* a streamed body read in small pieces that stops at the deadline (a server
  that drips bytes cannot stretch it) and at a size cap;
* a record of the last status code and ``Retry-After`` for our error handling.

On top of that, :func:`provider_call` runs the call in a small per-process
thread pool and waits at most the deadline, so the caller always gets its
answer on time; an abandoned thread ends by itself within one read timeout,
because every socket operation it can block on has one.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
from deep_translator import (
    DeeplTranslator,
    GoogleTranslator,
    LibreTranslator,
    MicrosoftTranslator,
    MyMemoryTranslator,
)
from deep_translator import deepl as _dt_deepl
from deep_translator import exceptions as dt_exc
from deep_translator import google as _dt_google
from deep_translator import libre as _dt_libre
from deep_translator import microsoft as _dt_microsoft
from deep_translator import mymemory as _dt_mymemory
from deep_translator.base import BaseTranslator
from deep_translator.constants import (
    DEEPL_LANGUAGE_TO_CODE,
    GOOGLE_LANGUAGES_TO_CODES,
    LIBRE_LANGUAGES_TO_CODES,
    MY_MEMORY_LANGUAGES_TO_CODES,
)
from django.conf import settings

from newsdesk.httpheaders import retry_after_seconds
from newsdesk.perprocess import PerProcess, PerThread

from .multitext import deepl_many, libre_many, microsoft_many

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
_READ_PIECE = 16 * 1024

PROVIDERS = ("google", "deepl", "microsoft", "libre", "mymemory")


# --- Errors -------------------------------------------------------------------


class ProviderError(Exception):
    """A provider call failed. ``retryable``: worth trying again soon (timeouts, refused
    connections, 5xx). ``breaker``: counts towards opening the breaker. ``final``: trying
    later cannot help (no key, input refused, language unsupported); the rest heals with
    time. ``status``: the provider's HTTP status, when it answered."""

    status: int | None = None

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        breaker: bool = True,
        retry_after: float | None = None,
        final: bool = False,
    ):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.breaker = breaker
        self.retry_after = retry_after
        self.final = final


class LanguageUnsupported(ProviderError):
    def __init__(self, reason: str):
        super().__init__(reason, retryable=False, breaker=False, final=True)


# --- Secrets ------------------------------------------------------------------

_SECRET_PARAMS = re.compile(r"(?i)\b(auth_key|api_key|key|subscription-key|token)=([^&\s'\"]+)")


def secrets_scrub(*, text: str) -> str:
    """Remove provider keys from a message (deep-translator puts the DeepL key
    into AuthorizationException, and request URLs carry it as a parameter)."""
    for secret in (settings.NEWSDESK_DEEPL_KEY, settings.NEWSDESK_MICROSOFT_KEY, settings.NEWSDESK_LIBRETRANSLATE_KEY):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)


class SecretsScrubFilter(logging.Filter):
    """urllib3 logs each request line, query string included, at DEBUG level;
    DeepL's key travels there. Scrub every record of the HTTP loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = secrets_scrub(text=message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


for _name in ("urllib3.connectionpool", "urllib3.connection", "requests"):
    logging.getLogger(_name).addFilter(SecretsScrubFilter())


# --- The deadline-bound requests stand-in ---------------------------------------


@dataclass
class CallRecord:
    deadline: float
    status: int | None = None
    retry_after: float | None = None
    transport_error: str = ""
    url_lengths: list[int] = field(default_factory=list)
    body: bytes = b""  # the last response's body, for providers that report errors inside a 200


_current: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar("translation_call", default=None)


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy/netrc surprises; deep-translator passes proxies explicitly
    return session


# A Session is not safe to share between threads, nor a process's sockets with a forked child.
_sessions: PerThread[requests.Session] = PerThread(_new_session)


def _session() -> requests.Session:
    return _sessions.get()


class _DeadlineRequests:
    """What deep-translator's provider modules see as ``requests``."""

    exceptions = requests.exceptions

    def __getattr__(self, name: str) -> object:
        return getattr(requests, name)

    def get(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: object) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        record = _current.get()
        deadline = record.deadline if record else time.monotonic() + settings.NEWSDESK_TRANSLATION_TIMEOUT
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise requests.exceptions.Timeout("translation deadline passed before the request")
        kwargs.pop("timeout", None)
        kwargs["stream"] = True
        try:
            response = _session().request(method, url, timeout=(min(5.0, remaining), remaining), **kwargs)
        except requests.exceptions.RequestException as exc:
            if record is not None:
                record.transport_error = "timeout" if isinstance(exc, requests.exceptions.Timeout) else "connection"
            raise
        if record is not None:
            record.status = response.status_code
            record.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if response.request is not None and response.request.url:
                record.url_lengths.append(len(response.request.url))
        body = bytearray()
        try:
            for piece in response.raw.stream(_READ_PIECE, decode_content=True):
                body += piece
                if time.monotonic() > deadline:
                    raise requests.exceptions.Timeout("translation deadline passed while reading the response")
                if len(body) > MAX_RESPONSE_BYTES:
                    raise requests.exceptions.ContentDecodingError("translation response too large")
        finally:
            response.close()
        response._content = bytes(body)
        response._content_consumed = True
        if record is not None:
            record.body = response._content
        return response


_SHIM = _DeadlineRequests()
for _module in (_dt_google, _dt_libre, _dt_deepl, _dt_microsoft, _dt_mymemory):
    _module.requests = _SHIM


# --- Providers ------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    name: str
    build: Callable[[str, str], BaseTranslator]
    languages: frozenset[str]
    # Longest chunk, in characters, and (for providers that put the text in the
    # URL) longest percent-encoded chunk.
    max_chars: int
    max_url_bytes: int | None = None
    # Inspects the raw response after deep-translator returned: for providers
    # that answer HTTP 200 with an error (or a quota warning) as the "translation".
    check: Callable[[CallRecord], None] | None = None
    # Several texts in one request, where the protocol takes them (.multitext).
    many: Callable[[BaseTranslator, list[str]], list[str | None]] | None = None

    def chunk_size(self, text: str) -> int:
        """Size of a chunk against this provider's limit (compared with max_chars)."""
        if self.max_url_bytes is None:
            return len(text)
        # Scale the URL-encoded length onto the character limit so one number decides.
        return max(len(text), len(quote(text, safe="")) * self.max_chars // self.max_url_bytes)


def _codes(table: dict[str, str]) -> frozenset[str]:
    return frozenset(code.lower() for code in table.values())


# Our ISO 639-1 codes -> each provider's spelling, where they differ.
_SPELLING = {
    "google": {"zh": "zh-CN", "he": "iw", "nb": "no"},
    "deepl": {"nb": "nb"},
    "microsoft": {"zh": "zh-Hans", "nb": "nb", "tl": "fil", "sr": "sr-Cyrl"},
    "libre": {"nb": "nb", "zh": "zh"},
    "mymemory": {},
}


def _mymemory_spelling() -> dict[str, str]:
    """ISO 639-1 -> MyMemory's locale code, spelled as deep-translator accepts
    it (case matters: "es-ES", never "es-es"). The language's own region wins
    (es-ES, fr-FR, de-DE, pt-PT), else the entry with the plainest name
    ("english" -> en-GB, "chinese simplified" -> zh-CN)."""
    best: dict[str, tuple[tuple[int, int], str]] = {}
    for name, code in MY_MEMORY_LANGUAGES_TO_CODES.items():
        language, _, region = code.partition("-")
        rank = (0 if region.upper() == language.upper() else 1, len(name))
        if language not in best or rank < best[language][0]:
            best[language] = (rank, code)
    spelling = {language: code for language, (_, code) in best.items()}
    spelling["sr"] = "sr-Latn-RS"  # Serbian, not Montenegrin (the shortest name)
    return spelling


_SPELLING["mymemory"] = _mymemory_spelling()


def _google(source: str, target: str) -> BaseTranslator:
    translator = GoogleTranslator(source=source, target=target)
    if settings.NEWSDESK_GOOGLE_TRANSLATE_URL:
        translator._base_url = settings.NEWSDESK_GOOGLE_TRANSLATE_URL
    return translator


def _deepl(source: str, target: str) -> BaseTranslator:
    if not settings.NEWSDESK_DEEPL_KEY:
        raise ProviderError("deepl: no NEWSDESK_DEEPL_KEY", retryable=False, breaker=False, final=True)
    translator = DeeplTranslator(
        source=source, target=target, api_key=settings.NEWSDESK_DEEPL_KEY, use_free_api=settings.NEWSDESK_DEEPL_FREE
    )
    if settings.NEWSDESK_DEEPL_URL:
        translator._base_url = settings.NEWSDESK_DEEPL_URL.rstrip("/") + "/"
    return translator


class _Microsoft(MicrosoftTranslator):
    # deep-translator fetches Microsoft's language list over the network in
    # __init__ (untimed, on every construction); we know our languages.
    def _get_supported_languages(self) -> dict[str, str]:
        return {code: code for code in _MICROSOFT_CODES}


_MICROSOFT_CODES = frozenset(GOOGLE_LANGUAGES_TO_CODES.values()) | {"zh-hans", "zh-hant", "nb", "fil", "sr-cyrl", "he"}


def _microsoft(source: str, target: str) -> BaseTranslator:
    if not settings.NEWSDESK_MICROSOFT_KEY:
        raise ProviderError("microsoft: no NEWSDESK_MICROSOFT_KEY", retryable=False, breaker=False, final=True)
    translator = _Microsoft(
        source=source.lower(),
        target=target,
        api_key=settings.NEWSDESK_MICROSOFT_KEY,
        region=settings.NEWSDESK_MICROSOFT_REGION or None,
    )
    if settings.NEWSDESK_MICROSOFT_URL:
        translator._base_url = settings.NEWSDESK_MICROSOFT_URL
    return translator


def _libre(source: str, target: str) -> BaseTranslator:
    if not settings.NEWSDESK_LIBRETRANSLATE_URL:
        raise ProviderError("libre: no NEWSDESK_LIBRETRANSLATE_URL", retryable=False, breaker=False, final=True)
    # deep-translator refuses an empty key even for servers that need none.
    return LibreTranslator(
        source=source,
        target=target,
        api_key=settings.NEWSDESK_LIBRETRANSLATE_KEY or "-",
        custom_url=settings.NEWSDESK_LIBRETRANSLATE_URL.rstrip("/") + "/",
    )


def _mymemory(source: str, target: str) -> BaseTranslator:
    translator = MyMemoryTranslator(source=source, target=target, email=settings.NEWSDESK_MYMEMORY_EMAIL or None)
    if settings.NEWSDESK_MYMEMORY_URL:
        translator._base_url = settings.NEWSDESK_MYMEMORY_URL
    return translator


_MYMEMORY_WAIT = re.compile(r"NEXT AVAILABLE IN\s+(?:(\d+) HOURS?)?\s*(?:(\d+) MINUTES?)?\s*(?:(\d+) SECONDS?)?")


def _mymemory_check(record: CallRecord) -> None:
    """MyMemory reports quota and input errors inside an HTTP 200, with the
    warning as ``translatedText`` ("MYMEMORY WARNING: YOU USED ALL AVAILABLE
    FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN 10 HOURS ..."), and
    deep-translator returns that text as the translation. Read the envelope."""
    try:
        data = json.loads(record.body or b"{}")
    except ValueError:
        raise ProviderError("mymemory: unusable response (not JSON)", retryable=False) from None
    if not isinstance(data, dict):
        raise ProviderError("mymemory: unusable response (not an object)", retryable=False)
    try:
        status = int(data.get("responseStatus", 200))
    except (TypeError, ValueError):
        status = 0
    reply = data.get("responseData") or {}
    text = str(reply.get("translatedText") or "") if isinstance(reply, dict) else ""
    if data.get("quotaFinished") or status == 429 or text.upper().startswith("MYMEMORY WARNING"):
        wait = _MYMEMORY_WAIT.search(text.upper())
        retry_after = None
        if wait:
            hours, minutes, seconds = (int(g or 0) for g in wait.groups())
            retry_after = float(hours * 3600 + minutes * 60 + seconds) or None
        raise ProviderError("mymemory: daily quota used up", retryable=False, retry_after=retry_after)
    if status != 200:
        details = secrets_scrub(text=str(data.get("responseDetails") or text))[:120]
        raise ProviderError(f"mymemory: refused ({status}: {details})", retryable=False)


REGISTRY: dict[str, Provider] = {
    # Google's endpoint refuses 5,000 characters and more.
    "google": Provider("google", _google, _codes(GOOGLE_LANGUAGES_TO_CODES), max_chars=4999),
    # DeepL and LibreTranslate carry the text in the URL in deep-translator.
    "deepl": Provider(
        "deepl", _deepl, _codes(DEEPL_LANGUAGE_TO_CODE), max_chars=1500, max_url_bytes=6000, many=deepl_many
    ),
    "microsoft": Provider("microsoft", _microsoft, _MICROSOFT_CODES, max_chars=4500, many=microsoft_many),
    "libre": Provider(
        "libre", _libre, _codes(LIBRE_LANGUAGES_TO_CODES), max_chars=1500, max_url_bytes=6000, many=libre_many
    ),
    # MyMemory refuses 500 characters and more; the text is in the URL too.
    "mymemory": Provider(
        "mymemory",
        _mymemory,
        _codes(MY_MEMORY_LANGUAGES_TO_CODES),
        max_chars=499,
        max_url_bytes=4000,
        check=_mymemory_check,
    ),
}


def provider_get(*, name: str) -> Provider:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ProviderError(
            f"unknown translation provider {name!r}", retryable=False, breaker=False, final=True
        ) from None


def provider_language(*, provider: Provider, code: str) -> str:
    """Our ISO code in the provider's spelling, or LanguageUnsupported."""
    spelled = _SPELLING.get(provider.name, {}).get(code, code)
    for candidate in (spelled, code):
        if candidate.lower() in provider.languages:
            return candidate
    raise LanguageUnsupported(f"{provider.name}: language {code!r} not supported")


# --- Calling ----------------------------------------------------------------------


@dataclass
class CallStats:
    """Per-process counters (the translation bench reads them)."""

    calls: int = 0  # requests
    characters: int = 0
    # Wall time of provider calls (ours and the provider's); of the deep-translator
    # call alone (HTTP and parsing); our CPU time inside it (its HTML/JSON parsing).
    seconds: float = 0.0
    provider_seconds: float = 0.0
    provider_cpu_seconds: float = 0.0

    def reset(self) -> None:
        self.calls, self.characters, self.seconds = 0, 0, 0.0
        self.provider_seconds = self.provider_cpu_seconds = 0.0


STATS = CallStats()
_executor: PerProcess[ThreadPoolExecutor] = PerProcess(
    lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="translate")
)


def _pool() -> ThreadPoolExecutor:
    return _executor.get()


def _classify(exc: BaseException, record: CallRecord, name: str) -> ProviderError:
    status = record.status
    what = secrets_scrub(text=f"{type(exc).__name__}: {exc}")[:300]
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, dt_exc.TooManyRequests) or status == 429:
        return ProviderError(f"{name}: 429 too many requests", retryable=False, retry_after=record.retry_after)
    if isinstance(exc, requests.exceptions.Timeout | FutureTimeout) or record.transport_error == "timeout":
        return ProviderError(f"{name}: timed out", retryable=True)
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError) or record.transport_error:
        return ProviderError(f"{name}: connection failed", retryable=True)
    if isinstance(exc, dt_exc.AuthorizationException) or status in (401, 403, 456):
        # 456: DeepL quota exceeded. Neither heals by retrying now.
        return ProviderError(f"{name}: refused (HTTP {status})", retryable=False)
    if status is not None and status >= 500:
        return ProviderError(f"{name}: HTTP {status}", retryable=True)
    if isinstance(exc, dt_exc.LanguageNotSupportedException | dt_exc.InvalidSourceOrTargetLanguage):
        return LanguageUnsupported(f"{name}: {what}")
    if isinstance(exc, dt_exc.NotValidPayload | dt_exc.NotValidLength):
        return ProviderError(f"{name}: input refused ({what})", retryable=False, breaker=False, final=True)
    if status is not None and status >= 400:
        return ProviderError(f"{name}: HTTP {status}", retryable=False)
    # A 200 that is not a translation: captcha/consent page, HTML instead of JSON.
    return ProviderError(f"{name}: unusable response ({type(exc).__name__})", retryable=False)


# Settings a provider object is built from: a cached object is reused only
# while they are unchanged (tests and the admin can change them at run time).
_BUILD_SETTINGS = (
    "NEWSDESK_GOOGLE_TRANSLATE_URL",
    "NEWSDESK_DEEPL_KEY",
    "NEWSDESK_DEEPL_FREE",
    "NEWSDESK_DEEPL_URL",
    "NEWSDESK_MICROSOFT_KEY",
    "NEWSDESK_MICROSOFT_REGION",
    "NEWSDESK_MICROSOFT_URL",
    "NEWSDESK_LIBRETRANSLATE_URL",
    "NEWSDESK_LIBRETRANSLATE_KEY",
    "NEWSDESK_MYMEMORY_EMAIL",
    "NEWSDESK_MYMEMORY_URL",
)


_translators: PerThread[dict] = PerThread(dict)


def _translator(provider: Provider, source: str, target: str) -> BaseTranslator:
    """The deep-translator object for (provider, source, target), built once per
    pool thread: building one validates languages and copies tables, and an
    object is not safe to share between threads (``translate`` writes the text
    into the object's URL parameters before sending them)."""
    cache = _translators.get()
    key = (provider.name, source, target, tuple(getattr(settings, name, None) for name in _BUILD_SETTINGS))
    translator = cache.get(key)
    if translator is None:
        if len(cache) > 256:
            cache.clear()
        translator = cache[key] = provider.build(source, target)
    return translator


def provider_call(*, provider: Provider, text: str, source: str, target: str, deadline: float) -> str | None:
    """One request under a hard deadline: the provider's text (maybe None or empty), or ProviderError."""
    return provider_call_many(provider=provider, texts=[text], source=source, target=target, deadline=deadline)[0]


def provider_call_many(
    *, provider: Provider, texts: list[str], source: str, target: str, deadline: float
) -> list[str | None]:
    """Several texts in one request where the protocol takes them (``provider.many``): one answer per text."""
    record = CallRecord(deadline=deadline)
    src = provider_language(provider=provider, code=source)
    tgt = provider_language(provider=provider, code=target)

    def run() -> list[str | None]:
        _current.set(record)
        translator = _translator(provider, src, tgt)
        started_inner, cpu_inner = time.perf_counter(), time.thread_time()
        try:
            if len(texts) == 1:
                result = [translator.translate(texts[0])]
            else:
                result = provider.many(translator, texts)  # type: ignore[misc]
                if len(result) != len(texts):
                    raise ValueError(f"{len(result)} translations for {len(texts)} texts")
            if provider.check is not None:
                provider.check(record)
            return result
        finally:
            STATS.provider_seconds += time.perf_counter() - started_inner
            STATS.provider_cpu_seconds += time.thread_time() - cpu_inner

    started = time.perf_counter()
    context = contextvars.copy_context()
    future = _pool().submit(context.run, run)
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic()))
    except Exception as exc:  # deep-translator raises many unrelated types
        if isinstance(exc, FutureTimeout):
            future.cancel()
        error = _classify(exc, record, provider.name)
        error.status = record.status
        raise error from None
    finally:
        STATS.calls += 1
        STATS.characters += sum(map(len, texts))
        STATS.seconds += time.perf_counter() - started
