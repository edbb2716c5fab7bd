"""Admin that reads as Newsdesk's: forms by kind, read-only internals, a readable article page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from lxml import html

from newsdesk.models import Article, ProviderUsage, Source, SourceKind, Translation, TranslationStatus
from tests.support.articles import make_article, make_source, make_story

pytestmark = pytest.mark.django_db
ADD = "/admin/newsdesk/source/add/"


@pytest.fixture
def boss() -> Client:
    user = get_user_model().objects.create_superuser("boss", "boss@example.org", "a-long-password-123")
    client = Client()
    client.force_login(user)
    return client


def _form_fields(page) -> set[str]:
    doc = html.fromstring(page.content)
    return {el.get("name") for el in doc.xpath("//form[@id='source_form']//*[@name]")} - {
        "csrfmiddlewaretoken",
        "_save",
        "_addanother",
        "_continue",
    }


def test_site_header_is_newsdesk(boss):
    doc = html.fromstring(boss.get("/admin/").content)
    assert doc.xpath("string(//*[@id='site-name'])").strip() == "Newsdesk admin"
    assert "Django administration" not in boss.get("/admin/").content.decode()


def test_add_feed_form_shows_only_what_an_admin_chooses(boss):
    page = boss.get(ADD + "?kind=feed")
    assert _form_fields(page) == {"name", "country", "language", "category", "enabled", "url", "site_url"}
    assert "Add a feed" in page.content.decode()


def test_add_drop_inbox_form_and_save(boss):
    page = boss.get(ADD + "?kind=drop")
    assert _form_fields(page) == {"name", "country", "language", "category", "enabled", "inbox"}
    token = page.cookies.get("csrftoken")
    response = boss.post(ADD + "?kind=drop", {"name": "Wire inbox", "inbox": "wire", "enabled": "on"}, follow=True)
    assert response.redirect_chain, response.content.decode()[:2000]
    notes = [str(m) for m in response.context["messages"]]
    assert any(n.startswith("Drop files into ") and "/wire/" in n for n in notes), notes
    source = Source.objects.get(name="Wire inbox")
    assert source.kind == SourceKind.DROP and source.inbox == "wire" and source.url == ""
    assert token is None or token  # the form came with its CSRF cookie


def test_change_form_keeps_internals_read_only_and_folded(boss):
    source = make_source(name="El Financiero", etag='"abc"', error_count=0)
    page = boss.get(f"/admin/newsdesk/source/{source.id}/change/")
    fields = _form_fields(page)
    for internal in ("next_poll_at", "poll_interval", "etag", "content_hash", "state", "kind"):
        assert internal not in fields and f"{internal}_0" not in fields
    doc = html.fromstring(page.content)
    folded = [" ".join(f.xpath("string(.//h2)").split()) for f in doc.xpath("//fieldset[contains(@class,'collapse')]")]
    assert any("Polling (adaptive; read-only)" in t for t in folded)
    assert any("HTTP caching (read-only)" in t for t in folded)
    assert '"abc"' in doc.text_content()  # shown, not editable


def test_ssrf_refusal_is_one_error_that_says_how_to_allow(boss, settings):
    settings.NEWSDESK_FETCH_ALLOWED_NETWORKS = []
    response = boss.post(ADD + "?kind=feed", {"name": "Intranet", "url": "http://127.0.0.1:9/feed.xml"})
    assert response.status_code == 200
    doc = html.fromstring(response.content)
    errors = [" ".join(li.text_content().split()) for li in doc.xpath("//ul[contains(@class,'errorlist')]/li")]
    assert len(errors) == 1, errors
    assert errors[0].startswith("Refused: ") and "NEWSDESK_FETCH_ALLOWED_NETWORKS" in errors[0]
    assert "needs a URL" not in response.content.decode()
    assert doc.xpath("//input[@name='url']")[0].get("value") == "http://127.0.0.1:9/feed.xml"
    assert not Source.objects.filter(name="Intranet").exists()


def test_changelist_separates_feeds_drop_inboxes_and_drop_outlets(boss):
    inbox = Source.objects.create(name="Demo inbox", kind=SourceKind.DROP, inbox="demo")
    Source.objects.create(name="Demo Wire", url="", parent=inbox)
    make_source(name="BBC", country="GB", language="en")
    doc = html.fromstring(boss.get("/admin/newsdesk/source/").content)
    kinds = {
        row.xpath("string(.//th[contains(@class,'field-name')])").strip(): row.xpath(
            "string(.//td[contains(@class,'field-kind_label')])"
        )
        for row in doc.xpath("//table[@id='result_list']/tbody/tr")
    }
    assert kinds == {"Demo inbox": "drop inbox", "Demo Wire": "drop outlet", "BBC": "feed"}
    links = [a.text for a in doc.xpath("//ul[contains(@class,'object-tools')]//a")]
    assert "Add feed" in links and "Add drop inbox" in links


def test_article_page_shows_original_and_english_side_by_side_and_the_evidence(boss):
    source = make_source(name="El Financiero", country="MX", language="es")
    story = make_story(sources=2)
    first = make_article(source=source, story=story)
    article = make_article(
        source=source,
        story=story,
        title_orig="Los minerales críticos no deben negociarse por separado",
        title_en="Critical minerals should not be negotiated separately",
        language_declared="es",
        language_detected="es",
        language_confidence=0.93,
        story_evidence={
            "score": 0.71,
            "shared_terms": ["minerales", "critic"],
            "shared_names": ["china"],
            "matched_article": first.id,
        },
    )
    page = boss.get(f"/admin/newsdesk/article/{article.id}/change/")
    doc = html.fromstring(page.content.decode())
    table = doc.xpath("//table[@class='nd-side-by-side']")[0]
    heads = [" ".join(th.text_content().split()) for th in table.xpath(".//thead/tr/th")]
    assert heads == ["", "Original (Spanish)", "English"]
    title_row = table.xpath(".//tbody/tr")[0]
    assert [td.text for td in title_row.xpath("td")] == [
        "Los minerales críticos no deben negociarse por separado",
        "Critical minerals should not be negotiated separately",
    ]
    text = " ".join(doc.text_content().split())
    assert "Score 0.71 against article" in text and "Shared terms: minerales, critic" in text
    assert "Shared names: china" in text
    assert "Declared: Spanish · detected: Spanish (confidence 0.93)" in text
    assert '"score"' not in page.content.decode(), "evidence is rendered, not shown as JSON"
    assert not doc.xpath("//textarea[@name='story_evidence']") and not doc.xpath("//input[@name='dedupe_key']")


def test_translation_page_summarises_providers_and_use(boss, settings):
    settings.NEWSDESK_TRANSLATORS = ["google"]
    make_article(source=make_source(), status=TranslationStatus.PENDING)
    ProviderUsage.objects.create(provider="google", day="2026-12-06", calls=3, characters=1234)
    Translation.objects.create(
        text_hash="h", source_language="es", target_language="en", provider="google", translated="x", characters=1
    )
    text = " ".join(html.fromstring(boss.get("/admin/newsdesk/translation/").content).text_content().split())
    assert "Providers, in the order they are tried" in text and "google" in text
    assert "pending 1" in text and "1,234" in text
    assert Article.objects.count() == 1


def test_no_admin_form_raises_a_django_6_deprecation(boss):
    """`make test` printed 34 RemovedInDjango60Warning (URL fields without assume_scheme).
    Every registered model's add or change form is built here with the warning as an error."""
    import warnings

    from django.contrib import admin as django_admin
    from django.test import RequestFactory
    from django.utils.deprecation import RemovedInDjango60Warning

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="boss")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RemovedInDjango60Warning)
        for model, model_admin in django_admin.site._registry.items():
            form = model_admin.get_form(request, None)
            form()  # builds every field
            assert model is not None


def test_article_list_filters_by_the_original_language(boss):
    """The seed card (declared ES, English text) is Spanish in admin too, as on its card."""
    source = make_source(name="El Financiero", country="MX", language="es")
    make_article(source=source, title_en="Seed", title_orig="Seed", language="en", language_declared="es")
    bbc = make_source(name="BBC", country="GB", language="en")
    make_article(source=bbc, title_en="UK", title_orig="UK", language="en", language_declared="en")
    doc = html.fromstring(boss.get("/admin/newsdesk/article/?original_language=es").content.decode())
    titles = [a.text for a in doc.xpath("//table[@id='result_list']//th/a")]
    assert titles == ["Seed"]
    cells = doc.xpath("//td[contains(@class,'field-original_language_label')]/text()")
    assert cells == ["Spanish (ES)"]
