"""The saved-views sidebar: ``{% desk_sidebar as desk %}`` in templates/newsdesk/_saved_views.html."""

from __future__ import annotations

from django import template

from newsdesk.accounts.desks import saved_view_new_count, saved_view_query_normalize, saved_views_of
from newsdesk.accounts.roles import user_can_read_desk

register = template.Library()


@register.simple_tag(takes_context=True)
def desk_sidebar(context) -> dict:
    """The signed-in editor's saved views with their capped new-article counts, and the current query.

    One capped count query per view (a handful per editor, each stopping at
    ``NEWSDESK_NEW_COUNT_CAP`` rows), plus one for the list.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or not user_can_read_desk(user=user):
        return {"signed_in": bool(user and user.is_authenticated), "can_save": False, "rows": []}
    query = saved_view_query_normalize(query=request.GET.urlencode())
    rows = [
        {"view": view, "new": saved_view_new_count(view=view), "current": view.query == query}
        for view in saved_views_of(owner=user)
    ]
    return {"signed_in": True, "can_save": True, "rows": rows, "query": query, "next": request.get_full_path()}
