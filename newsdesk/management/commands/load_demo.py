"""Load demo sources: a few real outlets' feeds and a file-drop inbox with demo items.

Safe to run repeatedly: existing sources are left as they are, and demo
files are written to the inbox only when it has never been filled.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

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

# Written for the demo: a card in the dashboard's own format, a JSON item and a plain text note.
DEMO_FILES = {
    "001-card.txt": """Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)

Mexico and Canada join talks on a critical minerals framework

Delegations from Mexico and Canada said on Monday they would take part in talks on a shared framework for critical minerals supply chains.

Officials described the meeting as a first step toward common rules for lithium and rare earth projects.

📡 Similar Coverage
""",
    "002-wire.json": """{"title": "Chile reports record lithium exports for January",
 "summary": "Chile's lithium exports reached a record in January as new contracts with battery makers took effect, the central bank said.",
 "url": "https://example.org/demo/chile-lithium", "published": "2026-02-09T09:30:00Z",
 "language": "en", "country": "CL", "source": "Demo Wire"}
""",
    "003-nota.txt": """Argentina analiza nuevas reglas para la minería de litio
El gobierno argentino estudia un marco regulatorio para atraer inversiones en minerales críticos, según fuentes oficiales.
""",
}


class Command(BaseCommand):
    help = "Create demo feed sources and a file-drop inbox with demo items."

    def handle(self, *args, **options) -> None:
        for name, url, site, country, language in DEMO_FEEDS:
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
            for filename, text in DEMO_FILES.items():
                # Written beside the inbox's files under a skipped name, then renamed
                # in: a scanner never sees a half-written demo file.
                partial = inbox / f".{filename}.tmp"
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, inbox / filename)
            marker.write_text("demo files were written here once\n", encoding="utf-8")
            self.stdout.write(f"wrote {len(DEMO_FILES)} demo files to {inbox}")
