"""Every writer of a story's figures and headline agrees with the one definition.

newsdesk/coverage/storycounts.py states the rules once (:func:`story_figures`)
and gives each writer its fast form: a new story's first member, the
in-place join update (PostgreSQL), merges and re-assignments (recount),
and ``recluster`` (bulk statements on PostgreSQL). Each test below runs
writers over articles chosen to reach every rule (an earlier English
member arriving last, a member with an English title that is not yet
English, empty countries and languages, a story with no English member)
and compares what they left with the reference.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.coverage.cluster import article_assign_story
from newsdesk.coverage.engine import Params
from newsdesk.coverage.recluster import articles_recluster
from newsdesk.coverage.storycounts import (
    article_names_story,
    stories_refresh_counts,
    story_figures,
    story_first_member,
)
from newsdesk.models import Article, Source, Story, TranslationStatus
from tests.support.coverage import FED, QUAKE, QUAKE_ES_LONG, T0, french_quake, make_article, spanish_quake

FIELDS = (
    "article_count",
    "source_count",
    "country_count",
    "language_count",
    "first_published_at",
    "last_published_at",
    "headline",
)


def _stored(story: Story) -> dict[str, object]:
    return {field: getattr(story, field) for field in FIELDS}


def assert_stories_match_the_reference(*, headlines_before: dict[int, str] | None = None) -> None:
    """Each story's stored figures are what story_figures computes from its members.

    A story without an English member keeps the headline it had, so a writer
    that rewrites stories in bulk is checked against the headlines from
    before it ran (``headlines_before``; a story missing there had none).
    """
    stories = list(Story.objects.order_by("id"))
    assert stories
    for story in stories:
        reference = Story.objects.get(id=story.id)
        if headlines_before is not None:
            reference.headline = headlines_before.get(story.id, "")
        assert _stored(story) == story_figures(story=reference), f"story {story.id}"


def _headlines() -> dict[int, str]:
    return dict(Story.objects.values_list("id", "headline"))


def _desk() -> list[Article]:
    """Articles in arrival order; published times differ from arrival on purpose."""
    wire = Source.objects.create(name="Wire", country="GB", language="en")
    quake = [
        make_article(title=QUAKE[0][0], summary=QUAKE[0][1], source=wire, at=T0 + timedelta(hours=2)),
        make_article(title=QUAKE[1][0], summary=QUAKE[1][1], source=wire, at=T0 + timedelta(hours=3)),
        # Earlier than both, untranslated, from nowhere in particular.
        spanish_quake(text=QUAKE_ES_LONG, country="", at=T0 - timedelta(hours=1)),
        # The earliest English title, arriving last: it must take the headline.
        french_quake(),
    ]
    fed = [
        # An English title that is not a finished translation never names a story,
        # though it is the earliest and arrives first.
        make_article(
            title=FED[0] + ", sources say",
            summary=FED[1],
            status=TranslationStatus.PENDING,
            at=T0,
        ),
        make_article(title=FED[0], summary=FED[1], at=T0 + timedelta(hours=1)),
    ]
    # No English member at all; the later one arrives first and starts the story.
    train = [
        make_article(
            title=f"{title}: Dutzende Verletzte nach Entgleisung eines Hochgeschwindigkeitszugs",
            title_en="",
            summary="Ein Hochgeschwindigkeitszug ist am Dienstag bei Lyon entgleist, 40 Fahrgäste wurden verletzt.",
            language=language,
            country="DE",
            status=TranslationStatus.FAILED,
            at=T0 + timedelta(hours=hours),
        )
        for title, language, hours in (("Zugunglück bei Lyon", "de", 5), ("Lyon: Zugunglück", "", 4))
    ]
    return [*quake, *fed, *train]


@pytest.mark.django_db(transaction=True)
def test_live_assignment_agrees_with_the_reference():
    """The live writer: a first member's story, joins (in place on PostgreSQL), and a re-assignment."""
    articles = _desk()
    for article in articles:
        article_assign_story(article=article)
    assert Story.objects.count() >= 3
    quake = Story.objects.get(articles=articles[0])
    assert quake.article_count == 4 and quake.headline == QUAKE[2][0]
    assert Story.objects.get(articles=articles[4]).headline == FED[0]
    train = Story.objects.get(articles=articles[6])
    assert train.article_count == 2 and train.headline == articles[6].title_orig  # its first arrival's
    assert_stories_match_the_reference()
    # A late translation re-runs the assignment (the recount path).
    spanish = articles[2]
    Article.objects.filter(id=spanish.id).update(
        title_en="Magnitude 7.1 earthquake shakes Sumatra; tsunami alert in Indonesia",
        translation_status=TranslationStatus.DONE,
    )
    spanish.refresh_from_db()
    article_assign_story(article=spanish)
    assert Story.objects.get(articles=spanish).headline == spanish.title_en
    assert_stories_match_the_reference()


