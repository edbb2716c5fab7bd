from __future__ import annotations

import pytest

from tests.support.http import LoopbackServer
from tests.support.translator import FakeTranslator


@pytest.fixture
def feed_server():
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def translator(settings):
    """A loopback Google-protocol translator, wired into settings."""
    with FakeTranslator() as server:
        settings.NEWSDESK_TRANSLATORS = ["google"]
        settings.NEWSDESK_GOOGLE_TRANSLATE_URL = server.url("/m")
        yield server


@pytest.fixture(autouse=True)
def _allow_loopback_fetch(settings):
    # Test feed servers live on loopback, which the SSRF guard refuses by default.
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
