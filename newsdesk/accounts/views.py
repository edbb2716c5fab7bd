"""Sign-in and the saved-view ("desk") pages. Every change is a POST with CSRF."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from newsdesk.models import FeedToken, SavedView

from . import apitokens, desks, tokens
from .feeds import TOKEN_FEED_ROUTES
from .forms import ThrottledAuthenticationForm
from .middleware import public_view
from .roles import user_can_read_desk


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
            response["Retry-After"] = str(settings.NEWSDESK_LOGIN_LOCKOUT_SECONDS)
        return response


login = public_view(LoginView.as_view())


def render_secret_once(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """A page that shows a secret (token, key) in this response only: never cached, never sent on as a Referer."""
    response = render(request, template, context)
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response


def editor_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in (else the login page) and allowed to read the desk (else 403), in any access mode."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not user_can_read_desk(user=request.user):
            return HttpResponseForbidden("Your account may not keep saved views.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def editor_change(
    *missing: type[Model], not_found: str
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view that changes something the editor owns: POST only (the CSRF middleware checks it), an editor
    (:func:`editor_required`), and "not yours or gone" (``missing``'s DoesNotExist) as one 404 so ids reveal nothing.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def owned(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except tuple(m.DoesNotExist for m in missing):
                raise Http404(not_found) from None

        return require_POST(editor_required(owned))

    return decorate


def dashboard_url(*, query: str) -> str:
    return reverse("dashboard") + (f"?{query}" if query else "")


def _back(request: HttpRequest, default: str) -> HttpResponseRedirect:
    """Redirect to the form's ``next`` when it is a local URL, else to ``default``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(default)


desk_change = editor_change(SavedView, not_found="No such saved view.")


@require_GET
@editor_required
def desk_list(request: HttpRequest) -> HttpResponse:
    views = desks.saved_views_of(owner=request.user)
    live = set(
        FeedToken.objects.filter(saved_view__in=views, revoked_at__isnull=True).values_list("saved_view_id", flat=True)
    )
    rows = [{"view": v, "has_token": v.id in live, "url": dashboard_url(query=v.query)} for v in views]
    return render(request, "newsdesk/desks.html", {"rows": rows})


@require_POST
@editor_required
def desk_save(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("query", "")
    try:
        view = desks.saved_view_create(owner=request.user, name=request.POST.get("name", ""), query=query)
    except desks.DeskError as exc:
        messages.error(request, str(exc))
        return _back(request, dashboard_url(query=desks.saved_view_query_normalize(query=query)))
    messages.success(request, f"Saved “{view.name}”.")
    return HttpResponseRedirect(dashboard_url(query=view.query))


@desk_change
def desk_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open the view: its "new" count starts again, and the dashboard marks where the unseen articles end."""
    previous = desks.saved_view_get(owner=request.user, pk=pk).seen_article_id
    view = desks.saved_view_open(owner=request.user, pk=pk)
    url = dashboard_url(query=view.query)
    return HttpResponseRedirect(f"{url}{'&' if view.query else '?'}seen={previous}")


@desk_change
def desk_rename(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        view = desks.saved_view_rename(owner=request.user, pk=pk, name=request.POST.get("name", ""))
    except desks.DeskError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Renamed to “{view.name}”.")
    return _back(request, reverse("desk-list"))


@desk_change
def desk_move(request: HttpRequest, pk: int) -> HttpResponse:
    offset = {"up": -1, "down": 1, "top": -(10**6), "bottom": 10**6}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("direction must be up, down, top or bottom", status=400, content_type="text/plain")
    desks.saved_view_move(owner=request.user, pk=pk, offset=offset)
    return _back(request, reverse("desk-list"))


@desk_change
def desk_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = desks.saved_view_delete(owner=request.user, pk=pk)
    messages.success(request, f"Deleted “{view.name}”; its feed URLs no longer work.")
    return _back(request, reverse("desk-list"))


@desk_change
def desk_token_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Make new feed URLs and show them once. The page is not cached and not redirected to.

    Showing them in this response (not a flash message) keeps the raw token
    out of cookies and sessions; it exists only here and in the reader.
    """
    view, raw = tokens.feed_token_rotate(owner=request.user, pk=pk)
    links = [
        (label, request.build_absolute_uri(reverse(name, kwargs={"token": raw})))
        for label, name, _ in TOKEN_FEED_ROUTES
    ]
    return render_secret_once(request, "newsdesk/desk_token.html", {"view": view, "links": links})


@desk_change
def desk_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if tokens.feed_token_revoke(owner=request.user, pk=pk):
        messages.success(request, "Feed URLs revoked; readers using them now get 404.")
    return _back(request, reverse("desk-list"))


@require_GET
@editor_required
def api_token_list(request: HttpRequest) -> HttpResponse:
    return render(request, "newsdesk/api_tokens.html", {"tokens": apitokens.api_tokens_of(owner=request.user)})


@require_POST
@editor_required
def api_token_add(request: HttpRequest) -> HttpResponse:
    """Make a token and show it once, in this response only (not cached, not redirected to)."""
    try:
        token, raw = apitokens.api_token_create(owner=request.user, name=request.POST.get("name", ""))
    except apitokens.ApiTokenError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("api-token-list"))
    return render_secret_once(request, "newsdesk/api_token_new.html", {"token": token, "raw": raw})


@require_POST
@editor_required
def api_token_remove(request: HttpRequest, pk: int) -> HttpResponse:
    if apitokens.api_token_revoke(owner=request.user, pk=pk):
        messages.success(request, "Token revoked; requests with it are refused from now on.")
    return HttpResponseRedirect(reverse("api-token-list"))
