"""A loopback translation provider speaking the real wire protocols.

* Google's mobile web endpoint as deep-translator calls it:
  ``GET /m?tl=en&sl=es&q=TEXT`` answering an HTML page whose
  ``<div class="result-container">`` holds the translation.
* LibreTranslate's ``POST /translate`` (parameters in the query string, as
  deep-translator sends them) answering ``{"translatedText": ...}``.
* DeepL's ``GET /v2/translate?auth_key=..&text=..`` answering
  ``{"translations": [{"text": ...}]}``.

Translations come from a small phrase book; unknown text is returned as
``EN: <text>`` so tests can tell translated text from the original.

Fault modes (``server.mode``), the same for every protocol:
``ok``; ``down`` (HTTP 500); ``429`` (with ``Retry-After: server.retry_after``);
``captcha`` (HTTP 200 with an HTML page and no translation); ``slow`` (answers
after ``server.delay`` seconds); ``none`` (a null/empty translation);
``forbidden`` (HTTP 403). ``refused_url()`` gives a loopback URL where nothing listens.
"""

from __future__ import annotations

import html
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from .http import LoopbackServer, Request, Response

PHRASES = {
    "Los minerales críticos no deben negociarse por separado": "Critical minerals should not be negotiated separately",
    "El gobierno de Estados Unidos destaca la importancia de los minerales críticos.": "The United States government highlights the importance of critical minerals.",
}

CAPTCHA_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sorry...</title></head><body>"
    b"<div id='captcha-form'>Our systems have detected unusual traffic from your computer network.</div>"
    b"</body></html>"
)


def fake_translate(text: str) -> str:
    return PHRASES.get(text.strip(), f"EN: {text.strip()}")


