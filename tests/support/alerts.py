"""Stories built from articles, with counters recounted the way the coverage stage does, for alert tests."""

from __future__ import annotations

from newsdesk.coverage.cluster import story_refresh_counts
from newsdesk.models import Article, Source, Story
from tests.support.accounts import make_article, make_source

COUNTRIES = {"MX": "es", "FR": "fr", "DE": "de", "BR": "pt", "JP": "ja", "US": "en", "IT": "it"}


def outlet(country: str) -> Source:
    return make_source(name=f"Outlet {country}", country=country, language=COUNTRIES[country])


def story_of(*articles: Article) -> Story:
    story = Story.objects.create(headline="")
    Article.objects.filter(id__in=[a.id for a in articles]).update(story=story)
    story_refresh_counts(story=story)
    return story


def story_add(story: Story, *articles: Article) -> Story:
    """Articles join ``story`` (the refinement pass or an editor moving them); counters recounted."""
    olds = {a.story_id for a in Article.objects.filter(id__in=[a.id for a in articles])} - {None, story.id}
    Article.objects.filter(id__in=[a.id for a in articles]).update(story=story)
    for old in Story.objects.filter(id__in=olds):
        story_refresh_counts(story=old)
    story.refresh_from_db()
    story_refresh_counts(story=story)
    return story


def story_merge(*, source: Story, target: Story) -> Story:
    """Fold ``source`` into ``target`` as a merge does: members move, ``source`` points at the survivor."""
    Article.objects.filter(story=source).update(story=target)
    Story.objects.filter(id=source.id).update(merged_into=target, article_count=0)
    target.refresh_from_db()
    story_refresh_counts(story=target)
    return target


def article_in(country: str, title: str, *, minutes_ago: int = 0) -> Article:
    return make_article(outlet(country), title, minutes_ago=minutes_ago)
