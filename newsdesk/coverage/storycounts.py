"""A story's figures and headline: one definition, in each form a writer needs.

A story shows how many articles, outlets, countries and languages cover it,
when it was first and last published, and an English headline:

- ``article_count`` counts members; ``source_count`` distinct sources;
  ``country_count`` and ``language_count`` distinct non-empty values;
  ``first_published_at`` and ``last_published_at`` the earliest and latest
  member.
- **The first English title names the story**: the headline is the
  ``title_en`` of the earliest member (by ``published_at``, then id) that
  has one and is English (translated, or English already). A story without
  such a member keeps its headline, and one without a headline takes its
  earliest member's display title.

:func:`story_figures` (a recount in the ORM) is the reference, and
:func:`story_refresh_counts` saves what it finds. The
other forms exist for speed, and tests/test_coverage_storycounts.py runs
every writer and compares what it left with the reference:

- :func:`stories_refresh_counts`: many stories at once (``recluster``),
  two statements on PostgreSQL;
- :func:`story_first_member`: a new story's figures from its one article;
- :func:`story_join_sql`: the in-place update of a story gaining one
  article (PostgreSQL's fast path), which needs no recount.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import connection
from django.db.models import Count, Max, Min, Q

from newsdesk.models import Article, Story, TranslationStatus

# Members with an English title in these states may name their story.
ENGLISH_STATUSES = (TranslationStatus.DONE.value, TranslationStatus.NOT_NEEDED.value)
# The same test, as an ORM filter and as SQL over an article table alias
# (the statuses are our own constants, safe to inline).
_ENGLISH_Q = Q(translation_status__in=ENGLISH_STATUSES, title_en__gt="")
_ENGLISH_IN = ", ".join(f"'{status}'" for status in ENGLISH_STATUSES)


def _english_sql(alias: str) -> str:
    return f"({alias}.translation_status IN ({_ENGLISH_IN}) AND {alias}.title_en > '')"


def article_names_story(article: Article) -> bool:
    """Whether the article's title may name a story (it is English and has an English title).

    ``article`` may be any row with ``translation_status`` and ``title_en`` (the story page's card rows).
    """
    return article.translation_status in ENGLISH_STATUSES and bool(article.title_en)


def story_figures(*, story: Story) -> dict[str, object]:
    """What the rules give ``story`` from its members now: field name to value (nothing is saved)."""
    agg = story.articles.aggregate(
        article_count=Count("id"),
        source_count=Count("source", distinct=True),
        country_count=Count("country", distinct=True, filter=~Q(country="")),
        language_count=Count("language", distinct=True, filter=~Q(language="")),
        first_published_at=Min("published_at"),
        last_published_at=Max("published_at"),
    )
    english = (
        story.articles.filter(_ENGLISH_Q).order_by("published_at", "id").values_list("title_en", flat=True).first()
    )
    if english:
        headline = english
    elif story.headline:
        headline = story.headline
    else:
        first = story.articles.order_by("published_at", "id").first()
        headline = first.display_title if first else ""
    return {**agg, "headline": headline}


def story_refresh_counts(*, story: Story) -> None:
    """Recount the story's figures and pick its headline from its members; save it."""
    for field, value in story_figures(story=story).items():
        setattr(story, field, value)
    story.save()


def stories_refresh_counts(*, ids: Sequence[int] | None = None) -> None:
    """:func:`story_refresh_counts` for the given stories (all when ``ids`` is None).

    On PostgreSQL three statements serve any number of stories (a rebuild
    recounts every story at once); elsewhere each story is recounted.
    """
    stories = Story.objects.all() if ids is None else Story.objects.filter(id__in=ids)
    if connection.vendor != "postgresql":
        for story in stories.iterator(chunk_size=1000):
            story_refresh_counts(story=story)
        return
    art, sto = Article._meta.db_table, Story._meta.db_table
    members = "story_id IS NOT NULL" if ids is None else "story_id = ANY(%(ids)s)"
    chosen = "" if ids is None else "AND s.id = ANY(%(ids)s)"
    params = {"ids": list(ids or ())}
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {sto} s SET article_count = a.n, source_count = a.sources, country_count = a.countries, "  # noqa: S608
            "language_count = a.languages, first_published_at = a.first, last_published_at = a.last, "
            "updated_at = now() FROM (SELECT story_id, count(*) n, count(DISTINCT source_id) sources, "
            "count(DISTINCT NULLIF(country, '')) countries, count(DISTINCT NULLIF(language, '')) languages, "
            f"min(published_at) first, max(published_at) last FROM {art} WHERE {members} "
            "GROUP BY story_id) a WHERE s.id = a.story_id",
            params,
        )
        # Stories left without members (merged away, emptied by a rebuild).
        cursor.execute(
            f"UPDATE {sto} s SET article_count = 0, source_count = 0, country_count = 0, language_count = 0, "  # noqa: S608
            "first_published_at = NULL, last_published_at = NULL, updated_at = now() "
            f"WHERE (s.article_count <> 0 OR s.first_published_at IS NOT NULL) {chosen} "
            f"AND NOT EXISTS (SELECT 1 FROM {art} m WHERE m.story_id = s.id)",
            params,
        )
        # Each story's earliest English member, else its earliest member.
        cursor.execute(
            f"UPDATE {sto} s SET headline = h.title FROM (SELECT DISTINCT ON (story_id) story_id, "  # noqa: S608
            f"{_english_sql(art)} AS english, COALESCE(NULLIF(title_en, ''), title_orig) AS title "
            f"FROM {art} WHERE {members} ORDER BY story_id, {_english_sql(art)} DESC, published_at, id) h "
            "WHERE s.id = h.story_id AND (h.english OR s.headline = '') AND s.headline IS DISTINCT FROM h.title",
            params,
        )