@pytest.mark.django_db(transaction=True)
def test_merges_agree_with_the_reference():
    """Stories merged by an article that binds them: the survivor and the emptied story."""
    apart = Params(join_threshold=0.9, merge_threshold=0.3)
    quake = _desk()[:4]
    for article in quake[:2]:
        article_assign_story(article=article, params=apart)
    assert Story.objects.count() == 2
    article_assign_story(article=quake[3], params=Params(join_threshold=0.1, merge_threshold=0.1))
    assert Story.objects.filter(merged_into__isnull=False).count() == 1
    assert_stories_match_the_reference()


@pytest.mark.django_db(transaction=True)
def test_recluster_agrees_with_the_reference():
    """The rebuild writes every story's figures in bulk (PostgreSQL) or story by story."""
    articles = _desk()
    for article in articles:
        article_assign_story(article=article)
    live = {a.id: a.story_id for a in Article.objects.all()}
    before = _headlines()
    articles_recluster()
    assert {a.id: a.story_id for a in Article.objects.all()} == live  # stories found again keep their ids
    assert_stories_match_the_reference(headlines_before=before)
    # Without headlines, the rebuild names them afresh.
    Story.objects.update(headline="")
    articles_recluster()
    assert_stories_match_the_reference(headlines_before={})
    assert Story.objects.get(articles=articles[-1]).headline == articles[-1].title_orig  # the earliest
    before = _headlines()
    articles_recluster(since=T0 + timedelta(minutes=30))
    assert_stories_match_the_reference(headlines_before=before)


@pytest.mark.django_db(transaction=True)
def test_bulk_recount_repairs_wrong_figures_like_the_reference():
    desk = _desk()
    for article in desk:
        article_assign_story(article=article)
    emptied = Story.objects.create(headline="Emptied", article_count=3, source_count=2, first_published_at=T0)
    wrong = {"article_count": 99, "source_count": 99, "country_count": 99, "language_count": 99}
    Story.objects.exclude(id=emptied.id).update(**wrong, first_published_at=None, headline="")
    before = _headlines()
    stories_refresh_counts(ids=list(Story.objects.values_list("id", flat=True)))
    assert_stories_match_the_reference(headlines_before=before)
    assert Story.objects.get(articles=desk[-1]).headline == desk[-1].title_orig  # no English member
    assert Story.objects.get(articles=desk[0]).headline == QUAKE[2][0]
    assert Story.objects.get(id=emptied.id).article_count == 0
    assert Story.objects.get(id=emptied.id).headline == "Emptied"
    Story.objects.update(**wrong)
    before = _headlines()
    stories_refresh_counts()
    assert_stories_match_the_reference(headlines_before=before)


