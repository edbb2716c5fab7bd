"""The card that started the project: dropped in, enriched, shown as it was written."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from lxml import html

from newsdesk.flow import article_finish as article_enrich
from newsdesk.models import Article, TranslationStatus

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "000_dfb12736f0fd9d45.txt"


@pytest.mark.django_db
def test_seed_card_round_trips_to_the_same_dashboard_card(tmp_path, client, translator):
    """Ingest the seed card, enrich it, and the dashboard card reads like the seed:
    "Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)", the English headline, no
    translation call (its text is already English) and no translation badge."""
    if not SEED.exists():
        pytest.skip(f"seed card not found at {SEED} (../shared is absent)")
    inbox = tmp_path / "in"
    inbox.mkdir()
    shutil.copy(SEED, inbox / SEED.name)
    call_command("ingest", str(inbox), "--no-enrich", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    article = Article.objects.get()
    article_enrich(article_id=article.id)
    article.refresh_from_db()

    assert article.language_declared == "es"
    assert article.language_detected == "en", "the card's text is English"
    assert article.translation_status == TranslationStatus.NOT_NEEDED
    assert translator.calls == 0, "English text is never sent to a provider"
    assert article.original_language == "es"

    card = html.fromstring(client.get("/").content).xpath("//article")[0]
    text = " ".join(card.text_content().split())
    assert text.startswith("Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)")
    assert "Critical minerals should not be negotiated separately" in text
    assert "Translation" not in text.split("Critical minerals")[0], "no pending/failed badge"
