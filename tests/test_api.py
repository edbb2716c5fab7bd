"""The read API under /api/v1/: auth in both desk modes, the dashboard's filters, errors, limits, admin writes."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from newsdesk.accounts.apitokens import api_token_create, api_token_revoke
from newsdesk.models import ApiToken, Source, TranslationStatus
from tests.support.accounts import make_admin, make_editor
from tests.support.articles import BASE_TIME, make_article, make_source, make_story

pytestmark = pytest.mark.django_db
API = "/api/v1"


def _auth(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def editor_token():
    editor = make_editor()
    _, raw = api_token_create(owner=editor, name="wall screen")
    return raw


@pytest.fixture
def desk():
    mx = make_source(name="El Financiero", country="MX", language="es")
    fr = make_source(name="Le Monde", country="FR", language="fr")
    br = make_source(name="Folha", country="BR", language="pt")
    story = make_story(sources=3, headline="Lithium talks")
    out = []
    for i in range(4):
        out.append(
            make_article(source=mx, story=story, minutes_ago=i * 10, title_en=f"Lithium deal {i}", category="Economy")
        )
        out.append(make_article(source=fr, story=story if i < 2 else None, minutes_ago=i * 10 + 5,
                                title_en=f"Paris on lithium {i}", category="Politics"))  # fmt: skip
        out.append(make_article(source=br, minutes_ago=i * 10 + 7, title_en=f"Football {i}",
                                status=TranslationStatus.PENDING if i % 2 else TranslationStatus.DONE))  # fmt: skip
    # Two articles at the very same instant: the keyset's tie-break by id must agree too.
    make_article(source=mx, published_at=BASE_TIME - timedelta(minutes=100), title_en="Tie A")
    make_article(source=fr, published_at=BASE_TIME - timedelta(minutes=100), title_en="Tie B")
    return {"mx": mx, "fr": fr, "br": br, "story": story, "articles": out}


def _dashboard_ids(client, query: str) -> tuple[list[int], str]:
    response = client.get(reverse("dashboard") + (f"?{query}" if query else ""))
    assert response.status_code == 200
    page = response.content.decode()
    section = page.split('id="cards"', 1)[1].split("</section>", 1)[0]
    ids = [int(x) for x in re.findall(r'data-article="(\d+)"', section)]
    found = re.search(r'href="\?[^"]*before=([^"&]+)"', page)
    return ids, (found.group(1) if found else "")


def test_every_filter_gives_the_dashboards_results(client, desk, settings):
    """For each query string, page one and page two hold the same articles in the same order as the dashboard."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    settings.NEWSDESK_PAGE_SIZE = 4
    mx, fr = desk["mx"], desk["fr"]
    queries = [
        "",
        "country=MX",
        "country=MX&country=FR",
        "country=Mexico",
        "lang=fr",
        f"source={mx.id}",
        f"source={mx.id}&source={fr.id}",
        "category=economy",
        "from=2026-02-09&to=2026-02-09",
        "to=2026-02-08",
        "status=pending",
        "coverage=2",
        "q=lithium",
        'q="lithium deal"',
        "q=lithium -paris",
        "q=country:FR",
        "q=source:folha",
        "sort=covered",
        "sort=covered&country=MX",
        "q=lithium&sort=covered&coverage=3",
    ]
    for query in queries:
        expected, cursor = _dashboard_ids(client, query)
        sep = "&" if query else ""
        got = client.get(f"{API}/articles/?{query}{sep}limit=4").json()
        assert [a["id"] for a in got["items"]] == expected, query
        assert got["next_cursor"] == cursor.replace("%2E", "."), query
        if cursor:
            expected2, _ = _dashboard_ids(client, f"{query}{sep}before={cursor}")
            got2 = client.get(f"{API}/articles/?{query}{sep}limit=4&before={cursor}").json()
            assert [a["id"] for a in got2["items"]] == expected2 and expected2, query


