"""The access policy: default-deny for a private desk.

With ``NEWSDESK_DASHBOARD_PUBLIC=false`` every resolved view needs a signed-in
user who may read the desk, unless it is on a short allowlist. The policy
looks at the view, not at URL prefixes, so a route added later is private
the day it is added; tests enumerate the URL resolver to prove it.

Allowed without a session:
- views marked ``@public_view`` (login, health checks) or ``@token_view``
  (private feeds, which check their own secret);
- Django admin, which has its own login and refuses non-staff users;
- the API (/api/v1/), which checks its own bearer tokens and applies the
  same public/private rule itself (newsdesk/api/auth.py);
- static files, if they are ever routed through Django.

Refused anonymous requests get a redirect to the login page, except feeds
(and htmx/JSON requests), which get 401: a feed reader cannot follow a login
form, and a 302 to HTML would be misread as an empty feed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .roles import user_can_read_desk

ACCESS_ATTR = "newsdesk_access"
PUBLIC = "public"
TOKEN = "token"  # noqa: S105 - a policy label, not a secret

# URL names of views owned elsewhere that must answer without a session:
# load balancers and monitoring probe them; browsers ask for the icon on any page.
PUBLIC_URL_NAMES = frozenset({"healthz", "metrics", "favicon"})
# Namespaces that do their own authentication.
SELF_AUTHENTICATED_NAMESPACES = frozenset({"admin", "api-1"})


def public_view(view: Callable) -> Callable:
    """Mark a view as open to anyone even on a private desk (login, health checks)."""
    setattr(view, ACCESS_ATTR, PUBLIC)
    return view


def token_view(view: Callable) -> Callable:
    """Mark a view as authenticating by its own secret token (private feeds)."""
    setattr(view, ACCESS_ATTR, TOKEN)
    return view


def _marker(view_func: Any) -> str | None:
    # Class-based views expose the class as view_class; Feed instances are the view itself.
    for candidate in (view_func, getattr(view_func, "view_class", None), getattr(view_func, "__wrapped__", None)):
        marker = getattr(candidate, ACCESS_ATTR, None)
        if marker:
            return marker
    return None


def view_is_exempt(*, request: HttpRequest, view_func: Any) -> bool:
    """True when the view may answer without a desk reader (see the module docstring)."""
    if _marker(view_func) in (PUBLIC, TOKEN):
        return True
    match = request.resolver_match
    if match is not None:
        if match.url_name in PUBLIC_URL_NAMES and not match.namespaces:
            return True
        if match.namespaces and match.namespaces[0] in SELF_AUTHENTICATED_NAMESPACES:
            return True
    static = settings.STATIC_URL or ""
    return bool(static.startswith("/") and request.path.startswith(static))


def view_is_feed(*, request: HttpRequest, view_func: Any) -> bool:
    if isinstance(view_func, Feed):
        return True
    match = request.resolver_match
    name = (match.url_name or "") if match else ""
    return name.startswith("feed") or name.endswith("feed") or "/feeds/" in request.path


def _wants_machine_answer(request: HttpRequest) -> bool:
    # Partial-page fetches (htmx, the dashboard's own script) must not swap a login form into the page.
    if request.headers.get("HX-Request") or request.headers.get("X-Newsdesk-Partial"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _unauthorized(request: HttpRequest) -> HttpResponse:
    login = reverse("login")
    response = HttpResponse(
        "Sign in to read this desk, or subscribe with the private feed URL of a saved view.\n",
        status=401,
        content_type="text/plain; charset=utf-8",
    )
    # Not HTTP authentication: the realm points at the login page.
    response["WWW-Authenticate"] = f'Cookie realm="Newsdesk", form-action="{login}"'
    if request.headers.get("HX-Request"):
        response["HX-Redirect"] = login
    return response


class AccessPolicyMiddleware:
    """Enforce ``NEWSDESK_DASHBOARD_PUBLIC`` for every view (place after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any):
        if settings.NEWSDESK_DASHBOARD_PUBLIC or view_is_exempt(request=request, view_func=view_func):
            return None
        user = request.user
        if user_can_read_desk(user=user):
            return None
        if user.is_authenticated:
            # Signed in but not an editor: sending them to the login page again would loop.
            return HttpResponse(
                "Your account may not read this desk. Ask an admin to add you to the editors group.\n",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        if view_is_feed(request=request, view_func=view_func) or _wants_machine_answer(request):
            return _unauthorized(request)
        return redirect_to_login(request.get_full_path(), reverse("login"))
