"""The first run's demo, taken through the real pipeline in-process (for tests of what a new user sees)."""

from __future__ import annotations

import io
import socket

from django.core.management import call_command

from newsdesk.drops.scan import drop_source_scan
from newsdesk.enrich.redisstate import redis_state_clear
from newsdesk.flow import articles_finish
from newsdesk.models import Article, Source, SourceKind
from tests.support.translator import fast_settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_through_pipeline(*, settings, drop_root) -> str:
    """load_demo without the internet feeds, then the drop scan and enrichment as the worker runs them.

    Translation points at a closed loopback port: offline, as on a machine
    without internet. Returns load_demo's output.
    """
    fast_settings(settings)  # no backoff sleeps between refused calls
    settings.NEWSDESK_DROP_ROOT = drop_root
    settings.NEWSDESK_DEMO_FEEDS = False
    settings.NEWSDESK_DROP_SETTLE_SECONDS = 0
    settings.NEWSDESK_TRANSLATORS = ["google"]
    settings.NEWSDESK_GOOGLE_TRANSLATE_URL = f"http://127.0.0.1:{_closed_port()}/translate"
    redis_state_clear()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    inbox = Source.objects.get(kind=SourceKind.DROP)
    drop_source_scan(source=inbox, settle_seconds=0)
    articles_finish(article_ids=sorted(Article.objects.values_list("id", flat=True)))
    return out.getvalue()
