"""Who may spend the translation budget on demand, and what the endpoint says (issue #16 item 2).

GET never calls a provider and says honestly what is stored; POST (editors,
CSRF) translates within a per-editor rate, a per-request size and a capped
share of the day's budget that leaves ingest's part alone.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from newsdesk.enrich.ondemand import ondemand_daily_cap
from newsdesk.models import Article, TranslationStatus
from tests.support.accounts import make_editor, make_plain_user
from tests.support.articles import make_article, make_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_translation")]

SPANISH = "<p>Primer párrafo del artículo.</p><p>Segundo párrafo.</p>"


def _article(content: str = SPANISH, language: str = "es") -> Article:
    source = make_source(language=language, enabled=False)
    return make_article(
        source=source, content_orig=content, language=language, language_declared=language,
        status=TranslationStatus.DONE,
    )  # fmt: skip


def _json(response) -> dict:
    return json.loads(response.content)


def _url(article: Article) -> str:
    return reverse("article-translation", args=[article.id]) + "?format=json"


def test_get_never_spends_and_says_the_article_is_not_translated(client, translator):
    article = _article()
    response = client.get(_url(article))
    assert response.status_code == 200
    data = _json(response)
    assert data["status"] == "not_translated"
    assert data["content"] == "Primer párrafo del artículo.\n\nSegundo párrafo."
    assert translator.calls == 0
    article.refresh_from_db()
    assert article.content_en == ""


def test_get_of_an_article_without_full_text_is_404_not_an_empty_done(client, translator):
    response = client.get(_url(_article(content="")))
    assert response.status_code == 404
    assert _json(response)["status"] == "no_content"


@pytest.mark.parametrize("who", ["anonymous", "plain user"])
def test_only_editors_may_ask(client, translator, who):
    if who == "plain user":
        client.force_login(make_plain_user())
    response = client.post(_url(_article()))
    assert response.status_code == 403
    assert translator.calls == 0


def test_an_editor_posting_without_the_csrf_token_is_refused(translator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_editor())
    assert client.post(_url(_article())).status_code == 403
    assert translator.calls == 0


def test_an_editor_with_the_csrf_token_gets_the_translation(translator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_editor())
    article = _article()
    page = client.get(reverse("article-translation", args=[article.id]))
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = client.post(_url(article), {"csrfmiddlewaretoken": token})
    assert response.status_code == 200
    assert _json(response) == {
        "article": article.id, "status": "done", "language": "es",
        "content": "EN: Primer párrafo del artículo.\n\nSegundo párrafo.",
    }  # fmt: skip


def test_each_editor_is_rate_limited(client, translator, settings):
    settings.NEWSDESK_ONDEMAND_PER_USER_HOUR = 2
    editor = make_editor()
    client.force_login(editor)
    assert [client.post(_url(_article())).status_code for _ in range(3)] == [200, 200, 429]
    refused = client.post(_url(_article()))
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    other = Client()
    other.force_login(make_editor())
    assert other.post(_url(_article())).status_code == 200  # per editor, not global


def test_on_demand_takes_only_its_share_of_the_daily_budget(client, translator, settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=600"
    settings.NEWSDESK_ONDEMAND_BUDGET_SHARE = 0.1
    assert ondemand_daily_cap() == 60
    client.force_login(make_editor())
    first = client.post(_url(_article(content="<p>Uno dos tres cuatro cinco seis siete.</p>")))  # 37 characters
    assert first.status_code == 200
    second = client.post(_url(_article(content="<p>Ocho nueve diez once doce trece catorce.</p>")))
    assert second.status_code == 429
    assert "share of today's budget" in _json(second)["detail"]
    assert translator.calls == 1  # the refused one never reached the provider; ingest keeps the rest


def test_a_failed_translation_gives_its_share_back(client, translator, settings):
    settings.NEWSDESK_TRANSLATION_DAILY_CHARS = "google=600"
    settings.NEWSDESK_ONDEMAND_BUDGET_SHARE = 0.1
    client.force_login(make_editor())
    translator.mode = "down"
    assert client.post(_url(_article(content="<p>Uno dos tres cuatro cinco seis siete.</p>"))).status_code == 503
    translator.mode = "ok"
    assert client.post(_url(_article(content="<p>Ocho nueve diez once doce trece catorce.</p>"))).status_code == 200


def test_an_over_long_text_is_refused_before_any_call(client, translator, settings):
    settings.NEWSDESK_ONDEMAND_MAX_CHARS = 20
    client.force_login(make_editor())
    response = client.post(_url(_article()))
    assert response.status_code == 413
    assert translator.calls == 0


def test_the_link_from_the_article_page_opens_a_page_with_the_form_for_editors_only(client, translator):
    article = _article()
    url = reverse("article-translation", args=[article.id])
    page = client.get(url).content.decode()
    assert "<html" in page and "Not translated yet" in page and "Primer párrafo del artículo." in page
    assert 'method="post"' not in page  # a reader cannot ask
    client.force_login(make_editor())
    page = client.get(url).content.decode()
    assert 'method="post"' in page and 'name="csrfmiddlewaretoken"' in page
    fragment = client.get(url + "?format=fragment").content.decode()
    assert fragment.startswith('<div class="article-translation" data-status="not_translated">')
    assert translator.calls == 0
