"""The live dashboard's polls answered before the session and auth (newsdesk/web/live.py LiveMiddleware),
and a private desk's per-session pass (newsdesk/accounts/livepass.py): granted once, revoked at once."""

from __future__ import annotations

import types

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from newsdesk.accounts import livepass
from newsdesk.accounts.roles import EDITORS_GROUP
from tests.support.accounts import PASSWORD, make_editor, make_plain_user
from tests.support.articles import make_article, make_source
from tests.test_web_live import _live_box

pytestmark = pytest.mark.django_db


def _ask(client, box: dict[str, str]):
    """One poll as live.js sends it: (response, the queries it cost)."""
    url = box["url"] + ("&" if "?" in box["url"] else "?") + f"after={box['after']}&v={box['version']}"
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, headers={"Accept": "application/json", "X-Newsdesk-Partial": "live"})
    return response, queries.captured_queries


def _early(response) -> bool:
    """Answered by LiveMiddleware: the session middleware never saw the request."""
    return not hasattr(response.wsgi_request, "session")


def test_a_public_desks_poll_is_answered_before_the_session_with_no_query(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    client.force_login(make_editor())  # a session cookie changes nothing on a public desk
    source = make_source(country="MX")
    make_article(source=source)
    box = _live_box(client, "country=MX")
    response, queries = _ask(client, box)
    assert response.json() == {"changed": False, "version": int(box["version"])} and queries == []
    assert _early(response)
    # The same headers as through the whole stack: the header-only middleware sit above it.
    assert response["Cache-Control"] == "no-store" and response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response and response["Content-Type"] == "application/json"
    # A change is counted early too: the article walk is its only query.
    make_article(source=source)
    make_article(source=make_source(country="FR"))
    response, queries = _ask(client, box)
    assert response.json()["new"] == 1 and _early(response) and len(queries) == 1
    assert "newsdesk_article" in queries[0]["sql"]


def test_other_paths_and_methods_take_the_whole_stack(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    assert not _early(client.get(reverse("dashboard")))
    assert not _early(client.post(reverse("dashboard-live")))
    assert client.get(reverse("dashboard-live"), headers={"Host": "evil.example"}).status_code == 400


def test_a_private_desks_session_is_checked_once_then_shows_its_pass(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client.force_login(make_editor())
    source = make_source()
    make_article(source=source)
    box = _live_box(client)
    first, queries = _ask(client, box)  # the whole stack: session, user, permissions
    assert first.json()["changed"] is False and not _early(first)
    assert 0 < len(queries) <= 4 and not any("newsdesk_article" in q["sql"] for q in queries)
    again, queries = _ask(client, box)
    assert again.json() == first.json() and queries == [] and _early(again)
    assert "Cookie" in again["Vary"]
    make_article(source=source)
    changed, queries = _ask(client, box)
    assert changed.json()["new"] == 1 and _early(changed) and len(queries) == 1


def _editors_read_permission() -> Permission:
    return Permission.objects.get(content_type__app_label="newsdesk", codename="view_article")


def _deactivate(user, key: str) -> None:
    user.is_active = False
    user.save()


def _new_password(user, key: str) -> None:
    user.set_password(PASSWORD + "!")
    user.save()


REVOCATIONS = {
    "out of the editors group": lambda user, key: user.groups.clear(),
    "deactivated": _deactivate,
    "new password": _new_password,
    "session deleted": lambda user, key: Session.objects.filter(session_key=key).delete(),
    "group loses the read right": lambda user, key: Group.objects.get(name=EDITORS_GROUP).permissions.remove(
        _editors_read_permission()
    ),
    "user deleted": lambda user, key: user.delete(),
}


def _reader_with_pass(client, settings):
    """A signed-in editor of a private desk whose dashboard polled once: (editor, its live box)."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    editor = make_editor()
    client.force_login(editor)
    make_article(source=make_source())
    box = _live_box(client)
    _ask(client, box)
    assert _early(_ask(client, box)[0])  # it holds a pass
    return editor, box


@pytest.mark.parametrize("revocation", list(REVOCATIONS))
def test_a_revoked_reader_is_refused_at_once(client, settings, revocation):
    editor, box = _reader_with_pass(client, settings)
    REVOCATIONS[revocation](editor, client.cookies[settings.SESSION_COOKIE_NAME].value)
    refused, _ = _ask(client, box)
    assert refused.status_code in (401, 403) and not _early(refused)


def test_signing_out_voids_the_pass_of_that_session_cookie(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client.login(username=make_editor().username, password=PASSWORD)
    make_article(source=make_source())
    box = _live_box(client)
    _ask(client, box)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _early(_ask(client, box)[0])
    client.post(reverse("logout"))
    client.cookies[settings.SESSION_COOKIE_NAME] = key  # a copy of the old cookie, replayed
    refused, _ = _ask(client, box)
    assert refused.status_code == 401 and not _early(refused)


def test_a_sign_in_elsewhere_leaves_other_passes_alone(client, settings):
    from django.test import Client

    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client.force_login(make_editor())
    other = make_editor()
    make_article(source=make_source())
    box = _live_box(client)
    _ask(client, box)
    assert Client().login(username=other.username, password=PASSWORD)  # stamps last_login
    assert _early(_ask(client, box)[0])


def test_no_pass_for_a_stranger_or_a_reader_without_the_right(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    make_article(source=make_source())
    url = reverse("dashboard-live") + "?after=1&v=1"
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32  # a made-up session key
    for _ in range(2):
        response = client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 401 and not _early(response)
    client.force_login(make_plain_user())  # signed in, not an editor
    for _ in range(2):
        response = client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 403 and not _early(response)


def test_a_change_django_does_not_see_is_bounded_by_the_pass_lifetime(client, settings, monkeypatch):
    """Raw SQL on the auth tables sends no signal: the pass lives at most PASS_SECONDS."""
    editor, box = _reader_with_pass(client, settings)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_user_groups WHERE user_id = %s", [editor.pk])
    assert _early(_ask(client, box)[0])  # within the bound, still answered
    real = livepass.time.time
    monkeypatch.setattr(livepass, "time", types.SimpleNamespace(time=lambda: real() + livepass.PASS_SECONDS + 1))
    refused, _ = _ask(client, box)
    assert refused.status_code == 403 and not _early(refused)
