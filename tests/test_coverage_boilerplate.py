"""Boilerplate leads are no evidence of one story (h23boil).

A feed that repeats one text in every item (a tagline, a newsletter footer, a
blocked-crawler page) must not glue its unrelated items into one story; the
same event under such a lead still groups by its titles; a lead two items
share is syndication, one story.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from newsdesk.coverage import boilerplate, dbboilerplate, semantic
from newsdesk.coverage.boilerplate import TITLES_KEPT, BoilerplateCounts, lead_keys, lead_segments, lead_strip
from newsdesk.coverage.dbboilerplate import articles_boilerplate, boilerplate_prune, boilerplate_segments
from newsdesk.coverage.engine import Params
from newsdesk.coverage.evaluate import Pair, pairs_score
from newsdesk.coverage.recluster import articles_recluster
from newsdesk.flow import articles_finish
from newsdesk.models import Article, CoverageBoilerplate
from newsdesk.tasks import prune_coverage_boilerplate
from tests.support.articles import make_english_article, make_source

TAGLINE = (
    "The Millbrook Ledger brings you the latest local news, weather, sports and community events from "
    "across Millbrook County every morning. Subscribe to our newsletter for breaking alerts."
)
UNRELATED = [
    "Council approves longer library opening hours",
    "Storm knocks out power to thousands in Eastside",
    "High school rowing team wins state final",
    "New bakery opens its doors on Main Street",
]
BLOCKED = (
    "Przykro nam, ale z adresu IP z którego się łączysz odnotowaliśmy ogromną ilość połączeń.\n\n"
    "Podejrzewamy, że ktoś nadużył adresu IP, z którego korzystasz.\n\n"
    'Jeśli chcesz połączyć się z nami zaznacz "NIE JESTEM ROBOTEM".\n\nTwój adres IP: {ip}'
)


def test_a_segment_is_keyed_without_its_figures_and_a_short_piece_joins_its_neighbour():
    one, two = BLOCKED.format(ip="207.241.233.113"), BLOCKED.format(ip="207.241.231.132")
    assert lead_keys(one) == lead_keys(two)
    # "Twój adres IP: ..." (three words) is part of the sentence before it, not a segment of its own.
    assert len(lead_segments(one)) == 3
    assert lead_segments(one)[-1][0].rstrip().endswith("207.241.233.113")
    assert lead_keys("Too short to judge.") == []


def test_counts_need_three_titles_and_strip_only_the_repeated_sentences():
    counts = BoilerplateCounts()
    news = "The mayor said the bridge would reopen to traffic next week after repairs."
    counts.add(title=UNRELATED[0], lead=f"{TAGLINE} {news}")
    counts.add(title=UNRELATED[1], lead=TAGLINE)
    assert counts.boilerplate(TAGLINE) == frozenset()  # two titles: syndication, not boilerplate
    counts.add(title=UNRELATED[1], lead=TAGLINE)  # the same title again adds nothing
    assert counts.boilerplate(TAGLINE) == frozenset()
    counts.add(title=UNRELATED[2], lead=TAGLINE)
    assert counts.boilerplate(TAGLINE) == frozenset(lead_keys(TAGLINE))
    assert counts.strip(f"{TAGLINE} {news}") == news
    assert counts.strip(TAGLINE) == ""
    assert lead_strip(news, counts.boilerplate(TAGLINE)) == news


def test_a_sentence_quoted_under_headlines_of_one_event_is_not_boilerplate():
    quote = "The agency says one worker is being treated for injuries that are not life-threatening."
    counts = BoilerplateCounts()
    for title in (
        "NYC subway work trains collide in tunnel, 1 worker injured",
        "NYC Subway Work Trains Collide in Tunnel",
        "Two subway work trains collide in Manhattan tunnel",
        "Work trains collide and one worker is injured",
    ):
        counts.add(title=title, lead=quote)
    assert counts.boilerplate(quote) == frozenset()
    counts.add(title="Woman stunned to find electric bill listed as $284 billion", lead=quote)
    counts.add(title="Fireball lights up evening sky in New England", lead=quote)
    assert counts.boilerplate(quote) == frozenset(lead_keys(quote))


def test_eval_pairs_drop_a_page_repeated_under_three_addresses_before_cutting_a_title():
    page = BLOCKED.format(ip="207.241.233.113")
    other = "Zakaz handlu w Nowym Roku. Które sklepy będą otwarte 1 stycznia? Biedronka i Lidl zamknięte."
    addresses = ["zakaz-handlu-w-niedziele", "wroclaw-mpk-za-darmo", "prognoza-pogody-na-zime", "sklepy-w-nowy-rok"]
    a, b, c, d = (f"https://pl{n}.example/{slug}/ar/{n}" for n, slug in enumerate(addresses))
    pairs = [
        Pair(a_title="", a_body=page, b_title="", b_body=page, overall=4.0, a_url=a, b_url=b),
        Pair(a_title="", a_body=page, b_title="", b_body=other, overall=4.0, a_url=c, b_url=d),
    ]
    assert pairs_score(pairs, params=Params()) == [0.0, 0.0]
    # Two addresses only: the same page on both sides is one text, scored as such.
    assert pairs_score(pairs[:1], params=Params())[0] > 0.9


@pytest.mark.skipif(
    not all(map(semantic._importable, semantic.USE_V3.packages)), reason="the default install's encoder is absent"
)
def test_eval_pairs_embed_no_empty_text_as_production_stores_no_vector_for_one(settings):
    """A text left empty by the boilerplate rule has no embedding, as ``article_semantic_text`` gives none:
    two empty sides are not one story by their (identical) vectors of nothing."""
    settings.NEWSDESK_COVERAGE_SEMANTIC_MODEL = semantic.USE_V3.key
    page = BLOCKED.format(ip="207.241.233.113")
    other = "Zakaz handlu w Nowym Roku. Które sklepy będą otwarte 1 stycznia? Biedronka i Lidl zamknięte."
    slugs = ["zakaz-handlu-w-niedziele", "wroclaw-mpk-za-darmo", "prognoza-pogody-na-zime", "sklepy-w-nowy-rok"]
    a, b, c, d = (f"https://pl{n}.example/{slug}/ar/{n}" for n, slug in enumerate(slugs))
    pairs = [
        Pair(a_title="", a_body=page, b_title="", b_body=page, overall=4.0, a_url=a, b_url=b),
        Pair(a_title="", a_body=page, b_title="", b_body=other, overall=4.0, a_url=c, b_url=d),
        Pair(a_title="", a_body=other, b_title="", b_body=other, overall=1.0, a_url=d, b_url=d),
    ]
    read: list[str] = []

    def embed(texts: list[str]):
        read.extend(texts)
        return semantic.encoder().embed(texts)

    params = Params(semantic_weight=semantic.USE_V3.weight, semantic_floor=semantic.USE_V3.floor)
    scores = pairs_score(pairs, params=params, embed=embed)
    # The three texts of ``other`` (title and lead); the page's sides are empty. Its lead repeats no word of
    # its title, so the off-topic check (semantic.lead_unrelated) also reads each alone, and keeps the lead.
    whole = "Zakaz handlu w Nowym Roku. Które sklepy będą otwarte 1 stycznia? Biedronka i Lidl zamknięte."
    assert "" not in read and read.count(whole) == 3
    assert not any("adres" in text for text in read)
    assert scores[:2] == [0.0, 0.0]
    assert scores[2] > 0.9  # a text with words still reads its vector: the same text on both sides


def _finish(source, titles: list[str], lead: str) -> list[Article]:
    articles = [make_english_article(source=source, title=t, summary=lead) for t in titles]
    result = articles_finish(article_ids=[a.id for a in articles])
    assert not result.failed
    return [Article.objects.get(id=a.id) for a in articles]


@pytest.mark.django_db(transaction=True)  # the rebuild truncates the index (PostgreSQL)
def test_unrelated_items_sharing_a_boilerplate_lead_do_not_share_a_story():
    source = make_source(language="en", country="US", enabled=False)
    items = _finish(source, UNRELATED, TAGLINE)
    assert len({a.story_id for a in items}) == len(UNRELATED)
    assert boilerplate_segments() == frozenset(lead_keys(TAGLINE))
    # Once boilerplate, a tagline gains no more rows, however many items carry it.
    rows = CoverageBoilerplate.objects.count()
    _finish(source, ["Police appeal for witnesses after a crash on Route 9"], TAGLINE)
    assert CoverageBoilerplate.objects.count() == rows
    # The rebuild reads the same rule.
    articles_recluster()
    assert len({a.story_id for a in Article.objects.filter(id__in=[a.id for a in items])}) == len(UNRELATED)


@pytest.mark.django_db
def test_without_the_rule_the_same_items_are_glued_by_their_lead(monkeypatch, settings):
    monkeypatch.setattr(dbboilerplate, "BOILERPLATE_TITLES", 10**6)
    # The lexical backend reads every lead: with a model, the off-topic lead check
    # (semantic.lead_unrelated) would keep these items apart on its own, and the test
    # would no longer show what the boilerplate rule does.
    settings.NEWSDESK_COVERAGE_SEMANTIC = "off"
    source = make_source(language="en", country="US", enabled=False)
    items = _finish(source, UNRELATED, TAGLINE)
    assert len({a.story_id for a in items}) < len(UNRELATED)


@pytest.mark.django_db
def test_the_same_event_under_a_boilerplate_lead_groups_by_its_titles():
    source = make_source(language="en", country="US", enabled=False)
    _finish(source, UNRELATED[:3], TAGLINE)
    event = _finish(
        source,
        [
            "Ferry service to Harbor Island suspended after engine fire",
            "Harbor Island ferry suspended after engine fire",
        ],
        TAGLINE,
    )
    assert articles_boilerplate(event, record=False)[event[0].id] == frozenset(lead_keys(TAGLINE))
    assert event[0].story_id == event[1].story_id


@pytest.mark.django_db
def test_a_lead_two_items_share_is_syndication_one_story():
    wire = (
        "Rescuers pulled three miners alive from the flooded Santa Rita shaft on Tuesday after a 40-hour "
        "operation, the regional governor said. Two more workers are still missing underground."
    )
    a, b = make_source(language="en", country="US", enabled=False), make_source(language="en", enabled=False)
    first = _finish(a, ["Three miners rescued alive from flooded shaft"], wire)
    second = _finish(b, ["Santa Rita: rescuers reach trapped workers"], wire)
    assert articles_boilerplate([*first, *second], record=False) == {
        first[0].id: frozenset(),
        second[0].id: frozenset(),
    }
    assert first[0].story_id == second[0].story_id


@pytest.mark.django_db
def test_a_template_sentence_under_related_titles_is_not_boilerplate_and_keeps_its_first_titles_only():
    lead = "Silver futures slumped by Rs {n} to Rs {m} per kg as participants cut their positions."
    for n in range(2 * TITLES_KEPT):
        article = Article(id=n + 1, title_orig=f"Silver futures slump Rs {n} to Rs {n * 7} per kg")
        article.summary_orig = lead.format(n=n, m=n * 3)
        assert articles_boilerplate([article]) == {n + 1: frozenset()}
    assert CoverageBoilerplate.objects.count() == TITLES_KEPT


# -- bounded counts, and recluster's recount (h24rev) ------------------------------------------


def _tagline_rows() -> int:
    return CoverageBoilerplate.objects.filter(segment__in=lead_keys(TAGLINE)).count()


@pytest.mark.django_db
def test_prune_deletes_the_counts_older_than_the_window_and_a_tagline_in_use_is_counted_again(settings):
    settings.NEWSDESK_COVERAGE_BOILERPLATE_DAYS = 14
    source = make_source(language="en", country="US", enabled=False)
    _finish(source, UNRELATED[:3], TAGLINE)
    news = "The mayor said the bridge would reopen to traffic next week after repairs to its deck."
    _finish(source, ["Bridge to reopen next week"], news)
    old = timezone.now() - timedelta(days=20)
    CoverageBoilerplate.objects.filter(segment__in=lead_keys(TAGLINE)).update(seen_at=old)
    recent = CoverageBoilerplate.objects.exclude(segment__in=lead_keys(TAGLINE)).count()
    assert recent and _tagline_rows()
    assert boilerplate_prune(now=timezone.now(), batch_size=2) == len(lead_keys(TAGLINE)) * 3
    assert _tagline_rows() == 0 and CoverageBoilerplate.objects.count() == recent
    assert boilerplate_segments() == frozenset()
    assert prune_coverage_boilerplate() == 0  # the beat task: nothing left to prune
    # The tagline's next items count it again: one batch of a feed's poll is enough.
    poll = ["Police appeal for witnesses after a crash on Route 9", "Farmers market moves to the old rail depot"]
    later = _finish(source, [*poll, *UNRELATED[3:]], TAGLINE)
    assert boilerplate_segments() == frozenset(lead_keys(TAGLINE))
    assert len({a.story_id for a in later}) == len(later)


@pytest.mark.django_db
def test_prune_is_bounded_per_run_and_zero_keeps_everything(settings):
    source = make_source(language="en", country="US", enabled=False)
    _finish(source, UNRELATED[:3], TAGLINE)
    CoverageBoilerplate.objects.update(seen_at=timezone.now() - timedelta(days=400))
    total = CoverageBoilerplate.objects.count()
    settings.NEWSDESK_COVERAGE_BOILERPLATE_DAYS = 0
    assert boilerplate_prune(now=timezone.now()) == 0
    settings.NEWSDESK_COVERAGE_BOILERPLATE_DAYS = 30
    assert total > 2
    assert boilerplate_prune(now=timezone.now(), batch_size=1, max_batches=2) == 2
    assert CoverageBoilerplate.objects.count() == total - 2
    assert boilerplate_prune(now=timezone.now()) == total - 2


@pytest.mark.django_db(transaction=True)  # the rebuild truncates the index (PostgreSQL)
def test_recluster_recounts_the_boilerplate_from_the_articles_it_replays():
    source = make_source(language="en", country="US", enabled=False)
    items = _finish(source, UNRELATED, TAGLINE)
    # As after an upgrade from before the counts (or a prune), plus a row of no stored article.
    CoverageBoilerplate.objects.all().delete()
    CoverageBoilerplate.objects.create(segment="0" * 16, title="1" * 16, words="gone article")
    fetched = timezone.now() - timedelta(days=3)
    Article.objects.filter(id__in=[a.id for a in items]).update(fetched_at=fetched)
    articles_recluster()
    assert boilerplate_segments() == frozenset(lead_keys(TAGLINE))
    assert not CoverageBoilerplate.objects.filter(segment="0" * 16).exists()
    # Each recounted row is dated by its article's fetch, so it ages out as enrichment's rows do.
    assert set(CoverageBoilerplate.objects.values_list("seen_at", flat=True)) == {fetched}
    assert len({a.story_id for a in Article.objects.filter(id__in=[a.id for a in items])}) == len(UNRELATED)


@pytest.mark.django_db
def test_recluster_since_counts_the_recent_articles_it_replays():
    source = make_source(language="en", country="US", enabled=False)
    items = _finish(source, UNRELATED, TAGLINE)
    CoverageBoilerplate.objects.all().delete()
    since = min(a.published_at for a in items)
    articles_recluster(since=since)
    assert boilerplate_segments() == frozenset(lead_keys(TAGLINE))
    assert len({a.story_id for a in Article.objects.filter(id__in=[a.id for a in items])}) == len(UNRELATED)


@pytest.mark.django_db
def test_a_batch_read_in_chunks_finds_what_one_read_finds(monkeypatch):
    """A recount batch's segments are read in chunks (bind limits): the same boilerplate either way."""
    source = make_source(language="en", country="US", enabled=False)
    news = "The mayor said the bridge would reopen to traffic next week after repairs to its deck."
    _finish(source, UNRELATED[:3], TAGLINE)
    batch = [
        Article(id=10_000 + n, title_orig=title, summary_orig=f"{news} {TAGLINE}") for n, title in enumerate(UNRELATED)
    ]
    whole = articles_boilerplate(batch, record=False)
    monkeypatch.setattr(dbboilerplate, "_IN_CHUNK", 1)
    assert articles_boilerplate(batch, record=False) == whole
    assert set(whole.values()) == {frozenset(lead_keys(TAGLINE))}


