"""A page under its site's title is read by the headline its URL spells (h27g5).

A crawl or a poor feed gives some pages the site's title instead of the
article's ("ABC News", "World news - RT International"): an index page, a page
whose text did not load, a copyright footer. Such a page is read by its URL's
slug, and its text only when the text is about what the slug names. A real
headline is never replaced, nor any title when the URL spells no headline.
"""

from __future__ import annotations

import pytest

from newsdesk.coverage import semantic
from newsdesk.coverage.cluster import article_features
from newsdesk.coverage.engine import Params
from newsdesk.coverage.evaluate import Item, items_cluster
from newsdesk.coverage.text import page_headline, page_read, text_features, url_slug
from newsdesk.flow import articles_finish
from newsdesk.models import Article
from tests.support.articles import make_english_article, make_source

ABC_URL = (
    "http://abcnews.go.com/Technology/wireStory/russian-space-experts-regain-control-1st-angola-satellite-52044233"
)
ABC_FOOTER = (
    "External links are provided for reference purposes. ABC News is not responsible for the content of external "
    "Internet sites.\nCopyright © 2018 ABC News Internet Ventures. Yahoo! - ABC News Network"
)
RT_URL = "https://www.rt.com/on-air/414286-angola-satellite-launch-baikonur/"
RT_TEASER = (
    "It is being called the Olympic Truce. After months of over-the-top rhetoric, the two Koreas are talking again "
    "- the first time in two years. Is this a serious diplomatic opening or merely a ploy?"
)
REPORTS = [
    ("Russian space experts regain control of first Angola satellite",
     "Russia's space experts say they have regained control of Angola's first satellite, launched from the "
     "Baikonur pad in Kazakhstan on Tuesday, after contact was lost."),
    ("Contact lost with Angola's first satellite after Baikonur launch",
     "Contact has been lost with AngoSat-1, Angola's first satellite, launched on Tuesday from Baikonur on a "
     "Zenit rocket, the Energia corporation said."),
    ("Russia re-establishes contact with Angola satellite",
     "Energia confirmed it had re-established contact with AngoSat-1, Angola's first telecoms satellite, after "
     "the launch from the Baikonur cosmodrome."),
]  # fmt: skip
OTHER = [
    ("Storm closes schools across the north", "Heavy snow closed hundreds of schools and roads on Monday."),
    ("Central bank holds rates steady", "The bank kept its main rate unchanged, citing slowing inflation."),
    ("Champions win the cup final on penalties", "The holders beat the league leaders in a shootout on Saturday."),
    ("Parliament passes the budget bill", "Lawmakers approved the spending plan after a long night session."),
]


def test_a_site_s_own_title_gives_way_to_the_url_s_headline():
    assert page_headline(title="ABC News", url=ABC_URL) == "russian space experts regain control angola satellite"
    # The site named beside a section: "RT International" for rt.com.
    assert page_headline(title="World news - RT International", url=RT_URL) == "angola satellite launch baikonur"


@pytest.mark.parametrize(
    ("title", "url"),
    [
        # The story's headline beside the site's name shares the slug's words: kept.
        ("Angola satellite contact restored - RT International", RT_URL),
        ("Russian experts regain control of Angola satellite | ABC News", ABC_URL),
        # A headline that does not name the site is the article's, whatever its URL says.
        ("Equifax hack attack", "https://www.rt.com/shows/boom-bust/402559-hurricane-harvey-irma-damage/"),
        # The site's title, but a URL that spells no headline (an id, a section): nothing better to read.
        ("ABC News", "http://abcnews.go.com/International/story?id=52044233"),
        ("ABC News", "http://abcnews.go.com/world/news-52044233"),
        ("ABC News", ""),
    ],
)
def test_a_real_headline_or_a_url_without_one_keeps_the_title(title, url):
    assert page_headline(title=title, url=url) == title


