"""With Redis down, the desk stays usable: sign-in, saved-view badges, dashboard and stats.

Cached values are recomputed and counters skipped (newsdesk/redisconn.py);
nothing answers 500 because the cache cannot.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from newsdesk.accounts import desks
from newsdesk.accounts.throttle import login_failure_record, login_failures_clear, login_throttled
from tests.support.accounts import PASSWORD, make_editor
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.django_db


def test_sign_in_works_and_failures_are_not_counted(client, cache_down, caplog):
    editor = make_editor()
    wrong = client.post(reverse("login"), {"username": editor.username, "password": "wrong"})
    assert wrong.status_code == 200  # the form again, not a server error
    login_failure_record(username=editor.username, request=None)
    assert not login_throttled(username=editor.username, request=None)
    login_failures_clear(username=editor.username, ip="192.0.2.1")
    right = client.post(reverse("login"), {"username": editor.username, "password": PASSWORD})
    assert right.status_code == 302 and client.session["_auth_user_id"] == str(editor.pk)
    assert "event=cache_unavailable what=login throttle" in caplog.text


def test_saved_view_badges_are_counted_afresh(cache_down, settings):
    settings.NEWSDESK_NEW_COUNT_CACHE_SECONDS = 30
    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    source = make_source(country="MX")
    make_article(source=source)
    assert desks.saved_view_new_count(view=view).count == 1
    make_article(source=source)
    assert desks.saved_view_new_count(view=view).count == 2


def test_dashboard_and_stats_render(client, cache_down):
    make_article(source=make_source(), category="Economy", published_at=timezone.now())
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and "Economy" in dashboard.content.decode()
    assert client.get("/stats/").status_code == 200
