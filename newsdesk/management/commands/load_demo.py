"""Load demo sources: a file-drop inbox with a morning's news, and a few real outlets' feeds.

The inbox's files (newsdesk/management/demo_content.py) go through the real
drop pipeline, so a first run offline already shows outlets in several
languages and countries, Similar Coverage across languages, and each
card's honest translation state. With internet, the real feeds add to it;
``NEWSDESK_DEMO_FEEDS=false`` leaves them out.

Safe to run repeatedly: existing sources are left as they are, and demo
files are written to the inbox only when it has never been filled.
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from newsdesk.management.demo_content import demo_files
from newsdesk.models import Source, SourceKind

DEMO_FEEDS = [
    # name, feed URL, site, country, language
    (
        "El Financiero",
        "https://www.elfinanciero.com.mx/arc/outboundfeeds/rss/?outputType=xml",
        "https://www.elfinanciero.com.mx/",
        "MX",
        "es",
    ),
    ("El País", "https://feeds.elpais.com/mrss-s/pages/ep/site/elpais.com/portada", "https://elpais.com/", "ES", "es"),
    ("BBC News — World", "https://feeds.bbci.co.uk/news/world/rss.xml", "https://www.bbc.com/news", "GB", "en"),
    ("Le Monde", "https://www.lemonde.fr/rss/une.xml", "https://www.lemonde.fr/", "FR", "fr"),
    (
        "Folha de S.Paulo",
        "https://feeds.folha.uol.com.br/mundo/rss091.xml",
        "https://www.folha.uol.com.br/",
        "BR",
        "pt",
    ),
]

DEMO_INBOX = "demo"


class Command(BaseCommand):
    help = "Create demo feed sources and a file-drop inbox with demo items."

    def handle(self, *args, **options) -> None:
        feeds = DEMO_FEEDS if settings.NEWSDESK_DEMO_FEEDS else []
        for name, url, site, country, language in feeds:
            _, created = Source.objects.get_or_create(
                url=url,
                kind=SourceKind.FEED,
                defaults={"name": name, "site_url": site, "country": country, "language": language},
            )
            self.stdout.write(f"{'created' if created else 'exists '} feed  {name}")
        drop, created = Source.objects.get_or_create(
            kind=SourceKind.DROP, inbox=DEMO_INBOX, defaults={"name": "Demo inbox", "language": ""}
        )
        self.stdout.write(f"{'created' if created else 'exists '} drop  {drop.name}")
        inbox = Path(settings.NEWSDESK_DROP_ROOT) / DEMO_INBOX
        marker = inbox / ".demo-loaded"
        inbox.mkdir(parents=True, exist_ok=True)
        if not marker.exists():
            files = demo_files(now=timezone.now().astimezone(UTC))
            for filename, text in files.items():
                # Written beside the inbox's files under a skipped name, then renamed
                # in: a scanner never sees a half-written demo file.
                partial = inbox / f".{filename}.tmp"
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, inbox / filename)
            marker.write_text("demo files were written here once\n", encoding="utf-8")
            self.stdout.write(f"wrote {len(files)} demo files to {inbox}")