def test_a_slug_is_the_path_segment_with_most_words_without_figures_or_extensions():
    assert url_slug("https://example.org/2017/12/29/russian-space-experts-regain-control.html") == (
        "russian space experts regain control"
    )
    assert url_slug("https://example.org/news/world_cup_final_report_12345.cms") == "world cup final report"
    assert url_slug("https://example.org/a/b-1234/c") == ""


def test_a_site_titled_page_s_text_is_read_only_when_it_is_about_the_url_s_headline():
    assert page_read(title="ABC News", url=ABC_URL, lead=ABC_FOOTER) == (
        page_headline(title="ABC News", url=ABC_URL),
        "",
    )
    assert page_read(title="World news - RT International", url=RT_URL, lead=RT_TEASER)[1] == ""
    lead = REPORTS[1][1]
    assert page_read(title="World news - RT International", url=RT_URL, lead=lead)[1] == lead
    # A real headline's lead is left to the usual test (semantic.lead_unrelated), not this one.
    assert page_read(title="Equifax hack attack", url=RT_URL, lead=ABC_FOOTER) == ("Equifax hack attack", ABC_FOOTER)


def _stream(junk: list[tuple[str, str, str]]) -> tuple[dict[int, int], int]:
    items = [Item(key=n, at=0.0, title=t, body=b, cluster="other") for n, (t, b) in enumerate(OTHER, 1)]
    items += [Item(key=10 + n, at=0.0, title=t, body=b, cluster="angola") for n, (t, b) in enumerate(REPORTS)]
    items += [Item(key=20 + n, at=0.0, title=t, body=b, cluster="angola", url=u) for n, (t, b, u) in enumerate(junk)]
    return items_cluster(items, params=Params()), 20


def test_site_titled_pages_join_the_story_their_urls_name():
    pages = [("ABC News", ABC_FOOTER, ABC_URL), ("World news - RT International", RT_TEASER, RT_URL)]
    predicted, first = _stream(pages)
    story = predicted[10]
    assert {predicted[11], predicted[12]} == {story}
    assert predicted[first] == predicted[first + 1] == story
    assert story not in {predicted[k] for k in range(1, 5)}
    # Without their URLs they are read by the site's title and its footer or teaser: nothing of the story.
    predicted, first = _stream([(t, b, "") for t, b, _ in pages])
    assert story not in {predicted[first], predicted[first + 1]}


@pytest.mark.django_db
def test_enrichment_reads_a_site_titled_article_by_its_url(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "off"  # the word test alone: no model needed to drop the footer
    source = make_source(language="en", country="US", enabled=False)
    page = make_english_article(source=source, title="ABC News", summary=ABC_FOOTER, url=ABC_URL)
    slug = page_headline(title="ABC News", url=ABC_URL)
    assert article_features(article=page, grams=False).terms == text_features(title=slug, grams=False).terms
    assert semantic.article_lead_unrelated(page)
    assert semantic.article_english_text(page) == semantic.embed_text(title=slug, lead="")
    # The same title under a URL without a headline: read as it is, footer included (no model to judge it).
    plain = make_english_article(source=source, title="ABC News", summary=ABC_FOOTER)
    assert "extern" in article_features(article=plain, grams=False).terms
    page.refresh_from_db()
    assert page.title_orig == "ABC News"  # what the card shows is untouched


@pytest.mark.django_db(transaction=True)
def test_a_site_titled_page_joins_its_story_in_enrichment(settings):
    settings.NEWSDESK_COVERAGE_SEMANTIC = "off"
    sources = [make_source(language="en", country="US", enabled=False) for _ in range(4)]
    articles = [make_english_article(source=s, title=t, summary=b) for s, (t, b) in zip(sources, REPORTS, strict=False)]
    page = make_english_article(source=sources[3], title="ABC News", summary=ABC_FOOTER, url=ABC_URL)
    result = articles_finish(article_ids=[a.id for a in articles] + [page.id])
    assert not result.failed
    stories = set(
        Article.objects.filter(id__in=[a.id for a in articles] + [page.id]).values_list("story_id", flat=True)
    )
    assert len(stories) == 1 and None not in stories