@pytest.mark.parametrize(
    "text",
    [
        "Zürich's 2nd ring road closed; café au lait x²",
        "Ciudad de México: 12 muertos; el día ٣ de noviembre (①) y 4K",
        "Moskau meldet ²³ neue Fälle ohne Zahl",
        "",
    ],
)
def test_words_drop_the_same_figures_as_the_character_rule(text):
    """A word of letters only skips the per-character test: the words kept are those it keeps."""
    folded = [boilerplate.word_fold(m) for m in boilerplate._WORD.findall(text)]
    assert boilerplate._words(text) == [w for w in folded if not any(c.isdigit() for c in w)]


def test_a_lead_cut_again_gives_the_same_segments_and_a_list_of_its_own():
    lead = "Read the full story at Example News. Your IP 10.0.0.1 is logged. Sentence three is here now."
    boilerplate._segments.cache_clear()
    first = lead_segments(lead)
    first.append(("changed by the caller", None))
    second = lead_segments(lead)
    assert boilerplate._segments.cache_info().hits == 1
    assert second == first[:-1] and second is not first
    boilerplate._segments.cache_clear()
    assert lead_segments(lead) == second
    # Only the start is cut: a longer lead's tail changes nothing.
    assert lead_segments(lead + " x" * 1000) == lead_segments((lead + " x" * 1000)[: boilerplate.LEAD_CHARS])


def test_an_articles_segments_are_those_of_its_original_and_its_english_lead_read_once_when_equal():
    from newsdesk.coverage.boilerplate import lead_keys
    from newsdesk.coverage.dbboilerplate import _article_keys
    from newsdesk.models import Article

    original = "Der Vorstand tagte am Montag in Berlin. Die Sitzung dauerte bis in den späten Abend hinein."
    english = "The board met in Berlin on Monday. The meeting lasted until late in the evening."
    translated = Article(summary_orig=original, summary_en=english)
    assert _article_keys(translated) == {*lead_keys(original), *lead_keys(english)}
    assert lead_keys(original) and lead_keys(english) and not set(lead_keys(original)) & set(lead_keys(english))
    untranslated = Article(summary_orig=english, summary_en=english)
    assert _article_keys(untranslated) == set(lead_keys(english))
    assert _article_keys(Article(summary_orig=english, summary_en="")) == set(lead_keys(english))
