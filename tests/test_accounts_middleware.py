"""The access policy, checked for every URL pattern the resolver knows, in public and private mode.

``ROUTES`` classifies each route. A route that is not in it fails
``test_every_route_is_classified``: whoever adds a route decides here what
anonymous visitors, editors and other users may do with it. (Unclassified
routes are still private by default; ``test_a_new_unlisted_route_is_private``
proves it.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.http import HttpResponse
from django.urls import URLPattern, URLResolver, get_resolver, path, reverse

from config.urls import urlpatterns as project_urlpatterns
from newsdesk.accounts.desks import saved_view_create
from newsdesk.accounts.tokens import feed_token_rotate
from newsdesk.alerts.services import alert_create
from newsdesk.models import StoryDecision
from tests.support.accounts import make_admin, make_article, make_editor, make_plain_user, make_source

pytestmark = pytest.mark.django_db

PAGE = "page"  # HTML for readers: public when the desk is public, else sign-in required
FEED = "feed"  # a feed for readers: like PAGE, but 401 instead of a login redirect
OPEN = "open"  # answers everyone, always (sign-in, health checks)
ACCOUNT = "account"  # an editor's own pages and actions: sign-in required in both modes
LOGOUT = "logout"
TOKEN = "token"  # private feeds: a valid token, no session
ADMIN = "admin"  # Django admin: its own login, staff only
API = "api"  # read API: anonymous on a public desk, a bearer token on a private one (never a session)
API_EDITOR = "api-editor"  # the token owner's own things (saved views): a token in both modes
API_OPEN = "api-open"  # the API's schema and root: describe the API, not the desk
CORRECT = "correct"  # editors' corrections of a story (POST): 403 without the role, whatever the desk

ROUTES: dict[str, str] = {
    "dashboard": PAGE,
    "dashboard-live": PAGE,  # JSON for the dashboard's own script
    "stats": PAGE,
    "story": PAGE,
    "feed-rss": FEED,
    "feed-atom": FEED,
    "feed-json": FEED,
    "story-rss": FEED,
    "article": PAGE,
    "article-translation": PAGE,  # an HTML/JSON fragment the card fetches
    "story-article-split": CORRECT,
    "story-article-move": CORRECT,
    "story-merge": CORRECT,
    "story-decision-undo": CORRECT,
    "healthz": OPEN,
    "favicon": OPEN,
    "metrics": OPEN,
    "login": OPEN,
    "websub-hub": OPEN,  # subscribers are servers: the hub checks each topic (a private desk: token feeds only)
    "websub-callback": OPEN,  # sources' hubs call us back: the token names the subscription, pushes are signed
    "logout": LOGOUT,
    "password_change": ACCOUNT,
    "password_change_done": ACCOUNT,
    "desk-list": ACCOUNT,
    "desk-save": ACCOUNT,
    "desk-open": ACCOUNT,
    "desk-rename": ACCOUNT,
    "desk-move": ACCOUNT,
    "desk-delete": ACCOUNT,
    "desk-token-rotate": ACCOUNT,
    "desk-token-revoke": ACCOUNT,
    "desk-feed-rss": TOKEN,
    "desk-feed-atom": TOKEN,
    "desk-feed-json": TOKEN,
    "alert-list": ACCOUNT,
    "alert-add": ACCOUNT,
    "alert-secret": ACCOUNT,
    "alert-toggle": ACCOUNT,
    "alert-delete": ACCOUNT,
    "api-token-list": ACCOUNT,
    "api-token-add": ACCOUNT,
    "api-token-revoke": ACCOUNT,
    "api-1:api-root": API_OPEN,
    "api-1:openapi-json": API_OPEN,
    "api-1:articles": API,
    "api-1:article": API,
    "api-1:stories": API,
    "api-1:story": API,
    "api-1:sources": API,
    "api-1:source": API,
    "api-1:source-create": API,
    "api-1:source-update": API,
    "api-1:views": API_EDITOR,
    "api-1:view": API_EDITOR,
    "api-1:view-articles": API_EDITOR,
    "admin:*": ADMIN,
}
# Routes that only accept POST, with the form data that makes them succeed for an editor.
POST_DATA: dict[str, dict[str, str]] = {
    "logout": {},
    "desk-save": {"name": "Saved by the route test", "query": "country=MX"},
    "desk-open": {},
    "desk-rename": {"name": "Renamed by the route test"},
    "desk-move": {"direction": "down"},
    "desk-delete": {},
    "desk-token-rotate": {},
    "desk-token-revoke": {},
    "alert-add": {"view": "0"},
    "alert-secret": {},
    "alert-toggle": {"enabled": "1"},
    "alert-delete": {},
    "api-token-add": {"name": "made by the route test"},
    "api-token-revoke": {},
    "story-article-split": {},
    "story-article-move": {"target": "not a story"},  # refused with a message: the story stays as it is
    "story-merge": {"into": "not a story"},
    "story-decision-undo": {},
}


# Routes that invalidate the fixture's view or token run last, in this order.
LAST = (
    "story-article-split",  # takes the article out of the story the other routes name
    "story-decision-undo",
    "alert-delete",
    "desk-token-rotate",
    "desk-token-revoke",
    "desk-delete",
)


@dataclass(frozen=True)
class Route:
    key: str  # URL name (namespace-qualified), or the route string when unnamed
    route: str
    pattern: URLPattern | URLResolver


def all_routes() -> list[Route]:
    """Every pattern of the project's resolver; Django admin counts as one (it guards itself)."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    found.append(Route("admin:*", route, p))
                    continue
                walk(p.url_patterns, route, p.namespace or namespace)
            else:
                key = (f"{namespace}:{p.name}" if namespace else p.name) if p.name else route
                found.append(Route(key, route, p))

    walk(get_resolver().url_patterns, "", "")
    return sorted(found, key=lambda r: LAST.index(r.key) + 1 if r.key in LAST else 0)


