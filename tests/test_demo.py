"""The first run's demo (load_demo): through the real drop pipeline, offline, as a new user sees it."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from lxml import html

from newsdesk.coverage.semantic import backend_name, semantic_enabled
from newsdesk.enrich.redisstate import redis_state_clear
from newsdesk.management.demo_content import BANXICO, COPOM, QUAKE, demo_files
from newsdesk.models import Article, TranslationStatus
from tests.support.demo import demo_through_pipeline


@pytest.fixture
def demo(settings, tmp_path, db):
    yield demo_through_pipeline(settings=settings, drop_root=tmp_path)
    redis_state_clear()


def test_demo_files_are_valid_and_dated_relative_to_now():
    from datetime import UTC, datetime

    files = demo_files(now=datetime(2026, 12, 6, 12, 0, tzinfo=UTC))
    assert len(files) == 9
    for name, text in files.items():
        if name.endswith(".json"):
            json.loads(text)
        elif name.endswith(".ndjson"):
            [json.loads(line) for line in text.splitlines()]
    assert files["001-el-financiero.txt"].startswith("Dec 6 • 11:30 UTC 🇲🇽 Mexico El Financiero (ES)")


def test_demo_fills_the_desk_with_outlets_languages_and_countries(demo, client):
    articles = list(Article.objects.select_related("source"))
    assert len(articles) == 10, "every demo item stored once"
    assert len({a.source.name for a in articles}) == 9
    assert {a.original_language for a in articles} == {"es", "en", "pt", "fr", "de"}
    assert len({a.country for a in articles}) == 7
    assert all(a.source.parent_id for a in articles), "outlets created by the drop, under the demo inbox"
    # Offline: nothing is translated, and every card says why.
    pending = [a for a in articles if a.original_language != "en" and a.language != "en"]
    assert pending and all(a.translation_status == TranslationStatus.PENDING for a in pending)
    doc = html.fromstring(client.get("/").content.decode())
    notes = doc.xpath("//p[@class='translation-note']")
    assert len(notes) == len(pending)
    assert all(n.text.startswith("Not translated yet: google") for n in notes)
    seed = next(a for a in articles if a.source.name == "El Financiero")
    assert seed.original_language == "es" and seed.translation_status == TranslationStatus.NOT_NEEDED


def _stories() -> dict[str, set[int | None]]:
    by_title = {a.title_orig: a.story_id for a in Article.objects.all()}
    return by_title


def test_two_same_kind_events_stay_apart(demo):
    """Mexico's rate cut and Brazil's rate hold are two stories, whatever the matcher."""
    stories = _stories()
    banxico = {stories[i.title] for i in BANXICO}
    copom = {stories[i.title] for i in COPOM}
    assert not (banxico & copom), "two central-bank decisions grouped as one story"


def test_the_quake_groups_across_spanish_english_and_portuguese(demo, client):
    stories = _stories()
    quake = {stories[i.title] for i in QUAKE}
    if len(quake) != 1 and not semantic_enabled():
        pytest.skip(
            "the default install has no multilingual semantic backend here (make semantic-multilingual), "
            f"({backend_name()}), and the lexical matcher alone left the untranslated quake reports in {len(quake)} stories"
        )
    assert len(quake) == 1 and None not in quake, "one story across es, en and pt"
    story_id = quake.pop()
    page = html.fromstring(client.get(f"/stories/{story_id}/").content.decode())
    langs = {s.text for s in page.xpath("//li[contains(@class,'member')]//span[@class='lang']")}
    assert langs == {"(ES)", "(EN)", "(PT)"}
    members = defaultdict(list)
    for a in Article.objects.filter(story_id=story_id):
        members[a.original_language].append(a.source.name)
    assert dict(members) == {"es": ["La Voz del Norte"], "en": ["Pacific Wire"], "pt": ["Jornal do Sul"]}
