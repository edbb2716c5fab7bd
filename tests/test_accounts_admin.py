"""newsdesk/accounts/admin.py: admins see saved views and can revoke a leaked feed URL."""

from __future__ import annotations

import pytest
from django.urls import reverse

from newsdesk.accounts.tokens import feed_token_resolve, feed_token_rotate
from newsdesk.models import FeedToken, SavedView
from tests.support.accounts import make_editor

pytestmark = pytest.mark.django_db


def test_saved_views_are_listed_with_their_feed_state(admin_client):
    editor = make_editor("ana")
    live = SavedView.objects.create(owner=editor, name="Mexico minerals", query="country=MX&q=minerals")
    SavedView.objects.create(owner=editor, name="Brazil", query="country=BR")
    _, raw = feed_token_rotate(owner=editor, pk=live.pk)
    page = admin_client.get(reverse("admin:newsdesk_savedview_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Mexico minerals" in text and "country=MX&amp;q=minerals" in text and "Brazil" in text
    assert text.count('alt="True"') == 1  # one live feed URL among the two views
    detail = admin_client.get(reverse("admin:newsdesk_savedview_change", args=[live.pk])).content.decode()
    digest = FeedToken.objects.get(saved_view=live).token_hash
    assert raw not in detail and digest not in detail  # neither the secret nor its digest is shown


def test_revoke_action_closes_the_private_feed(admin_client):
    editor = make_editor("bea")
    view = SavedView.objects.create(owner=editor, name="Desk", query="lang=es")
    _, raw = feed_token_rotate(owner=editor, pk=view.pk)
    assert feed_token_resolve(raw=raw) == view
    response = admin_client.post(
        reverse("admin:newsdesk_savedview_changelist"),
        {"action": "revoke_feed_tokens", "_selected_action": [view.pk]},
        follow=True,
    )
    assert "Revoked 1 feed URL(s)." in response.content.decode()
    assert feed_token_resolve(raw=raw) is None
    assert FeedToken.objects.get(saved_view=view).revoked_at is not None  # kept for the audit trail


def test_admin_cannot_mint_tokens(admin_client):
    editor = make_editor("cy")
    view = SavedView.objects.create(owner=editor, name="Desk", query="")
    detail = admin_client.get(reverse("admin:newsdesk_savedview_change", args=[view.pk])).content.decode()
    assert 'name="feed_tokens-MAX_NUM_FORMS" value="0"' in detail
    # A forged inline row is ignored: tokens are only made by their owner.
    admin_client.post(
        reverse("admin:newsdesk_savedview_change", args=[view.pk]),
        {
            "owner": editor.pk,
            "name": "Desk",
            "query": "",
            "position": 0,
            "feed_tokens-TOTAL_FORMS": 1,
            "feed_tokens-INITIAL_FORMS": 0,
            "feed_tokens-MIN_NUM_FORMS": 0,
            "feed_tokens-MAX_NUM_FORMS": 1,
            "feed_tokens-0-token_hash": "f" * 64,
        },
    )
    assert not FeedToken.objects.exists()