@pytest.mark.django_db
def test_a_new_story_is_counted_from_its_first_member():
    desk = _desk()
    english, pending, bare = desk[0], desk[4], desk[6]
    for article in (english, pending, bare):
        story = story_first_member(article=article)
        story.save()
        Article.objects.filter(id=article.id).update(story=story)
        assert _stored(story) == story_figures(story=Story.objects.get(id=story.id))
    assert article_names_story(english) and not article_names_story(pending) and not article_names_story(bare)


@pytest.mark.django_db(transaction=True)
def test_editor_corrections_agree_with_the_reference():
    """Split, move, merge and undo (newsdesk/coverage/decisions.py) leave figures the reference agrees with."""
    from newsdesk.coverage.decisions import decision_undo, stories_merge, story_article_move, story_article_split
    from tests.support.accounts import make_editor

    editor = make_editor()
    articles = _desk()
    for article in articles:
        article_assign_story(article=article)
    quake, fed = articles[0], articles[5]

    def fresh(article: Article) -> Article:
        return Article.objects.get(id=article.id)

    split = story_article_split(article=fresh(articles[3]), editor=editor)  # the French member, the headline's
    assert_stories_match_the_reference()
    story_article_move(article=fresh(articles[2]), target=fresh(fed).story, editor=editor)
    assert_stories_match_the_reference()
    merged = stories_merge(story=fresh(fed).story, into=fresh(quake).story, editor=editor)
    assert_stories_match_the_reference()
    decision_undo(decision=merged, editor=editor)
    decision_undo(decision=split, editor=editor)
    assert_stories_match_the_reference()


@pytest.mark.django_db(transaction=True)
def test_the_refinement_pass_agrees_with_the_reference():
    """Beat's refinement (newsdesk/coverage/dbrefine.py): a split glued story, then merged fragments."""
    from newsdesk.coverage.dbrefine import stories_refine_recent
    from newsdesk.coverage.decisions import stories_reindex
    from tests.test_coverage_refine import CHILE_EN, JAPAN_EN

    now = timezone.now()
    chile = [make_article(title=t, summary=s, at=now - timedelta(minutes=30 - n)) for n, (t, s) in enumerate(CHILE_EN)]
    japan = [make_article(title=t, summary=s, at=now - timedelta(minutes=20 - n)) for n, (t, s) in enumerate(JAPAN_EN)]
    for article in [*chile, *japan]:
        article_assign_story(article=article)
    glued, japan_story = (Article.objects.get(pk=a.pk).story_id for a in (chile[0], japan[0]))
    # The stream's mistake: both earthquakes in one story (the Japanese one left empty).
    Article.objects.filter(pk__in=[a.pk for a in japan]).update(story_id=glued)
    stories_reindex([glued, japan_story])
    assert stories_refine_recent().created == 1
    assert_stories_match_the_reference()
    # Fragments of one event: the refinement folds one into the other and empties it.
    fragment = Story.objects.create(headline="")
    Article.objects.filter(pk=chile[2].pk).update(story_id=fragment.id)
    stories_reindex([glued, fragment.id])
    assert stories_refine_recent().emptied == 1
    assert_stories_match_the_reference()


@pytest.mark.django_db
def test_a_new_storys_insert_is_the_orms_own(monkeypatch):
    """The fast path's INSERT of a new story, its text compiled once per process, is the
    statement and the values the ORM's compiler gives for that story (dbwrite._story_insert_sql)."""
    from newsdesk.coverage import dbwrite

    at = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: at)  # auto_now_add: both sides stamp the same instant
    english = make_article(title="Strong earthquake shakes the coast", at=T0)
    spanish = make_article(title="Fuerte sismo", language="es", country="", title_en="", at=T0 + timedelta(hours=3))
    for article in (english, spanish, english):  # the second english one reads the cached text
        story = story_first_member(article=article)
        compiled = dbwrite._story_insert_compiled(story_first_member(article=article), dbwrite._story_insert_text()[0])
        assert dbwrite._story_insert_sql(story) == compiled
    assert dbwrite._story_insert_text()[1] == compiled[0]