@pytest.fixture
def world(db):
    source = make_source()
    first = make_article(source, "Lithium deal signed", minutes_ago=10)
    from newsdesk.models import Story

    story = Story.objects.create(headline="Lithium deal signed", article_count=2, source_count=2)
    first.story = story
    # A full text, so the article's translation route has something to answer with (else 404 no_content).
    first.content_orig = "<p>Lithium deal signed in full.</p>"
    first.save(update_fields=["story", "content_orig"])
    make_article(source, "Lithium deal criticised", story=story, minutes_ago=5)
    editor = make_editor()
    view = saved_view_create(owner=editor, name="Mexico", query="country=MX")
    _, token = feed_token_rotate(owner=editor, pk=view.pk)
    alert, _ = alert_create(owner=editor, view_pk=view.pk, name="New", metric="new_story", email_to="d@example.org")
    decision = StoryDecision.objects.create(kind="split", article=first, story=story, subject=[first.pk])
    return {
        "story": story,
        "article": first,
        "editor": editor,
        "view": view,
        "token": token,
        "alert": alert,
        "decision": decision,
    }


_CONVERTER = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def url_for(route: Route, world: dict) -> str:
    """A concrete URL for a route: real ids where the route needs an object."""
    if route.key == "admin:*":
        return reverse("admin:index")

    def value(match: re.Match) -> str:
        conv, name = match.group("conv") or "str", match.group("name")
        if name == "token":
            return world["token"]
        if route.key.startswith("alert-") and "alert" in world:
            return str(world["alert"].pk)
        if route.key.startswith("desk-") or name == "view_id":
            return str(world["view"].pk)
        if name == "source_id":
            return str(world["article"].source_id)
        if name in ("article_id", "article_pk"):
            return str(world["article"].pk)
        if name == "decision_pk":
            return str(world["decision"].pk) if "decision" in world else "1"  # worlds built elsewhere have none
        if conv == "int" or name == "story_id":
            return str(world["story"].pk)
        return "x"

    return "/" + _CONVERTER.sub(value, route.route)


def request(client, route: Route, world: dict):
    url = url_for(route, world)
    if route.key in POST_DATA:
        return client.post(url, POST_DATA[route.key])
    return client.get(url)


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and urlparse(response["Location"]).path == reverse("login")


def is_our_401(response) -> bool:
    return response.status_code == 401 and b"Sign in to read this desk" in response.content


def is_api_401(response) -> bool:
    return response.status_code == 401 and response.json()["error"]["code"] == "token_required"


API_KINDS = (API, API_EDITOR, API_OPEN)


def assert_api_answer(kind: str, response, where: str, *, public: bool) -> None:
    """The API never takes a session (no CSRF exposure): a token, or nothing, whoever is signed in."""
    if kind == API and public:
        assert response.status_code == 200, where
    elif kind in (API, API_EDITOR):
        assert is_api_401(response), where
    else:  # API_OPEN
        assert response.status_code in (200, 404) and not is_login_redirect(response), where


def test_every_route_is_classified():
    """A route nobody classified fails here, naming it, so its access rules get decided."""
    unclassified = sorted({r.key for r in all_routes()} - set(ROUTES))
    assert not unclassified, f"classify these routes in tests/test_accounts_middleware.py ROUTES: {unclassified}"


