"""Filter values the code cannot compute with, and saved views that can no longer be evaluated (issue #16 item 3)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from newsdesk.accounts import desks, tokens
from newsdesk.accounts.feeds import TOKEN_FEED_ROUTES
from newsdesk.models import SavedView
from newsdesk.web.filters import DATE_MAX, ArticleFilter
from tests.support.accounts import make_article, make_editor, make_source

pytestmark = pytest.mark.django_db

EDGES = ["9999-12-31", "0001-01-01", "0000-01-01", "2026-02-30", "99999-01-01"]


@pytest.fixture
def articles():
    make_article(make_source(country="MX"), "Lithium royalties rise in Sonora")


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize("name", ["dashboard", "feed-rss", "feed-atom", "feed-json"])
def test_out_of_range_dates_are_ignored_not_a_500(client, articles, name, value):
    for param in ("to", "from"):
        response = client.get(reverse(name), {param: value})
        assert response.status_code == 200, (param, value)
        if name == "dashboard" and value != "0001-01-01":
            assert "Ignored an invalid value for" in response.content.decode()


def test_the_last_computable_day_still_filters():
    flt = ArticleFilter.from_query(_query(f"to={DATE_MAX.isoformat()}&from=0001-01-01"))
    assert flt.ignored == ()
    assert list(flt.queryset()) == []  # evaluates


def _query(text: str):
    from django.http import QueryDict

    return QueryDict(text)


@pytest.fixture
def broken_view(settings, articles):
    """An editor's view saved before dates were checked: its stored query overflows."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    SavedView.objects.filter(pk=view.pk).update(query="country=MX&to=9999-12-31")
    view.refresh_from_db()
    return editor, view


def test_a_broken_saved_view_shows_as_broken_and_the_page_works(client, broken_view):
    editor, view = broken_view
    client.force_login(editor)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="broken"' in body and "save the view again" in body
    assert desks.saved_view_new_count(view=view).label == "broken"


@pytest.mark.parametrize("name", [name for _, name, _ in TOKEN_FEED_ROUTES])
def test_a_broken_saved_views_token_feeds_answer_and_list_nothing(client, broken_view, name):
    editor, view = broken_view
    _, raw = tokens.feed_token_rotate(owner=editor, pk=view.pk)
    response = client.get(reverse(name, kwargs={"token": raw}))
    assert response.status_code == 200
    body = response.content.decode()
    assert "broken" in body
    assert "Lithium royalties" not in body  # dropping the bad value would have widened the feed
    if name.endswith("json"):
        assert json.loads(body)["items"] == []


def test_a_broken_saved_views_api_listing_is_a_clear_409(client, broken_view):
    from newsdesk.accounts.apitokens import api_token_create

    editor, view = broken_view
    _, raw = api_token_create(owner=editor, name="wall screen")
    response = client.get(f"/api/v1/views/{view.pk}/articles/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 409
    assert "broken" in json.dumps(response.json())
