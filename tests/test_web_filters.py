"""ArticleFilter: allowlisted parameters, combinable filters, canonical URLs; keyset pages."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from newsdesk.models import Article, TranslationStatus
from newsdesk.web.filters import ArticleFilter
from newsdesk.web.pagination import cursor_condition, cursor_encode, keyset_page
from tests.support.articles import BASE_TIME, make_article, make_source, make_story


def _filter(**params) -> ArticleFilter:
    return ArticleFilter.from_query(QueryDict(urlencode(params, doseq=True)))


def test_parse_valid_values():
    flt = _filter(
        country=["mx", "Spain"],
        lang="ES",
        source=["3", "3", "4"],
        category=" Economía ",
        status="failed",
        coverage="3",
        q=' "critical minerals" ',
        sort="covered",
        **{"from": "2026-02-09", "to": "2026-02-01"},
    )
    assert flt.country == ("MX", "ES")
    assert flt.lang == ("es",)
    assert flt.source == (3, 4)
    assert flt.category == "Economía"
    assert flt.status == "failed"
    assert flt.coverage == 3
    assert flt.q == '"critical minerals"'
    assert flt.sort == "covered"
    assert (flt.date_from, flt.date_to) == (date(2026, 2, 1), date(2026, 2, 9))  # swapped into order
    assert flt.ignored == ()
    assert ArticleFilter.from_query(QueryDict(flt.as_query())) == flt


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("country", "Atlantis"),
        ("country", "M1"),
        ("lang", "español"),
        ("lang", "e"),
        ("source", "abc"),
        ("source", "-1"),
        ("status", "done'"),
        ("coverage", "0"),
        ("coverage", "100000"),
        ("coverage", "two"),
        ("sort", "random"),
        ("from", "2026-02-30"),
        ("to", "09/02/2026"),
    ],
)
def test_invalid_values_are_dropped_and_named(param, value):
    flt = _filter(**{param: value})
    assert flt.is_empty
    assert flt.ignored == (param,)


def test_coverage_one_means_no_filter():
    assert _filter(coverage="1").coverage is None


@pytest.fixture
def desk(db):
    mx = make_source(name="El Financiero", country="MX", language="es")
    fr = make_source(name="Le Monde", country="FR", language="fr")
    big, small = make_story(sources=5), make_story(sources=2)
    return {
        "mx_old": make_article(source=mx, minutes_ago=60 * 24 * 3, story=small, category="Economía"),
        "mx_new": make_article(source=mx, minutes_ago=5, story=big, status=TranslationStatus.PENDING),
        "fr": make_article(source=fr, minutes_ago=10, story=big, title_en="Lithium in France"),
        "fr_alone": make_article(source=fr, minutes_ago=20, title_en="Lithium alone"),
        "mx": mx,
        "fr_source": fr,
    }


def _names(desk, flt: ArticleFilter) -> list[str]:
    by_id = {a.id: name for name, a in desk.items() if hasattr(a, "published_at")}
    return [by_id[a.id] for a in flt.queryset()]


def test_filters_combine(desk):
    assert _names(desk, _filter()) == ["mx_new", "fr", "fr_alone", "mx_old"]
    assert _names(desk, _filter(country="MX")) == ["mx_new", "mx_old"]
    assert _names(desk, _filter(country=["MX", "FR"], lang="fr")) == ["fr", "fr_alone"]
    assert _names(desk, _filter(source=desk["fr_source"].id, q="lithium")) == ["fr", "fr_alone"]
    assert _names(desk, _filter(category="economía")) == ["mx_old"]
    assert _names(desk, _filter(status="pending")) == ["mx_new"]
    assert _names(desk, _filter(coverage="3")) == ["mx_new", "fr"]
    assert _names(desk, _filter(coverage="3", country="FR", q="lithium")) == ["fr"]
    day = (BASE_TIME - timedelta(days=3)).date().isoformat()
    assert _names(desk, _filter(**{"from": day, "to": day})) == ["mx_old"]
    assert _names(desk, _filter(**{"to": day})) == ["mx_old"]
    assert _names(desk, _filter(**{"from": BASE_TIME.date().isoformat()})) == ["mx_new", "fr", "fr_alone"]


def test_most_covered_sort(desk):
    # Only articles grouped into a story are ranked by coverage.
    assert _names(desk, _filter(sort="covered")) == ["mx_new", "fr", "mx_old"]


def test_most_covered_keeps_each_story_together_newest_story_first(db):
    # Two stories with the same outlet count whose articles interleave in
    # time: the list shows the later story's articles, then the earlier's,
    # each newest first; a story with more outlets comes before both.
    src = make_source()
    early, late, top = make_story(sources=3), make_story(sources=3), make_story(sources=4)
    e1 = make_article(source=src, story=early, minutes_ago=10)
    l1 = make_article(source=src, story=late, minutes_ago=20)
    e2 = make_article(source=src, story=early, minutes_ago=30)
    l2 = make_article(source=src, story=late, minutes_ago=40)
    t1 = make_article(source=src, story=top, minutes_ago=50)
    got = [a.id for a in _filter(sort="covered").queryset()]
    assert got == [t1.id, l1.id, l2.id, e1.id, e2.id]
    # and a page break inside a story resumes inside it
    first = keyset_page(_filter(sort="covered").queryset(), cursor="", size=2, sort="covered")
    second = keyset_page(_filter(sort="covered").queryset(), cursor=first.next_cursor, size=2, sort="covered")
    assert [a.id for a in first.items + second.items] == got[:4]


@pytest.mark.parametrize("sort", ["newest", "covered"])
def test_keyset_pages_cover_everything_once(db, sort):
    sources = [make_source() for _ in range(3)]
    stories = [make_story(sources=n) for n in (1, 2, 2, 3, 7)]
    expected = []
    for i in range(23):
        story = stories[i % 6] if i % 6 < 5 else None  # some articles have no story
        expected.append(make_article(source=sources[i % 3], story=story, minutes_ago=i // 3).id)  # ties
    flt = _filter(sort=sort)
    full = [a.id for a in flt.queryset()]
    if sort == "covered":
        expected = [a.id for a in Article.objects.filter(id__in=expected, story__isnull=False)]
    assert sorted(full) == sorted(expected)
    walked, cursor = [], ""
    while True:
        page = keyset_page(flt.queryset(), cursor=cursor, size=4, sort=sort)
        walked += [a.id for a in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert walked == full


@pytest.mark.parametrize("raw", ["", "x", "1_", "_1", "n_1.000000_1", "1e9_1", "99999999999999.000000_1", "5_1.5_1"])
def test_bad_cursors_mean_first_page(raw):
    assert cursor_condition(raw, sort="newest") is None or raw == ""


@pytest.mark.parametrize(
    "raw", ["x", "5_1.000000_1", "n_3_1.000000_1", "5_x_1.000000_1", "5_3_99999999999999.000000_1", "5_3_1.5_1"]
)
def test_bad_covered_cursors_mean_first_page(raw):
    # including a cursor of the earlier (count, published, id) shape
    assert cursor_condition(raw, sort="covered") is None


def test_covered_cursor_round_trip(db):
    story = make_story(sources=3)
    article = make_article(source=make_source(), story=story)
    raw = cursor_encode(Article.objects.select_related("story").get(id=article.id), sort="covered")
    assert raw.startswith(f"3_{story.id}_")
    assert cursor_condition(raw, sort="covered") is not None