def story_first_member(*, article: Article) -> Story:
    """An unsaved story whose only member is ``article``, its figures already current."""
    return Story(
        headline=article.title_en if article_names_story(article) else article.display_title,
        article_count=1,
        source_count=1,
        country_count=int(bool(article.country)),
        language_count=int(bool(article.language)),
        first_published_at=article.published_at,
        last_published_at=article.published_at,
    )


def story_join_sql(*, story: int, article: Article, now: datetime, returning: str) -> tuple[str, list]:
    """An UPDATE counting ``article`` into ``story`` in place, rather than recounting it.

    Run it before the article's link is written and after the story's row
    lock, so the membership it looks at is current: every writer of a
    story's membership holds that lock.
    """
    sto, art = Story._meta.db_table, Article._meta.db_table
    # The story's other members, read through the story's index alone: the
    # fence (OFFSET 0) keeps the planner from also reading the source,
    # language or translation index and intersecting, which it chose with
    # the statistics of a young table (this statement is prepared and its
    # plan kept) and which reads a whole language's articles for each join.
    cols = "o.id, o.source_id, o.country, o.language, o.translation_status, o.title_en, o.published_at"
    others = f"SELECT 1 FROM (SELECT {cols} FROM {art} o WHERE o.story_id = %s AND o.id <> %s OFFSET 0) o WHERE TRUE"  # noqa: S608
    sql = (
        f"UPDATE {sto} SET article_count = article_count + 1, "  # noqa: S608
        f"source_count = source_count + (NOT EXISTS ({others} AND o.source_id = %s))::int, "
        f"country_count = country_count + (%s <> '' AND NOT EXISTS ({others} AND o.country = %s))::int, "
        f"language_count = language_count + (%s <> '' AND NOT EXISTS ({others} AND o.language = %s))::int, "
        "first_published_at = LEAST(first_published_at, %s), last_published_at = GREATEST(last_published_at, %s), "
        f"headline = CASE WHEN %s AND NOT EXISTS ({others} AND {_english_sql('o')} "
        "AND (o.published_at, o.id) < (%s, %s)) THEN %s ELSE headline END, updated_at = %s "
        f"WHERE id = %s RETURNING {returning}"
    )
    me, pub = article.id, article.published_at
    params = [
        *(story, me, article.source_id),
        *(article.country, story, me, article.country),
        *(article.language, story, me, article.language),
        pub,
        pub,
        *(article_names_story(article), story, me, pub, me, article.title_en),
        now,
        story,
    ]
    return sql, params
