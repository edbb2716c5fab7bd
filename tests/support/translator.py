"""A loopback translation provider speaking the real wire protocols.

* Google's mobile web endpoint as deep-translator calls it:
  ``GET /m?tl=en&sl=es&q=TEXT`` answering an HTML page whose
  ``<div class="result-container">`` holds the translation.
* LibreTranslate's ``POST /translate`` JSON API.

Translations come from a small phrase book; unknown text is returned as
``EN: <text>`` so tests can tell translated text from the original.
"""

from __future__ import annotations

import html
import json

from .http import LoopbackServer, Request, Response

PHRASES = {
    "Los minerales críticos no deben negociarse por separado": "Critical minerals should not be negotiated separately",
    "El gobierno de Estados Unidos destaca la importancia de los minerales críticos.": "The United States government highlights the importance of critical minerals.",
}


def fake_translate(text: str) -> str:
    return PHRASES.get(text.strip(), f"EN: {text.strip()}")


class FakeTranslator(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"  # or "down" (500)
        self.calls = 0
        self.route("/m", self._google)
        self.route("/translate", self._libre)

    def _google(self, request: Request) -> Response:
        self.calls += 1
        if self.mode != "ok":
            return Response(500, b"error")
        text = request.query.get("q", [""])[0]
        page = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
            f'<div class="result-container">{html.escape(fake_translate(text))}</div></body></html>'
        )
        return Response(200, page.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})

    def _libre(self, request: Request) -> Response:
        self.calls += 1
        if self.mode != "ok":
            return Response(500, b'{"error": "down"}', {"Content-Type": "application/json"})
        payload = json.loads(request.body or b"{}")
        body = json.dumps({"translatedText": fake_translate(payload.get("q", ""))}).encode()
        return Response(200, body, {"Content-Type": "application/json"})
