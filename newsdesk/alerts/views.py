"""The editor's alerts page: make an alert on a saved view, see every delivery, pause, re-key, delete.

Every change is a POST with CSRF; an alert on another editor's view is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from newsdesk.accounts.desks import saved_views_of
from newsdesk.accounts.views import editor_change, editor_required, render_secret_once
from newsdesk.models import Alert, AlertMetric, SavedView

from . import services

alert_change = editor_change(Alert, SavedView, not_found="No such alert.")


def _secret_page(request: HttpRequest, *, alert: Alert, secret: str) -> HttpResponse:
    """The webhook secret, shown in this response only (never stored in a session or message)."""
    return render_secret_once(request, "newsdesk/alert_secret.html", {"alert": alert, "secret": secret})


@require_GET
@editor_required
def alert_list(request: HttpRequest) -> HttpResponse:
    alerts = services.alerts_of(owner=request.user)
    rows = [{"alert": a, "deliveries": services.alert_deliveries(alert=a)} for a in alerts]
    return render(
        request,
        "newsdesk/alerts.html",
        {
            "rows": rows,
            "views": saved_views_of(owner=request.user),
            "metrics": AlertMetric.choices,
            "selected_view": request.GET.get("view", ""),
        },
    )


@alert_change
def alert_add(request: HttpRequest) -> HttpResponse:
    view_pk = request.POST.get("view", "")
    if not view_pk.isdigit():
        messages.error(request, "Choose one of your saved views.")
        return HttpResponseRedirect(reverse("alert-list"))
    try:
        alert, secret = services.alert_create(
            owner=request.user,
            view_pk=int(view_pk),
            name=request.POST.get("name", ""),
            metric=request.POST.get("metric", ""),
            thresholds=request.POST.get("thresholds", ""),
            webhook_url=request.POST.get("webhook_url", ""),
            email_to=request.POST.get("email_to", ""),
        )
    except SavedView.DoesNotExist:
        messages.error(request, "Choose one of your saved views.")
        return HttpResponseRedirect(reverse("alert-list"))
    except services.AlertError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("alert-list"))
    if secret:
        return _secret_page(request, alert=alert, secret=secret)
    messages.success(request, f"Alert “{alert.name}” created.")
    return HttpResponseRedirect(reverse("alert-list"))


@alert_change
def alert_secret(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        alert, secret = services.alert_secret_rotate(owner=request.user, pk=pk)
    except services.AlertError as exc:
        messages.error(request, str(exc))
        return HttpResponseRedirect(reverse("alert-list"))
    return _secret_page(request, alert=alert, secret=secret)


@alert_change
def alert_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    enabled = request.POST.get("enabled") == "1"
    alert = services.alert_enable(owner=request.user, pk=pk, enabled=enabled)
    messages.success(request, f"Alert “{alert.name}” {'resumed' if enabled else 'paused'}.")
    return HttpResponseRedirect(reverse("alert-list"))


@alert_change
def alert_remove(request: HttpRequest, pk: int) -> HttpResponse:
    alert = services.alert_delete(owner=request.user, pk=pk)
    messages.success(request, f"Deleted alert “{alert.name}”.")
    return HttpResponseRedirect(reverse("alert-list"))
