"""The story page's editor actions (POST, editors only, CSRF checked) and its "why" for each member."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from lxml import html

from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.decisions import story_article_move
from newsdesk.models import Article, Story, StoryDecision
from tests.support.accounts import PASSWORD, make_admin, make_editor, make_plain_user
from tests.support.coverage import FED, QUAKE, T0, make_article, spanish_quake
from tests.test_story_page import css


@pytest.fixture
def stories(db) -> tuple[Story, Story, list[Article]]:
    made = [make_article(title=t, summary=s, at=T0 + timedelta(minutes=i)) for i, (t, s) in enumerate(QUAKE)]
    spanish = spanish_quake(at=T0 + timedelta(minutes=9))
    made.append(spanish)
    quake = {article_assign_story(article=a).id for a in made}
    fed = make_article(title=FED[0], summary=FED[1], at=T0 + timedelta(minutes=30))
    other = article_assign_story(article=fed)
    assert len(quake) == 1 and other.id not in quake
    return Story.objects.get(pk=quake.pop()), other, [*made, fed]


def signed_in(user, *, csrf: bool = True) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def csrf_post(client: Client, page: str, url: str, data: dict | None = None):
    """POST the way a browser does from the page: with the CSRF token its form carries."""
    resp = client.get(page)
    token = html.fromstring(resp.content).xpath("//input[@name='csrfmiddlewaretoken']/@value")[0]
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


def test_readers_see_no_actions_and_cannot_post_one(stories):
    quake, _, members = stories
    page = reverse("story", args=[quake.pk])
    split = reverse("story-article-split", args=[quake.pk, members[2].pk])
    anonymous = Client(enforce_csrf_checks=True)
    body = anonymous.get(page).content.decode()
    assert "Not the same story" not in body and "Editor corrections" not in body
    # Without the role: 403, token or not (the anonymous reader has a CSRF cookie from the page).
    assert anonymous.post(split).status_code == 403
    reader = signed_in(make_plain_user())
    assert reader.post(split).status_code == 403
    reader_no_csrf = signed_in(make_plain_user(), csrf=False)
    assert reader_no_csrf.post(split).status_code == 403
    assert reader_no_csrf.post(reverse("story-merge", args=[quake.pk]), {"into": "1"}).status_code == 403
    assert StoryDecision.objects.count() == 0
    assert Article.objects.get(pk=members[2].pk).story_id == quake.pk


def test_an_editor_needs_the_csrf_token(stories):
    quake, _, members = stories
    editor = signed_in(make_editor())
    split = reverse("story-article-split", args=[quake.pk, members[2].pk])
    assert editor.post(split).status_code == 403  # no token
    assert StoryDecision.objects.count() == 0
    assert editor.get(split).status_code == 405  # POST only


def test_editor_takes_an_article_out_then_undoes_it_from_the_page(stories):
    quake, _, members = stories
    user = make_editor()
    editor = signed_in(user)
    page = reverse("story", args=[quake.pk])
    resp = csrf_post(editor, page, reverse("story-article-split", args=[quake.pk, members[2].pk]))
    assert resp.status_code == 302 and resp["Location"] == page
    decision = StoryDecision.objects.get()
    assert decision.editor == user and decision.kind == "split"
    assert Article.objects.get(pk=members[2].pk).story_id != quake.pk
    body = editor.get(page).content.decode()
    assert "was taken out of this story" in body  # the message
    doc = html.fromstring(body)
    assert len(css(doc, "li.member")) == 3
    undo = css(doc, "li.decision")
    assert len(undo) == 1 and user.get_username() in undo[0].text_content()
    resp = csrf_post(editor, page, reverse("story-decision-undo", args=[decision.pk]), {"story": str(quake.pk)})
    assert resp.status_code == 302
    assert Article.objects.get(pk=members[2].pk).story_id == quake.pk
    assert StoryDecision.objects.get().undone_at is not None


def test_a_move_or_merge_naming_no_story_is_refused_saying_why(stories):
    _, fed, members = stories
    editor = signed_in(make_editor())
    page = reverse("story", args=[fed.pk])
    move = reverse("story-article-move", args=[fed.pk, members[-1].pk])
    for url, field, refusal in (
        (move, "target", "Not moved"),
        (reverse("story-merge", args=[fed.pk]), "into", "Not merged"),
    ):
        for value in ("not a story", "999999", ""):
            resp = csrf_post(editor, page, url, {field: value})
            assert resp.status_code == 302 and resp["Location"] == page
            said = editor.get(page).content.decode()
            assert f"{refusal}: give the number (or address) of an existing story." in said, (field, value)
    assert StoryDecision.objects.count() == 0
    assert Article.objects.get(pk=members[-1].pk).story_id == fed.pk


def test_editor_moves_and_merges_by_story_number_or_address(stories):
    quake, fed, members = stories
    editor = signed_in(make_editor())
    page = reverse("story", args=[fed.pk])
    # The page offers the stories running around the same time as targets; readers get no such list.
    offered = html.fromstring(editor.get(page).content).xpath("//datalist[@id='nearby-stories']/option/@value")
    assert offered == [str(quake.pk)]
    assert b"nearby-stories" not in Client().get(page).content
    fed_article = members[-1]
    resp = csrf_post(
        editor, page, reverse("story-article-move", args=[fed.pk, fed_article.pk]), {"target": "not a story"}
    )
    assert resp.status_code == 302 and StoryDecision.objects.count() == 0
    csrf_post(
        editor,
        page,
        reverse("story-article-move", args=[fed.pk, fed_article.pk]),
        {"target": f"http://testserver/stories/{quake.pk}/"},
    )
    assert Article.objects.get(pk=fed_article.pk).story_id == quake.pk
    lone = make_article(title="Central bank of Chile holds rates", at=T0 + timedelta(hours=2))
    lone_story = article_assign_story(article=lone)
    resp = csrf_post(
        editor,
        reverse("story", args=[lone_story.pk]),
        reverse("story-merge", args=[lone_story.pk]),
        {"into": str(quake.pk)},
    )
    assert resp.status_code == 302 and resp["Location"] == reverse("story", args=[quake.pk])
    assert Article.objects.get(pk=lone.pk).story_id == quake.pk
    assert [d.kind for d in StoryDecision.objects.order_by("id")] == ["move", "merge"]


def test_why_shows_similarity_shared_names_language_and_the_editor(stories):
    quake, _, members = stories
    doc = html.fromstring(Client().get(reverse("story", args=[quake.pk])).content)
    whys = css(doc, "details.why")
    assert len(whys) == 4
    assert "first report of this story" in whys[0].text_content()
    second = whys[1]
    score = float(css(second, "dd.why-score")[0].text_content().split()[0])
    assert score == pytest.approx(Article.objects.get(pk=members[1].pk).story_score, abs=0.005)
    terms = css(second, "dd.why-terms")[0].text_content()
    assert "Sumatra" in terms and "tsunami" in terms and "sumatr," not in terms
    assert css(second, "dd.why-language")[0].text_content().strip() == "English (EN)"
    # The untranslated Spanish report joined on its original text; the page says so.
    spanish = css(whys[3], "dd.why-language")[0].text_content()
    assert spanish.startswith("Spanish (ES)") and "not translated" in spanish
    # An editor's move: readers see that an editor placed it, editors also see who and when.
    user = make_editor()
    story_article_move(article=members[-1], target=quake, editor=user)
    public = html.fromstring(Client().get(reverse("story", args=[quake.pk])).content)
    added = css(css(public, "details.why")[-1], "dd.why-editor")[0].text_content()
    assert added.strip() == "by an editor"
    staff = html.fromstring(signed_in(user).get(reverse("story", args=[quake.pk])).content)
    added = css(css(staff, "details.why")[-1], "dd.why-editor")[0].text_content()
    assert user.get_username() in added and "moved to another story" in added


def test_an_admin_sees_decisions_in_admin(stories):
    quake, _, members = stories
    admin = make_admin()
    story_article_move(article=members[-1], target=quake, editor=admin)
    client = signed_in(admin, csrf=False)
    resp = client.get(reverse("admin:newsdesk_storydecision_changelist"))
    assert resp.status_code == 200
    assert admin.get_username() in resp.content.decode()