def test_public_desk_anonymous_reads_public_things_only(client, desk, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    assert client.get(f"{API}/articles/").status_code == 200
    assert client.get(f"{API}/stories/{desk['story'].id}/").status_code == 200
    assert client.get(f"{API}/sources/").status_code == 200
    response = client.get(f"{API}/views/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_required"


def test_private_desk_needs_a_token_for_everything(client, desk, settings, editor_token):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    for path in (
        "/articles/",
        f"/articles/{desk['articles'][0].id}/",
        "/stories/",
        "/sources/",
        "/views/",
        "/openapi.json",
    ):
        response = client.get(f"{API}{path}")
        if path == "/openapi.json":
            continue  # the schema describes the API, not the desk
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "token_required", path
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert client.get(f"{API}{path}", **_auth(editor_token)).status_code == 200, path


def test_bad_tokens_are_refused_never_treated_as_anonymous(client, desk, settings, editor_token):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    for header in ("Bearer nope", "Bearer nd_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer ", editor_token):
        response = client.get(f"{API}/articles/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "bad_token", header


def test_a_revoked_token_stops_working_at_once(client, desk, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    editor = make_editor()
    token, raw = api_token_create(owner=editor, name="ci")
    assert client.get(f"{API}/articles/", **_auth(raw)).status_code == 200
    assert api_token_revoke(owner=editor, pk=token.pk) == 1
    response = client.get(f"{API}/articles/", **_auth(raw))
    assert response.status_code == 401 and response.json()["error"]["code"] == "bad_token"
    assert ApiToken.objects.get(pk=token.pk).token_hash != raw  # stored as a digest only


def test_a_deactivated_editors_token_stops_working(client, desk, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = False
    editor = make_editor()
    _, raw = api_token_create(owner=editor, name="ci")
    editor.is_active = False
    editor.save()
    assert client.get(f"{API}/articles/", **_auth(raw)).status_code == 401


def test_clear_errors_for_bad_input(client, desk, settings):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    cases = [
        ("/articles/?country=Narnia", 400, "invalid_filter", ["country"]),
        ("/articles/?lang=klingon1", 400, "invalid_filter", ["lang"]),
        ("/articles/?from=2026-13-45", 400, "invalid_filter", ["from"]),
        ("/articles/?status=maybe", 400, "invalid_filter", ["status"]),
        ("/articles/?sort=random", 400, "invalid_filter", ["sort"]),
        ("/articles/?coverage=-1", 400, "invalid_filter", ["coverage"]),
        ("/articles/?limit=0", 400, "invalid_filter", ["limit"]),
        ("/articles/?contry=MX", 400, "unknown_parameter", ["contry"]),
        ("/articles/?before=yesterday", 400, "bad_cursor", ["before"]),
        ("/articles/?sort=covered&before=123.000000_4", 400, "bad_cursor", ["before"]),
        ("/stories/?before=abc", 400, "bad_cursor", ["before"]),
        ("/articles/999999999/", 404, "not_found", None),
        ("/stories/999999999/", 404, "not_found", None),
    ]
    for path, status, code, fields in cases:
        response = client.get(f"{API}{path}")
        assert response.status_code == status, path
        body = response.json()["error"]
        assert body["code"] == code and body["message"], path
        if fields:
            assert body["fields"] == fields, path


def test_never_a_500_on_hostile_input(client, desk, settings, editor_token):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    hostile = [
        "q=%00%00", "q=" + "a" * 5000, "country=" + "%FF" * 10, "before=" + "9" * 500, "limit=99999999999999999999",
        "source=99999999999999999999", "from=0000-00-00", "q=%22%22%22", "q=-", "q=source:", "lang=%E2%80%AE",
        "sort=covered&before=n_1_1.000000_1", "before=1e308.000000_1", "coverage=1001",
    ]  # fmt: skip
    for query in hostile:
        assert client.get(f"{API}/articles/?{query}").status_code < 500, query
    for path in ("/stories/abc/", "/articles/-1/", "/views/x/", "/sources/%00/"):
        assert client.get(f"{API}{path}", **_auth(editor_token)).status_code < 500, path
    admin = make_admin()
    _, raw = api_token_create(owner=admin, name="admin")
    for body in (
        "",
        "{",
        "[]",
        '{"name": 1}',
        '{"name": "x", "url": 5}',
        json.dumps({"name": "x" * 500, "url": "https://a.example/f"}),
    ):
        response = client.post(f"{API}/sources/", data=body, content_type="application/json", **_auth(raw))
        assert 400 <= response.status_code < 500, body
        assert response.json()["error"]["code"], body


def test_rate_limit_per_token(client, desk, settings, editor_token):
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    settings.NEWSDESK_API_RATE_TOKEN = "3/m"
    codes = [client.get(f"{API}/sources/", **_auth(editor_token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get(f"{API}/sources/", **_auth(editor_token))
    assert refused.json()["error"]["code"] == "rate_limited" and int(refused["Retry-After"]) >= 1
    _, other = api_token_create(owner=make_editor(), name="other")
    assert client.get(f"{API}/sources/", **_auth(other)).status_code == 200


def test_story_with_members_and_coverage_breakdown(client, desk, settings, editor_token):
    story = desk["story"]
    body = client.get(f"{API}/stories/{story.id}/", **_auth(editor_token)).json()
    assert body["coverage"]["countries"] == {"MX": 4, "FR": 2}
    assert body["coverage"]["languages"] == {"es": 4, "fr": 2}
    assert body["coverage"]["outlets"] == {"El Financiero": 4, "Le Monde": 2}
    times = [m["published_at"] for m in body["members"]]
    assert len(times) == 6 and times == sorted(times)


def test_saved_views_of_the_token_owner_only(client, desk, settings):
    from newsdesk.accounts.desks import saved_view_create

    editor, other = make_editor(), make_editor()
    mine = saved_view_create(owner=editor, name="Mexico", query="country=MX")
    theirs = saved_view_create(owner=other, name="France", query="country=FR")
    _, raw = api_token_create(owner=editor, name="x")
    listed = client.get(f"{API}/views/", **_auth(raw)).json()
    assert [v["name"] for v in listed] == ["Mexico"]
    assert client.get(f"{API}/views/{theirs.id}/", **_auth(raw)).status_code == 404
    articles = client.get(f"{API}/views/{mine.id}/articles/", **_auth(raw)).json()["items"]
    assert articles and {a["country"] for a in articles} == {"MX"}


def test_admins_create_update_and_disable_sources(client, desk, settings, editor_token):
    admin = make_admin()
    _, raw = api_token_create(owner=admin, name="admin")
    new = {"name": "Der Spiegel", "url": "https://www.spiegel.example/feed.rss", "country": "de", "language": "DE"}
    refused = client.post(f"{API}/sources/", data=new, content_type="application/json", **_auth(editor_token))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    created = client.post(f"{API}/sources/", data=new, content_type="application/json", **_auth(raw))
    assert created.status_code == 201
    source = Source.objects.get(id=created.json()["id"])
    assert (source.country, source.language, source.enabled) == ("DE", "de", True)
    again = client.post(f"{API}/sources/", data=new, content_type="application/json", **_auth(raw))
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    bad = client.post(
        f"{API}/sources/", data={**new, "url": "file:///etc/passwd"}, content_type="application/json", **_auth(raw)
    )
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == ["url"]
    patch = {"enabled": False, "disabled_reason": "paywalled"}
    changed = client.patch(f"{API}/sources/{source.id}/", data=patch, content_type="application/json", **_auth(raw))
    assert changed.status_code == 200 and changed.json()["disabled_reason"] == "paywalled"
    source.refresh_from_db()
    assert not source.enabled and source.disabled_reason == "paywalled"
    assert client.patch(f"{API}/sources/{source.id}/", data=patch, content_type="application/json",
                        **_auth(editor_token)).status_code == 403  # fmt: skip


def test_served_schema_matches_the_committed_one(client, settings):
    """docs/openapi.json is what /api/v1/openapi.json serves; regenerate it with `make openapi` after a change."""
    from pathlib import Path

    committed = json.loads((Path(__file__).resolve().parents[1] / "docs" / "openapi.json").read_text())
    settings.NEWSDESK_DASHBOARD_PUBLIC = False  # served on a private desk too
    served = client.get(f"{API}/openapi.json")
    assert served.status_code == 200
    assert served.json() == committed


def test_anonymous_readers_do_not_see_feed_urls(client, settings, editor_token):
    """A feed URL may carry a publisher's access key; the public desk shows outlets, not their feeds."""
    settings.NEWSDESK_DASHBOARD_PUBLIC = True
    make_source(name="Paid wire", url="https://wire.example/feed?key=s3cret")
    anonymous = client.get(f"{API}/sources/").json()["items"]
    assert {s["url"] for s in anonymous} == {None}
    with_token = client.get(f"{API}/sources/", **_auth(editor_token)).json()["items"]
    assert "https://wire.example/feed?key=s3cret" in {s["url"] for s in with_token}
    assert all(s["error_count"] is None for s in with_token)  # health is for admins