def refused_url(path: str = "/") -> str:
    """A loopback URL on a port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


class FakeTranslator(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.retry_after = "2"
        self.delay = 5.0
        self.calls = 0
        self.texts: list[str] = []
        # Texts the provider refuses: a request carrying one of them fails whole (HTTP 400).
        self.refused: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        # One send per response (headers and body together) and no Nagle delay:
        # otherwise keep-alive requests stall on delayed ACKs (~40 ms each).
        self.httpd.RequestHandlerClass.wbufsize = -1
        self.httpd.RequestHandlerClass.disable_nagle_algorithm = True
        self.route("/m", self._google)
        self.route("/translate", self._libre)
        self.route("/v2/translate", self._deepl)
        self.route("/microsoft/translate", self._microsoft)
        self.route("/mymemory/get", self._mymemory)
        self.route("/_stats", self._stats)
        self.microsoft_key = "loopback-microsoft-key"

    def _stats(self, _request: Request) -> Response:
        with self._count_lock:
            body = {"calls": self.calls, "characters": sum(len(t) for t in self.texts)}
        return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    def _enter(self, *texts: str) -> Response | None:
        """Count one request (of one or several texts); the fault the mode asks for, if any."""
        with self._count_lock:
            self.calls += 1
            self.texts.extend(texts)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.refused.intersection(texts):
                return Response(400, b'{"message": "Bad request"}', {"Content-Type": "application/json"})
            mode = self.mode
            if mode == "slow":
                time.sleep(self.delay)
            if mode == "down":
                return Response(500, b"internal error", {"Content-Type": "text/plain"})
            if mode == "429":
                return Response(429, b"rate limited", {"Content-Type": "text/plain", "Retry-After": self.retry_after})
            if mode == "forbidden":
                return Response(403, b'{"message": "Forbidden"}', {"Content-Type": "application/json"})
            if mode == "captcha":
                return Response(200, CAPTCHA_PAGE, {"Content-Type": "text/html; charset=utf-8"})
            return None
        finally:
            with self._count_lock:
                self.in_flight -= 1

    def _google(self, request: Request) -> Response:
        text = request.query.get("q", [""])[0]
        fault = self._enter(text)
        if fault is not None:
            return fault
        translated = "" if self.mode == "none" else fake_translate(text)
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
            f'<div class="result-container">{html.escape(translated)}</div></body></html>'
        )
        return Response(200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})

    def _libre(self, request: Request) -> Response:
        """``q`` in the query or the JSON body; an array of texts is answered with an array."""
        text = request.query.get("q", [""])[0]
        if not text and request.body:
            text = json.loads(request.body).get("q", "")
        texts = text if isinstance(text, list) else [text]
        fault = self._enter(*texts)
        if fault is not None:
            return fault
        translated = [None if self.mode == "none" else fake_translate(t) for t in texts]
        body = json.dumps({"translatedText": translated if isinstance(text, list) else translated[0]}).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    def _deepl(self, request: Request) -> Response:
        """One ``text`` parameter per text, one translation each, in order."""
        texts = request.query.get("text", [""])
        fault = self._enter(*texts)
        if fault is not None:
            return fault
        items = [{"detected_source_language": "ES", "text": fake_translate(t)} for t in texts]
        return Response(200, json.dumps({"translations": items}).encode(), {"Content-Type": "application/json"})

    def _microsoft(self, request: Request) -> Response:
        """Azure Translator v3: POST ?api-version=3.0&from=es&to=en, JSON [{"text": ...}]."""
        if request.headers.get("ocp-apim-subscription-key") != self.microsoft_key:
            body = {
                "error": {
                    "code": 401000,
                    "message": "The request is not authorized because credentials are missing or invalid.",
                }
            }
            return Response(401, json.dumps(body).encode(), {"Content-Type": "application/json"})
        if request.query.get("api-version") != ["3.0"] or not request.query.get("to"):
            body = {"error": {"code": 400000, "message": "One of the request inputs is not valid."}}
            return Response(400, json.dumps(body).encode(), {"Content-Type": "application/json"})
        texts = [item["text"] for item in json.loads(request.body or b"[]")] or [""]
        fault = self._enter(*texts)
        if fault is not None:
            return fault
        body = [{"translations": [{"text": fake_translate(t), "to": request.query["to"][0]}]} for t in texts]
        return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8"})

    def _mymemory(self, request: Request) -> Response:
        """MyMemory: GET /get?q=...&langpair=es-ES|en-GB; errors ride inside an HTTP 200."""
        text = request.query.get("q", [""])[0]
        pair = request.query.get("langpair", [""])[0]
        if "|" not in pair:
            body = {
                "responseData": {"translatedText": "INVALID LANGUAGE PAIR SPECIFIED. EXAMPLE: LANGPAIR=EN|IT"},
                "responseDetails": "INVALID LANGUAGE PAIR SPECIFIED",
                "responseStatus": "403",
            }
            return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        fault = self._enter(text)
        if fault is not None:
            return fault
        if self.mode == "quota":
            warning = (
                "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN  "
                "2 HOURS 05 MINUTES 09 SECONDS VISIT HTTPS://MYMEMORY.TRANSLATED.NET/DOC/USAGELIMITS.PHP TO TRANSLATE MORE"
            )
            body = {
                "responseData": {"translatedText": warning, "match": 0},
                "quotaFinished": True,
                "responseStatus": 429,
            }
            return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        translated = fake_translate(text)
        body = {
            "responseData": {"translatedText": translated, "match": 0.85},
            "quotaFinished": False,
            "responseDetails": "",
            "responseStatus": 200,
            "matches": [{"id": "1", "segment": text, "translation": translated, "quality": "74"}],
        }
        return Response(200, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8"})


# Small deadlines and backoffs so fault tests stay quick (names and values).
FAST_SETTINGS = {
    "NEWSDESK_TRANSLATION_TIMEOUT": 1.0,
    "NEWSDESK_TRANSLATION_RETRIES": 1,
    "NEWSDESK_TRANSLATION_BACKOFF": 0.01,
    # A lock whose holder died or whose row was deleted frees in about 1.5 s, not 10.
    "NEWSDESK_TRANSLATION_LOCK_MARGIN": 0.3,
    "NEWSDESK_TRANSLATION_DONE_GRACE": 0.2,
    "NEWSDESK_TRANSLATION_BREAKER_FAILURES": 3,
    "NEWSDESK_TRANSLATION_BREAKER_COOLDOWN": 1.0,
    "NEWSDESK_TRANSLATION_RATES": "",
    "NEWSDESK_TRANSLATION_DAILY_CHARS": "",
}


# How each provider is pointed at a FakeTranslator (keys are the fake's own).
_PROVIDER_SETTINGS = {
    "google": lambda server: {"NEWSDESK_GOOGLE_TRANSLATE_URL": server.url("/m")},
    "libre": lambda server: {"NEWSDESK_LIBRETRANSLATE_URL": server.url("/")},
    "microsoft": lambda server: {
        "NEWSDESK_MICROSOFT_KEY": server.microsoft_key,
        "NEWSDESK_MICROSOFT_URL": server.url("/microsoft/translate?api-version=3.0"),
    },
    "mymemory": lambda server: {"NEWSDESK_MYMEMORY_URL": server.url("/mymemory/get")},
    "deepl": lambda server: {"NEWSDESK_DEEPL_URL": server.url("/v2/")},
}


@contextmanager
def provider_served(settings, name: str, **extra: object) -> Iterator[FakeTranslator]:
    """A FakeTranslator speaking provider ``name``'s protocol, the only provider in settings."""
    with FakeTranslator() as server:
        settings.NEWSDESK_TRANSLATORS = [name]
        for key, value in {**_PROVIDER_SETTINGS[name](server), **extra}.items():
            setattr(settings, key, value)
        yield server


def provider_fixture(name: str):
    """A pytest fixture, named ``name``, serving that provider (see ``provider_served``)."""
    import pytest

    @pytest.fixture(name=name)
    def served(settings):
        with provider_served(settings, name) as server:
            yield server

    return served


def fast_settings(settings) -> None:
    """Apply FAST_SETTINGS to pytest-django's ``settings`` fixture."""
    for name, value in FAST_SETTINGS.items():
        setattr(settings, name, value)


def worker_env(**overrides: object) -> dict[str, str]:
    """FAST_SETTINGS (plus overrides) as environment for a real Celery worker."""
    values = {**FAST_SETTINGS, **overrides}
    return {name: str(value) for name, value in values.items()}


def serve_forever() -> None:
    """Run a FakeTranslator in this process until stdin closes; print its base URL.
    (Benches run the provider in its own process so it does not share their GIL.)"""
    import sys

    with FakeTranslator() as server:
        print(server.url(""), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    serve_forever()
