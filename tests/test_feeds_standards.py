"""Every feed validated against its standard, not just parsed.

- Atom against RFC 4287's RELAX NG schema (Appendix B, tests/support/schemas/atom-rfc4287.rng),
  plus the two rules the RFC states as Schematron annotations;
- RSS 2.0's required channel and item elements, and RFC 822 dates;
- JSON Feed 1.1's required keys and types (tests/support/schemas/jsonfeed-1.1.schema.json).

The feeds are made of articles in every state a feed can show (translated, English, failed,
held over, a drop with no URL, story members, hostile text), on the dashboard, a filtered view,
a story and a saved view's token feed.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from newsdesk.accounts import desks, tokens
from newsdesk.models import Article, TranslationStatus
from tests.support.accounts import make_editor
from tests.support.articles import make_article, make_source, make_story

pytestmark = pytest.mark.django_db
SCHEMAS = Path(__file__).parent / "support" / "schemas"
ATOM_NS = "http://www.w3.org/2005/Atom"
NS = {"atom": ATOM_NS}
# RFC 822 section 5 (with RFC 1123's four-digit year, which RSS 2.0 recommends).
RFC822 = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}(?::\d{2})? (?:UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|[A-IK-Z]|[+-]\d{4})$"
)


@pytest.fixture(scope="module")
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMAS / "atom-rfc4287.rng")))


@pytest.fixture(scope="module")
def json_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / "jsonfeed-1.1.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _xml(content: bytes):
    return etree.fromstring(content, etree.XMLParser(resolve_entities=False, no_network=True))


@pytest.fixture
def feeds(settings) -> dict[str, list[str]]:
    """Feed URLs by format, over articles in every state a feed shows."""
    settings.NEWSDESK_FEED_HOLD_SECONDS = 600
    br = make_source(name="Folha & <Filhos>", country="BR", language="pt")
    mx = make_source(name="El Financiero", country="MX", language="es")
    story = make_story(sources=2, headline="Lithium deal")
    untranslated = {"title_en": "", "summary_en": "", "title_orig": "Título em português"}
    make_article(source=mx, story=story, minutes_ago=1, category="Economía")
    make_article(source=br, story=story, url="", minutes_ago=2)  # a drop: links to its own page
    make_article(source=br, status=TranslationStatus.FAILED, minutes_ago=3, **untranslated)
    held = make_article(source=br, status=TranslationStatus.PENDING, minutes_ago=4, **untranslated)
    moment = timezone.now() - timedelta(seconds=700)
    Article.objects.filter(pk=held.pk).update(fetched_at=moment, updated_at=moment)
    make_article(
        source=make_source(country="GB", language="en"), status=TranslationStatus.NOT_NEEDED, minutes_ago=5,
        title_en="Quotes \" ' ]]> & <tags> \x0b control", summary_en="",
    )  # fmt: skip
    view = desks.saved_view_create(owner=make_editor(), name="Brazil — lithium", query="country=BR")
    _, token = tokens.feed_token_rotate(owner=view.owner, pk=view.pk)
    views = ["", "?country=BR", "?lang=es&sort=covered", "?q=minerals"]
    return {
        fmt: [reverse(f"feed-{fmt}") + q for q in views]
        + [reverse(f"desk-feed-{fmt}", kwargs={"token": token})]
        + ([reverse("story-rss", args=[story.id])] if fmt == "rss" else [])
        for fmt in ("rss", "atom", "json")
    }


def test_atom_feeds_are_valid_rfc4287(client, feeds, atom_schema):
    for url in feeds["atom"]:
        doc = _xml(client.get(url).content)
        assert atom_schema.validate(doc), f"{url}: {atom_schema.error_log}"
        # RFC 4287's Schematron rules, which RELAX NG does not check:
        # an atom:author in the feed or in every entry...
        entries = doc.findall("atom:entry", NS)
        if doc.find("atom:author", NS) is None:
            assert all(e.find("atom:author", NS) is not None for e in entries), url
        # ...and at most one alternate link per type and hreflang, in the feed and in each entry.
        for element in (doc, *entries):
            alternates = [
                (link.get("type"), link.get("hreflang"))
                for link in element.findall("atom:link", NS)
                if link.get("rel", "alternate") == "alternate"
            ]
            assert len(alternates) == len(set(alternates)), url
        assert entries, url


def test_the_atom_schema_rejects_what_rfc4287_forbids(client, feeds, atom_schema):
    """The schema bites: an entry without an id, or with a date that is not RFC 3339, is invalid."""
    doc = _xml(client.get(feeds["atom"][0]).content)
    assert atom_schema.validate(doc)
    entry = doc.find("atom:entry", NS)
    entry_id = entry.find("atom:id", NS)
    entry.remove(entry_id)
    assert not atom_schema.validate(doc)
    entry.append(entry_id)
    entry.find("atom:updated", NS).text = "Mon, 09 Feb 2026 11:00:00 +0000"
    assert not atom_schema.validate(doc)


def test_rss_feeds_have_rss2_required_elements_and_rfc822_dates(client, feeds):
    for url in feeds["rss"]:
        response = client.get(url)
        doc = _xml(response.content)
        assert doc.tag == "rss" and doc.get("version") == "2.0", url
        (channel,) = doc.findall("channel")
        for required in ("title", "link", "description"):
            assert (channel.findtext(required) or "").strip(), f"{url}: channel/{required}"
        assert urlsplit(channel.findtext("link")).scheme in ("http", "https")
        dates = [channel.findtext("lastBuildDate")]
        items = channel.findall("item")
        assert items, url
        for item in items:
            # RSS 2.0: "at least one of title or description must be present".
            assert (item.findtext("title") or item.findtext("description") or "").strip(), url
            assert urlsplit(item.findtext("link")).scheme in ("http", "https"), url
            assert item.findtext("guid"), url
            dates.append(item.findtext("pubDate"))
        for value in dates:
            assert value and RFC822.match(value), f"{url}: {value!r} is not an RFC 822 date"
            assert parsedate_to_datetime(value).tzinfo is not None
        self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
        assert self_link is not None and urlsplit(self_link.get("href")).path == urlsplit(url).path


def test_rss_date_check_rejects_what_rfc822_does_not_allow():
    for bad in ("2026-02-09T11:00:00Z", "Mon, 09 Feb 26 11:00:00 +0000", "Monday, 09 Feb 2026 11:00:00 +0000"):
        assert not RFC822.match(bad)
    assert RFC822.match("Mon, 09 Feb 2026 11:00:00 +0000")


def test_json_feeds_are_valid_json_feed_1_1(client, feeds, json_validator):
    for url in feeds["json"]:
        data = json.loads(client.get(url).content)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in json_validator.iter_errors(data)]
        assert not errors, f"{url}: {errors}"
        assert data["items"], url


def test_the_json_schema_rejects_what_json_feed_requires(client, feeds, json_validator):
    data = json.loads(client.get(feeds["json"][0]).content)
    assert json_validator.is_valid(data)
    for broken in (
        {k: v for k, v in data.items() if k != "version"},
        {**data, "items": [{k: v for k, v in data["items"][0].items() if k != "id"}]},
        {**data, "items": [{**data["items"][0], "date_published": "Mon, 09 Feb 2026 11:00:00 +0000"}]},
    ):
        assert not json_validator.is_valid(broken)