def test_the_route_list_sees_nested_and_admin_routes():
    keys = {r.key for r in all_routes()}
    assert {"dashboard", "login", "desk-feed-rss", "admin:*"} <= keys


@pytest.mark.parametrize("public", [True, False], ids=["public", "private"])
def test_anonymous_visitor_on_every_route(client, settings, world, public):
    """What an anonymous visitor gets from each route, in both modes."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = public
    for route in all_routes():
        kind = ROUTES.get(route.key)
        response = request(client, route, world)
        where = f"{route.key} ({url_for(route, world)}) public={public}"
        if kind in (PAGE, FEED) and public:
            assert response.status_code == 200, where
        elif kind == PAGE:
            assert is_login_redirect(response), where
            assert "next=" in response["Location"], where
        elif kind == FEED:
            assert is_our_401(response), where
        elif kind == OPEN:
            # Our policy lets it through; the view answers for itself (healthz may say 503,
            # /metrics 404 while switched off), never with our sign-in wall.
            assert not is_login_redirect(response), where
            assert not is_our_401(response), where
        elif kind == ACCOUNT:
            assert is_login_redirect(response), where
        elif kind == LOGOUT:
            assert response.status_code == 302, where
        elif kind == TOKEN:
            assert response.status_code == 200, where
            assert response["Referrer-Policy"] == "no-referrer", where
        elif kind == ADMIN:
            assert response.status_code == 302, where
            assert urlparse(response["Location"]).path == reverse("admin:login"), where
        elif kind in API_KINDS:
            assert_api_answer(kind, response, where, public=public)
        elif kind == CORRECT and public:
            assert response.status_code == 403, where
        elif kind == CORRECT:
            assert is_login_redirect(response), where
        else:
            pytest.fail(f"unclassified route {where}")


@pytest.mark.parametrize("public", [True, False], ids=["public", "private"])
def test_editor_on_every_route(client, settings, world, public):
    """A signed-in editor reads every page and feed and uses their own desk, in both modes; admin refuses them."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = public
    client.force_login(world["editor"])
    for route in all_routes():
        kind = ROUTES.get(route.key)
        if kind == LOGOUT:
            continue  # would end the session the other routes need; tested in test_accounts_views
        response = request(client, route, world)
        where = f"{route.key} public={public}"
        if kind in (PAGE, FEED, TOKEN):
            assert response.status_code == 200, where
        elif kind == OPEN:
            assert not is_our_401(response), where
        elif kind == ACCOUNT:
            assert response.status_code in (200, 302), where
            assert not is_login_redirect(response), where
        elif kind == ADMIN:
            assert urlparse(response["Location"]).path == reverse("admin:login"), where
        elif kind in API_KINDS:
            assert_api_answer(kind, response, where, public=public)
        elif kind == CORRECT:
            # Done, or refused with a message on the story page; never a sign-in wall or a 403.
            assert response.status_code == 302 and "/stories/" in response["Location"], where
        else:
            pytest.fail(f"unclassified route {where}")


def test_signed_in_user_who_is_not_an_editor_is_refused_on_a_private_desk(client, settings, world):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client.force_login(make_plain_user())
    for route in all_routes():
        if ROUTES.get(route.key) in (PAGE, FEED):
            response = request(client, route, world)
            assert response.status_code == 403, route.key
    # ...and they have no desk of their own either, even on a public desk, nor correct stories.
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    assert client.get(reverse("desk-list")).status_code == 403
    for route in all_routes():
        if ROUTES.get(route.key) == CORRECT:
            assert request(client, route, world).status_code == 403, route.key


def test_staff_admin_reads_a_private_desk(client, settings, world):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client.force_login(make_admin())
    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("feed-rss")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_htmx_request_gets_401_with_a_redirect_hint(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    response = client.get(reverse("dashboard"), headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("login")


def test_the_dashboards_partial_fetch_gets_401_not_a_login_page(client, settings):
    """dashboard.js swaps fetched HTML into the page; a login form must not land there."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    response = client.get(reverse("dashboard") + "?country=MX", headers={"X-Newsdesk-Partial": "results"})
    assert response.status_code == 401


def _secret_view(request):
    return HttpResponse("the secret desk")


# A URLconf with one more route than the project's, for the default-deny test.
urlpatterns = [*project_urlpatterns, path("brand-new-page/", _secret_view, name="brand-new-page")]


@pytest.mark.urls(__name__)
def test_a_new_unlisted_route_is_private(client, settings):
    """Default deny: a view added without any marker is closed on a private desk."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    response = client.get("/brand-new-page/")
    assert is_login_redirect(response)
    assert b"secret" not in response.content
    client.force_login(make_editor())
    assert client.get("/brand-new-page/").content == b"the secret desk"
