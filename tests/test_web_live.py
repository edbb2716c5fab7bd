"""The live dashboard's endpoint and the dashboard's "new" partial and last-visit marker (newsdesk/web/live.py, visits.py)."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from newsdesk.drops.scan import drop_source_scan
from newsdesk.models import DeskVisit
from tests.support.accounts import make_editor
from tests.support.articles import make_article, make_source

pytestmark = pytest.mark.django_db
MARCH = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()


def _live_box(client, query: str = "") -> dict[str, str]:
    page = client.get(reverse("dashboard") + (f"?{query}" if query else "")).content.decode()
    tag = re.search(r'<div id="live"[^>]*>', page).group(0)
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag))


def _poll(client, box: dict[str, str]) -> dict:
    url = box["url"] + ("&" if "?" in box["url"] else "?") + f"after={box['after']}&v={box['version']}"
    response = client.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    return response.json()


def _put(drop, name: str, items: list[dict]) -> None:
    path = drop.box / name
    path.write_bytes("\n".join(json.dumps(i) for i in items).encode())
    os.utime(path, (MARCH, MARCH))


def test_nothing_new_is_answered_without_a_query(client, settings, django_assert_num_queries):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    make_article(source=make_source(country="MX"))
    box = _live_box(client, "country=MX")
    assert box["version"] and int(box["after"]) > 0
    with django_assert_num_queries(0):
        assert _poll(client, box) == {"changed": False, "version": int(box["version"])}


def test_the_right_count_after_a_drop(client, settings, drop):
    """Articles arriving through a file drop: the open dashboard is told how many match its filters."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    make_article(source=make_source(country="MX"))
    everything, mexico = _live_box(client), _live_box(client, "country=MX")
    _put(drop, "wire.ndjson", [
        {"title": "Lithium deal in Mexico", "summary": "s", "country": "MX"},
        {"title": "Another from Mexico", "summary": "s", "country": "MX"},
        {"title": "From Chile", "summary": "s", "country": "CL"},
    ])  # fmt: skip
    drop_source_scan(source=drop)
    for box, expected in ((everything, 3), (mexico, 2)):
        answer = _poll(client, box)
        assert answer["changed"] is True and answer["new"] == expected and answer["capped"] is False
        assert answer["version"] != int(box["version"])
        # Asked again with the version it was given: nothing changed since.
        assert _poll(client, {**box, "version": str(answer["version"])})["changed"] is False


def test_the_count_is_capped_and_bad_input_refused(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    settings.NEWSDESK_NEW_COUNT_CAP = 2
    source = make_source()
    box = _live_box(client)
    for _ in range(3):
        make_article(source=source)
    answer = _poll(client, box)
    assert (answer["new"], answer["capped"]) == (2, True)
    assert client.get(reverse("dashboard-live") + "?after=abc").status_code == 400
    assert client.get(reverse("dashboard-live") + "?after=1&v=x").status_code == 400


def test_the_new_partial_gives_only_the_new_cards_in_page_order(client, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    mx, fr = make_source(country="MX"), make_source(country="FR")
    make_article(source=mx)
    after = int(_live_box(client)["after"])
    new_mx = [make_article(source=mx, minutes_ago=m) for m in (5, 1)]
    make_article(source=fr)
    response = client.get(reverse("dashboard") + f"?country=MX&after={after}", headers={"X-Newsdesk-Partial": "new"})
    ids = [int(i) for i in re.findall(r'data-article="(\d+)"', response.content.decode())]
    assert ids == [new_mx[1].id, new_mx[0].id]  # newest first, like the page
    assert int(response["X-Newsdesk-After"]) == new_mx[1].id


def test_the_unfiltered_dashboard_marks_where_the_last_visit_ended(client, settings, django_assert_max_num_queries):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    editor = make_editor()
    client.force_login(editor)
    source = make_source()
    seen = make_article(source=source, minutes_ago=30)
    assert 'id="seen-marker"' not in client.get(reverse("dashboard")).content.decode()  # first visit
    assert DeskVisit.objects.get(user=editor).seen_article_id == seen.id
    fresh = make_article(source=source, minutes_ago=1)
    page = client.get(reverse("dashboard")).content.decode()
    marker = page.index('id="seen-marker"')
    assert page.index(f'id="a{fresh.id}"') < marker < page.index(f'id="a{seen.id}"')
    assert DeskVisit.objects.get(user=editor).seen_article_id == fresh.id
    # The visit after that has nothing new, so no marker; a filtered page never moves the mark.
    assert 'id="seen-marker"' not in client.get(reverse("dashboard")).content.decode()
    make_article(source=source)
    client.get(reverse("dashboard") + "?country=MX")
    assert DeskVisit.objects.get(user=editor).seen_article_id == fresh.id


def test_on_a_private_desk_the_session_is_the_only_cost(client, settings):
    """What a private desk's "nothing new" costs: the session and the reader's permissions, no article query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    client.force_login(make_editor())
    make_article(source=make_source())
    box = _live_box(client)
    with CaptureQueriesContext(connection) as queries:
        assert _poll(client, box)["changed"] is False
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "newsdesk_article" not in tables
    # Session, user, and the user's and group's permissions (the editors' read permission).
    assert len(queries.captured_queries) <= 4, [q["sql"][:80] for q in queries.captured_queries]


def test_dashboards_opened_at_different_times_share_one_count_per_change(client, settings, django_assert_num_queries):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    source = make_source(country="MX")
    make_article(source=source)
    early = _live_box(client, "country=MX")
    make_article(source=source)
    later = _live_box(client, "country=MX")  # opened after one more article
    assert int(later["after"]) > int(early["after"])
    make_article(source=source)
    make_article(source=make_source(country="FR"))
    assert _poll(client, early)["new"] == 2  # this one walks the newest ids
    with django_assert_num_queries(0):
        assert _poll(client, later)["new"] == 1  # answered from the same walk
