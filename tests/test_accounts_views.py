"""Sign-in, saved-view pages and actions over HTTP, with CSRF enforced as in production."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from newsdesk.accounts import desks
from newsdesk.models import FeedToken, SavedView, Story, WebSubSubscription
from tests.support.accounts import PASSWORD, make_article, make_editor, make_source

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_counts")]


CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def form_token(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    match = CSRF_TOKEN.search(response.content.decode())
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1)


def test_sign_in_with_csrf_and_land_on_the_dashboard():
    editor = make_editor()
    client = csrf_client()
    token = form_token(client, reverse("login"))
    response = client.post(
        reverse("login"), {"username": editor.username, "password": PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    page = client.get(reverse("dashboard")).content.decode()
    assert f"Sign out ({editor.username})" in page
    assert "Save these filters as" in page


def test_login_refuses_a_post_without_csrf_token():
    editor = make_editor()
    response = csrf_client().post(reverse("login"), {"username": editor.username, "password": PASSWORD})
    assert response.status_code == 403


def test_login_redirects_only_to_local_next():
    editor = make_editor()
    client = Client()
    response = client.post(
        reverse("login") + "?next=https://evil.example/", {"username": editor.username, "password": PASSWORD}
    )
    assert response["Location"] == reverse("dashboard")


def test_session_cookie_is_http_only_and_same_site():
    editor = make_editor()
    client = Client()
    client.post(reverse("login"), {"username": editor.username, "password": PASSWORD})
    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_every_state_changing_route_refuses_a_post_without_csrf():
    """As a signed-in editor, POST without the token to every route: each answers 403 and changes nothing."""
    from tests.test_accounts_middleware import all_routes, url_for

    editor = make_editor()
    view = desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    from newsdesk.accounts.tokens import feed_token_rotate

    _, token = feed_token_rotate(owner=editor, pk=view.pk)
    story = Story.objects.create(headline="x")
    article = make_article(make_source(), "An article")
    client = csrf_client()
    client.force_login(editor)
    world = {"story": story, "article": article, "view": view, "token": token}
    checked = []
    for route in all_routes():
        url = url_for(route, world)
        response = client.post(url, {"name": "Changed", "direction": "down", "query": "country=ES"})
        if route.key.startswith("api-1:"):
            # The API takes no session (so no CSRF exposure): a session's POST is refused or not a route.
            assert response.status_code in (401, 403, 405), f"{route.key} accepted a session's POST"
            continue
        if route.key == "websub-hub":
            # Other servers call the hub, so it is CSRF-exempt and reads no session: a browser's POST
            # without the hub's own parameters is refused, and it subscribes nothing.
            assert response.status_code == 400, f"{route.key} accepted a session's POST"
            assert not WebSubSubscription.objects.exists()
            continue
        if route.key == "websub-callback":
            # Sources' hubs push here, CSRF-exempt: no live subscription has this token, so it is gone.
            assert response.status_code == 410, f"{route.key} accepted a session's POST"
            continue
        assert response.status_code == 403, f"{route.key} accepted a POST without CSRF token"
        checked.append(route.key)
    assert {"desk-save", "desk-delete", "desk-token-rotate", "logout", "password_change"} <= set(checked)
    view.refresh_from_db()
    assert (view.name, view.position) == ("Mexico", 0)
    assert SavedView.objects.filter(owner=editor).count() == 1
    assert FeedToken.objects.filter(saved_view=view, revoked_at__isnull=True).count() == 1
    assert client.get(reverse("desk-list")).status_code == 200  # still signed in: logout did not happen


def test_save_rename_reorder_delete_through_the_pages():
    editor = make_editor()
    client = csrf_client()
    client.force_login(editor)
    token = form_token(client, reverse("dashboard") + "?country=MX")
    response = client.post(
        reverse("desk-save"),
        {"name": "Mexico", "query": "country=MX&before=1_2", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard") + "?country=MX"
    client.post(reverse("desk-save"), {"name": "Spain", "query": "country=ES", "csrfmiddlewaretoken": token})
    mexico, spain = desks.saved_views_of(owner=editor)
    assert (mexico.name, spain.name) == ("Mexico", "Spain")

    page = client.get(reverse("desk-list")).content.decode()
    assert "Mexico" in page and "Spain" in page
    token = form_token(client, reverse("desk-list"))
    client.post(reverse("desk-rename", args=[mexico.pk]), {"name": "México", "csrfmiddlewaretoken": token})
    client.post(reverse("desk-move", args=[spain.pk]), {"direction": "up", "csrfmiddlewaretoken": token})
    assert [v.name for v in desks.saved_views_of(owner=editor)] == ["Spain", "México"]
    bad = client.post(reverse("desk-move", args=[spain.pk]), {"direction": "sideways", "csrfmiddlewaretoken": token})
    assert bad.status_code == 400
    page = client.post(reverse("desk-delete", args=[spain.pk]), {"csrfmiddlewaretoken": token}, follow=True)
    assert "Deleted “Spain”; its feed URLs no longer work." in page.content.decode()
    assert [v.name for v in desks.saved_views_of(owner=editor)] == ["México"]


def test_duplicate_name_shows_a_message_not_an_error_page():
    editor = make_editor()
    desks.saved_view_create(owner=editor, name="Mexico", query="country=MX")
    client = Client()
    client.force_login(editor)
    response = client.post(reverse("desk-save"), {"name": "Mexico", "query": "country=MX"}, follow=True)
    assert response.status_code == 200
    assert "already have a view named" in response.content.decode()


def test_the_sidebar_lists_views_with_new_counts_and_opening_resets_them(settings):
    settings.NEWSDESK_NEW_COUNT_CAP = 2
    source = make_source(country="MX")
    editor = make_editor()
    make_article(source, "Seen before the view was saved", minutes_ago=60)
    view = desks.saved_view_create(owner=editor, name="Mexico desk", query="country=MX")
    for i in range(3):
        make_article(source, f"Fresh {i}")
    client = Client()
    client.force_login(editor)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Mexico desk" in page
    assert "2+ new" in page
    seen_before = view.seen_article_id
    response = client.post(reverse("desk-open", args=[view.pk]))
    assert response["Location"] == reverse("dashboard") + f"?country=MX&seen={seen_before}"
    page = client.get(response["Location"]).content.decode()
    assert "new</span>" not in page
    assert 'aria-current="page"' in page
    # Where the three articles the editor had not seen end: the marker sits before the first seen card.
    assert 'id="seen-marker"' in page


def test_another_editors_view_is_404_for_every_action():
    alice, mallory = make_editor(), make_editor()
    view = desks.saved_view_create(owner=alice, name="Alice's", query="")
    client = Client()
    client.force_login(mallory)
    for name in ("desk-open", "desk-rename", "desk-move", "desk-delete", "desk-token-rotate", "desk-token-revoke"):
        response = client.post(reverse(name, args=[view.pk]), {"name": "x", "direction": "up"})
        assert response.status_code == 404, name
    assert SavedView.objects.get(pk=view.pk).name == "Alice's"
    assert not FeedToken.objects.filter(saved_view=view).exists()


def test_password_change_keeps_the_session_and_needs_the_old_password():
    editor = make_editor()
    client = csrf_client()
    client.force_login(editor)
    token = form_token(client, reverse("password_change"))
    new = "an even longer passphrase 77"
    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": new, "new_password2": new, "csrfmiddlewaretoken": token},
    )
    assert wrong.status_code == 200
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new, "csrfmiddlewaretoken": token},
    )
    assert response["Location"] == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    editor.refresh_from_db()
    assert editor.check_password(new)


def test_logout_is_a_post_and_ends_the_session(settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client = csrf_client()
    client.force_login(make_editor())
    token = form_token(client, reverse("dashboard"))
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"), {"csrfmiddlewaretoken": token})
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_anonymous_public_dashboard_offers_sign_in_and_makes_no_desk_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("dashboard")).content.decode()
    assert "Sign in" in page
    assert "Save these filters as" not in page
    assert not [q for q in ctx.captured_queries if "savedview" in q["sql"].lower()]


def test_the_sidebar_costs_one_query_per_saved_view_plus_one(django_assert_num_queries):
    """Counts are capped per view, so the sidebar's cost grows with the editor's views, not with articles."""
    from django.template import Context, Template
    from django.test import RequestFactory

    editor = make_editor()
    for name in ("a", "b", "c"):
        desks.saved_view_create(owner=editor, name=name, query="country=MX")
    request = RequestFactory().get("/")
    request.user = editor
    template = Template("{% load desks %}{% desk_sidebar as d %}{{ d.rows|length }}")
    with django_assert_num_queries(1 + 3 + 2):  # the list, a count per view, the user's two permission lookups
        assert template.render(Context({"request": request})) == "3"
