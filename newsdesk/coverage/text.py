"""Language-agnostic features of an article's text.

Translation can be pending or failed, and outlets write the same names in
different scripts and inflections, so the features are built to survive that:
accents are folded and common scripts transliterated (``Erdoğan`` and
``Erdogan``, ``Зеленский`` and ``Zelenskij`` meet), words are cut to a short
prefix (a cheap stemmer that works the same in every language: ``president``,
``presidente``, ``presidential``), and character n-grams inside words catch
cognates and inflected names that prefixes miss. Capitalised words and numbers
are kept apart as "names", the evidence that travels best across languages.
Scripts written without spaces (Chinese, Japanese, Thai...) are cut into
overlapping character pairs or triples, and combining marks (Devanagari vowel
signs, Arabic vowel points) stay inside their word.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

# A short prefix is the stem. Six letters keep "minister"/"ministro"/"minist..."
# together while still separating most unrelated words.
STEM_LEN = 6
GRAM_LEN = 4
# Headlines carry the event; the lead adds names and detail.
TITLE_WEIGHT = 2.0

_CYRILLIC = "абвгдезийклмнопрстуфхцыэюяёіїєґђјљњћџ"
_CYRILLIC_LATIN = "a b v g d e z i i k l m n o p r s t u f h c y e yu ya e i i e g d j l n c d"
_GREEK = "αβγδεζηθικλμνξοπρστυφχψως"
_GREEK_LATIN = "a b g d e z i th i k l m n x o p r s t y f ch ps o s"

_TRANSLIT = {
    # Cyrillic (Russian, Ukrainian, Bulgarian, Serbian), close to the news-agency romanisation.
    **dict(zip(_CYRILLIC, _CYRILLIC_LATIN.split(), strict=True)),
    "ж": "zh",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": "",
    "ь": "",
    **dict(zip(_GREEK, _GREEK_LATIN.split(), strict=True)),
    # Latin letters that NFKD does not decompose
    "ß": "ss",
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    # Arabic-script spellings that vary by writer and region (the usual
    # normalisation of Arabic search): final teh marbuta and alef maksura,
    # Persian yeh and keheh, and the tatweel that only stretches a word.
    "ة": "ه",
    "ى": "ي",
    "ی": "ي",
    "ک": "ك",
    "ـ": "",
}
_TRANSLIT_TABLE = str.maketrans(_TRANSLIT)


def _ranges(points: Iterable[int]) -> Iterator[tuple[int, int]]:
    """Consecutive runs of ascending code points, as (first, last)."""
    lo = hi = -2
    for point in points:
        if point != hi + 1:
            if hi >= 0:
                yield lo, hi
            lo = point
        hi = point
    if hi >= 0:
        yield lo, hi


# Combining marks belong to their word: Devanagari and Thai vowel signs,
# Arabic and Hebrew vowel points, accents written as separate characters.
# Python's \w leaves them out, so a word would break at every one of them.
_MARKS = "".join(
    f"{chr(lo)}-{chr(hi)}" if hi > lo else chr(lo)
    for lo, hi in _ranges(c for c in range(0x300, 0x10000) if unicodedata.category(chr(c)).startswith("M"))
)
# Words joined by apostrophes or hyphens are split; digits stay with their group.
# Underscores are not letters (they are replaced by a space before matching).
_TOKEN = re.compile(rf"[\w{_MARKS}]+(?:[.,][0-9]+)*", re.UNICODE)
# Scripts written without spaces between words. Chinese and Japanese (and
# Korean, whose words carry their particles) are cut into overlapping
# character pairs, as search engines index them (Lucene's CJK bigrams); Thai,
# Lao, Khmer and Myanmar, whose letters are closer to ours, into overlapping
# triples. Neither needs a dictionary, and both match across word boundaries
# no one marked.
_CJK = "\u3005\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_SEA = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_DENSE = re.compile(rf"([{_CJK}]+)|([{_SEA}]+)")
_DENSE_FIRST = "\u0e00"  # no character below this is in a dense script
# A lead is cut at ``body_chars`` of Latin-script text. A Chinese, Japanese or
# Korean character carries about three Latin characters' worth of text.
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_CJK_WIDTH = 3
_SENTENCE_END = re.compile(r"[.!?:;\n\"“”«»]\s*$")

# Function words of the languages we see most. IDF would learn these too, but a
# young index (the first hours after install, a small corpus) has no df yet, and
# a language that is a small share of the index (a few outlets in Polish among
# many in English) gives its function words a high idf: two unrelated texts of
# that language then share a score's worth of "which", "was" and "also".
# Written as the languages write them; folded (``text_fold``) when the set is
# built, so "für", "için", "która" and "إلى" meet the folded words of a text.
# Words that are also common content words or names in another language the
# index holds ("car", "gun", "Han", "dice", "era") are left out: a stopword is
# dropped in every language.
_STOPWORDS_TEXT = """
a about after again against all also am an and any are as at be because been before being between both but by
can could did do does doing down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just me more most my no nor not now of off on once only or other our out over
own same she should so some such than that the their them then there these they this those through to too under
until up very was we were what when where which while who whom why will with would you your says said say
one two first last year years week day today yesterday tomorrow us news report reports video photos update
der die das den dem des ein eine einer eines einem einen und oder aber im in ist sind war waren wird werden nach
mit von zu zum zur auf aus bei fur uber unter vor sich nicht auch noch nur wie als am an es er sie wir ihr man
dass hat haben sein seine ihre so schon um wenn bis durch gegen
le la les un une des du de et ou mais est sont dans sur pour par avec au aux ce cette ces qui que il elle ils
ne pas plus se sa son ses leur leurs en y
el los las una unos unas del y o pero es son en por para con al lo que se su sus como mas este esta estos
o os um uma e da do das dos na no nas nos em com ao pelo pela
il lo gli di che non con per tra fra sono nel nella
het een van en op te dat voor met zijn niet aan ook als bij
ve bir bu da de ile icin olan olarak gibi daha ama en cok
w i z na do sie nie to jest ze o za od po jak przez dla
"""
# German: auxiliaries and modals, pronouns, determiners, adverbs and
# conjunctions a report uses whatever it is about.
_STOPWORDS_DE = """
wurde wurden worden kann können konnte konnten soll sollen sollte sollten muss müssen musste mussten wollen wollte
darf dürfen hatte hatten habe hast gibt sei seien seit diese dieser dieses diesem diesen jene jener ihren ihrem
ihrer ihres seiner seinen seinem seines keine kein keinen keiner keinem denn doch dann ob vom beim
zwischen während laut sowie etwa bereits jetzt wieder alle allem aller alles viele vielen viel immer
dabei damit dazu daher darauf darüber davon dort hier sehr ohne selbst sagte sagt sagten jahr jahre jahren
ich du wer was wo wann warum wie welche welcher welches welchen dessen deren denen also andere anderen anderer
weiter weitere weiteren bisher derzeit zudem sondern jedoch allerdings sowohl mal etwas nichts unser unsere
unseren ihm ihn uns dir dich euch heute gestern morgen einem einer mehr
"""
# Turkish: conjunctions, postpositions, pronouns, and the forms of "olmak" and
# "etmek" that make verbs of nouns ("ziyaret etti", "tespit edildi").
_STOPWORDS_TR = """
veya ya fakat ancak ise diye kadar şu bunu bunun buna bunlar bunlara şunu onu onun ona onlar onların
değil yok her hem tüm bütün sonra önce üzere üzerine karşı kendi kendisi tarafından ayrıca artık
yine sadece bile mı mi mu mü ne nasıl neden niçin nerede hangi yani şey aynı ile olan olduğu olduğunu
oldu olup olması olmak olacak olarak olmuş olan olanlar etti edilen edildi ediyor etmek eder edecek
nedeniyle ilgili yönelik kapsamında itibaren rağmen dolayı beri dedi yıl yılı yılında bugün dün iki ilk
"""
# Polish: conjunctions, prepositions, pronouns (the forms of "który", "ten",
# "on"), "być" and "zostać" as auxiliaries, the modal "móc".
_STOPWORDS_PL = """
ale oraz lub albo czy aby żeby gdy kiedy gdzie jeśli jeżeli ponieważ dlatego więc bo tym tego te tej tych
tę tą tylko też także również bardzo jednak już jeszcze który która które którego której którym których
którzy którą jego jej ich nich niego niej nim nimi będzie będą był była było byli były być są zostać został
została zostało zostali zostały może można mogą musi jako tak przy pod nad przed między wśród podczas według
wobec około ponad poza bez się sobie siebie kto coś ktoś nikt wszystko wszyscy wszystkich każdy
nami mnie mi my wy was wam powiedział powiedziała rok lat latach dzień dnia dziś wczoraj tys mln mld
"""
# Spanish: forms of "ser", "estar", "haber" and "tener", prepositions,
# pronouns and determiners, adverbs and conjunctions.
_STOPWORDS_ES = """
fue fueron ha había habían ser sido será están está estaba estar siendo tiene tienen tenía hace hizo puede
pueden entre sobre desde hasta tras durante ante bajo hacia según mediante muy también además así cuando
donde mientras porque aunque sino pues ya le les nos me te mi tu yo él ellos ellas usted esto eso ese esos
esas estas otro otra otros otras todo toda todos todas cada mismo misma cual cuales quien quienes cuyo dijo año
años día hoy ayer uno dos tres primera vez todavía luego entonces aún más
"""
# French: forms of "être", "avoir", "faire", prepositions, pronouns,
# determiners, adverbs and conjunctions.
_STOPWORDS_FR = """
été être avoir ont avait avaient fait faire peut peuvent doit sera seront était étaient aussi comme entre après
avant depuis selon lors sans sous vers chez contre pendant malgré parmi tout tous toute toutes cet elles nous
vous lui eux dont où donc très déjà encore quand dit ans année deux trois bien ainsi alors cela ceci celui
celle ceux celles nos votre vos mes tes quelque quelques plusieurs autre autres chaque aucun aucune non
oui puis toujours jamais ici là également notamment cependant pourtant seulement
"""
# Arabic: prepositions, pronouns, demonstratives and relatives, "kāna", and
# the conjunction "wa" written onto the commonest of them ("وقال", "وفي").
_STOPWORDS_AR = """
في من على إلى عن مع أن إن أنه أنها هذا هذه ذلك تلك هؤلاء التي الذي الذين كان كانت يكون تكون قد لا ما لم لن
ليس أو ثم بعد قبل بين حتى عند عندما كل بعض غير هو هي هم نحن منذ خلال حيث إذا أيضا قال قالت وقال وقالت وفي
ومن وعلى وهو وهي وكان وكانت والتي والذي كما أما إلا لكن ولكن فيه فيها عليه عليها إليه له لها به بها منه منها
عنه عنها لدى حول اليوم يوم عام العام
"""


@dataclass(frozen=True, slots=True)
class Features:
    """What the clustering compares.

    ``terms`` are prefix stems weighted by where they occur (title words count
    double), ``grams`` are character n-grams of the same words, and ``names``
    the capitalised words and numbers among them.
    """

    terms: dict[str, float] = field(default_factory=dict)
    grams: dict[str, float] = field(default_factory=dict)
    names: frozenset[str] = frozenset()
    particulars: frozenset[str] = frozenset()  # see newsdesk.coverage.particulars


def text_fold(text: str) -> str:
    """Lower-case, accent-free, transliterated text."""
    if text.isascii():
        # Nothing to decompose, drop or transliterate (no key of the table is
        # ASCII), and ASCII's case folding is its lower case: the same result.
        return text.lower()
    return _fold(text)


def _fold(text: str) -> str:
    # U+FFFD replaces letters lost to a bad charset; dropping it keeps the word
    # whole, and the same damage on both sides still matches.
    text = text.replace("\ufffd", "").casefold()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return text.translate(_TRANSLIT_TABLE)


STOPWORDS = frozenset(
    _fold(word)
    for words in (
        _STOPWORDS_TEXT,
        _STOPWORDS_DE,
        _STOPWORDS_TR,
        _STOPWORDS_PL,
        _STOPWORDS_ES,
        _STOPWORDS_FR,
        _STOPWORDS_AR,
    )
    for word in words.split()
)


# Arabic writes the article and some conjunctions and prepositions as part of
# the word ("والرئيس", "and the president"); a prefix stem would key on them.
# Longest first; the rest must stay a word of three letters or more.
_AR_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال")


def _stem(word: str) -> str:
    if word[:1] in "وبفكلا":
        for pre in _AR_PREFIXES:
            if word.startswith(pre) and len(word) - len(pre) >= 3:
                word = word[len(pre) :]
                break
    return word[:STEM_LEN]


def _dense_pieces(piece: str, size: int) -> list[str]:
    """Overlapping runs of ``size`` characters (the piece itself when shorter)."""
    if len(piece) <= size:
        return [piece]
    return [piece[i : i + size] for i in range(len(piece) - size + 1)]


# Words come back article after article (names, places, the language's common
# words): the fold of a word that is not ASCII is kept for the next (a few
# hundred kB per process).
_fold_cached = functools.lru_cache(maxsize=4096)(_fold)


def word_fold(word: str) -> str:
    """``text_fold`` of one word (the same result, remembered)."""
    return word.lower() if word.isascii() else _fold_cached(word)


def _word(raw: str, start_of_sentence: bool) -> tuple[str, bool] | None:
    """(folded word, looks like a name), or None when nothing is left of it."""
    folded = raw.lower() if raw.isascii() else _fold_cached(raw)  # word_fold, inline
    if not folded:  # a lone mark or hard sign
        return None
    is_number = folded[0].isdigit()
    if is_number:
        folded = folded.replace(",", "").replace(".", "")
    capital = raw[0].isupper() and not start_of_sentence and not raw.isupper()
    acronym = len(raw) >= 2 and raw.isupper() and raw.isalpha()
    return folded, is_number or capital or acronym


def _tokens(text: str) -> list[tuple[str, bool, bool]]:
    """(word, looks like a name, is a piece of a dense script) for every word of the text.

    Words are folded (see ``text_fold``); pieces of Chinese, Japanese, Korean,
    Thai, Lao, Khmer or Myanmar runs are kept whole (no stem, no stopwords).
    """
    out: list[tuple[str, bool, bool]] = []
    start_of_sentence = True
    plain = max(text, default="") < _DENSE_FIRST  # no dense script anywhere: skip the per-word check
    for match in _TOKEN.finditer(text.replace("_", " ")):
        raw = match.group()
        before = text[max(0, match.start() - 3) : match.start()]
        if before and _SENTENCE_END.search(before):
            start_of_sentence = True
        if plain or max(raw) < _DENSE_FIRST:
            if word := _word(raw, start_of_sentence):
                out.append((*word, False))
        else:
            # Half-width kana and compatibility ideographs become the usual
            # ones; what the words between dense runs fold to is unchanged.
            raw = unicodedata.normalize("NFKC", raw)
            done = 0
            for dense in _DENSE.finditer(raw):
                if dense.start() > done and (word := _word(raw[done : dense.start()], start_of_sentence and not done)):
                    out.append((*word, False))
                cjk, sea = dense.groups()
                out.extend((piece, False, True) for piece in _dense_pieces(cjk or sea, 2 if cjk else 3))
                done = dense.end()
            if done < len(raw) and (word := _word(raw[done:], start_of_sentence and not done)):
                out.append((*word, False))
        start_of_sentence = False
    return out


def _lead(body: str, chars: int) -> str:
    """The start of the body: ``chars`` characters, a CJK character counting as three."""
    lead = body[:chars]
    if not lead or max(lead) < _DENSE_FIRST or not _CJK_CHAR.search(lead):
        return lead
    budget = chars
    for i, char in enumerate(body):
        budget -= _CJK_WIDTH if _CJK_CHAR.match(char) else 1
        if budget < 0:
            return body[:i]
    return body


_CAPITALISED = re.compile(r"\b[^\W\d_]{3,}")


def _title_case(title: str) -> bool:
    """Whether most of a headline's words of three letters or more start with a capital."""
    words = _CAPITALISED.findall(title)
    if len(words) < 4:
        return False
    return sum(1 for w in words if w[0].isupper()) >= 0.7 * len(words)


def text_features(*, title: str, body: str = "", body_chars: int = 600, grams: bool = True) -> Features:
    """Features of a title and the start of its body (the lead).

    ``grams=False`` leaves out the character n-grams (an empty dict), which
    the shipped scoring does not weigh (see ``engine.features_grams``).
    The particulars (places, years, days, figures) are read from the same
    title and lead.
    """
    from .particulars import text_particulars  # it builds on this module's tokenizer

    terms: Counter[str] = Counter()
    gram_counts: Counter[str] = Counter()
    names: set[str] = set()
    body = _lead(body, body_chars)
    for part, weight in ((title, TITLE_WEIGHT), (body, 1.0)):
        # In a Title-Case Headline every word is capitalised: that says
        # nothing about names (figures and acronyms still do).
        case_free = part is title and _title_case(part)
        for word, is_name, dense in _tokens(part):
            if case_free and is_name and not word.isdigit():
                is_name = False
            if dense:
                terms[word] += weight
                continue
            if word in STOPWORDS or (len(word) < 3 and not word.isdigit()):
                continue
            if word.isdigit() and len(word) < 2:
                continue
            stem = _stem(word)
            terms[stem] += weight
            if is_name and (len(word) >= 3 or word.isdigit()):
                names.add(stem)
            if grams and not word.isdigit() and len(word) >= GRAM_LEN:
                padded = f"_{word}_"
                for i in range(len(padded) - GRAM_LEN + 1):
                    gram_counts[padded[i : i + GRAM_LEN]] += weight
    return Features(
        terms=dict(terms),
        grams=dict(gram_counts),
        names=frozenset(names),
        particulars=text_particulars(title=title, body=body),
    )


# A lead that shares no content word with a headline of this many content words
# or more may not be about it (see :func:`lead_off_topic`); a shorter headline says
# too little to judge by (and cannot carry the article alone: "NPR Search").
OFF_TOPIC_TITLE_TERMS = 3
# What of the lead is compared: what the features read of it.
OFF_TOPIC_LEAD_CHARS = 600


def content_stems(text: str) -> set[str]:
    """The stems the features would index for the text's words, figures and function words left out."""
    out: set[str] = set()
    for word, _, dense in _tokens(text):
        if dense:
            out.add(word)
        elif len(word) >= 3 and word not in STOPWORDS and not word[0].isdigit():
            out.add(_stem(word))
    return out


def lead_off_topic(*, title: str, lead: str) -> bool:
    """Whether the lead is not about its headline: it shares none of the headline's content words.

    Feeds and crawls put pages that are not the article under a real headline
    (a consent or cookie notice, a paywall, "Continue reading", an anti-bot
    page, a translator's error): a one-off text that the boilerplate rule
    (:mod:`newsdesk.coverage.boilerplate`) cannot know, read by the features
    and the embedding as if it were the story. This is the word test: a
    headline of :data:`OFF_TOPIC_TITLE_TERMS` content words or more whose
    lead repeats none of them (stems as the features cut them, in any
    script; figures left out: "Copyright 2020" is no evidence). Most real
    leads name the headline's subject again, but not all (a quote or a
    scene to open, a machine translation's other words): the encoder has the
    last word (:func:`newsdesk.coverage.semantic.lead_unrelated`).
    """
    if not lead or not title:
        return False
    words = content_stems(title)
    if len(words) < OFF_TOPIC_TITLE_TERMS:
        return False
    return not (words & content_stems(_lead(lead, OFF_TOPIC_LEAD_CHARS)))


# A page's title cut at its separators: "Headline - Site", "Section | Site".
_TITLE_SEPARATORS = re.compile(r"\s+[-|–—:·»]\s+")
# A path segment of the URL that spells a headline: words joined by hyphens or underscores.
_SLUG_PART = re.compile(r"[-_+]+")
_SLUG_SUFFIX = re.compile(r"\.(?:s?html?|php|aspx?|cms|jsp|story)$", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]+")
# A slug of fewer words is an id or a section ("world", "news-1234"), not a headline.
SLUG_WORDS = 3
# A title segment of more words is no site name ("RT International", "ABC News", "The Guardian").
SITE_NAME_WORDS = 3
# Labels of a host that name no site: its kind, its edition, its country's second level.
_HOST_WORDS = frozenset(
    [
        "www",
        "m",
        "mobile",
        "amp",
        "news",
        "edition",
        "go",
        "co",
        "com",
        "org",
        "net",
        "gov",
        "ac",
        "blog",
        "blogs",
        "en",
        "uk",
        "us",
        "int",
    ]
)


def url_slug(url: str) -> str:
    """The headline a URL spells in its path (``/2018/01/russian-space-experts-regain-control-52044233``:
    "russian space experts regain control"), or "" when no path segment holds :data:`SLUG_WORDS`
    words of letters. Figures and ids are left out; the segment with most words wins."""
    from urllib.parse import unquote, urlsplit

    try:
        path = unquote(urlsplit(url).path)
    except ValueError:
        return ""
    best: list[str] = []
    for segment in path.split("/"):
        parts = _SLUG_PART.split(_SLUG_SUFFIX.sub("", segment))
        words = [p for p in parts if _LETTERS.fullmatch(p)]
        if len(words) > len(best):
            best = words
    return " ".join(best) if len(best) >= SLUG_WORDS else ""


def _site_labels(url: str) -> set[str]:
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return set()
    labels = host.split(".")[:-1]  # not the top-level domain
    return {_fold(label) for label in labels if len(label) >= 2 and label not in _HOST_WORDS}


def _names_site(segment: str, labels: set[str]) -> bool:
    words = _LETTERS.findall(_fold(segment))
    if not words or len(words) > SITE_NAME_WORDS:
        return False
    joined = "".join(words)
    return any(
        joined == label or words[0] == label or (len(label) >= 4 and joined.startswith(label)) for label in labels
    )


def page_headline(*, title: str, url: str) -> str:
    """The headline to read an article by: its title, or its URL's slug when the title is the site's own.

    A crawl or a poor feed gives some pages the site's title instead of the
    article's ("ABC News", "World news - RT International"): an index page, a
    page whose text did not load, a copyright footer. Such a title is the same
    for every page of the site and says nothing of the story, while most news
    sites spell the article's headline in its URL
    (``.../russian-space-experts-regain-control-1st-angola-satellite-52044233``).
    The title is the site's when a part of it (cut at " - ", " | ", ": "...)
    names the site as its host spells it (``abcnews.go.com``: "ABC News";
    ``rt.com``: "RT International") and no part of it shares a content word with
    the slug; then the slug (:func:`url_slug`) is the headline. A title that
    names its site beside the story's own words ("Brexit vote - BBC News" under
    ``/news/uk-politics-brexit-vote``) shares them with the slug and is kept, and
    so is every title when the URL spells no headline.
    """
    if not title or not url:
        return title
    segments = [s for s in _TITLE_SEPARATORS.split(title.strip()) if s]
    if all(s.count(" ") >= SITE_NAME_WORDS for s in segments):
        return title  # every part a headline's length (most titles): none is the site's name
    labels = _site_labels(url)
    if not any(_names_site(s, labels) for s in segments):
        return title
    slug = url_slug(url)
    if not slug or content_stems(title) & content_stems(slug):
        return title
    return slug


def page_read(*, title: str, url: str, lead: str) -> tuple[str, str]:
    """(headline, lead) to read a page by: :func:`page_headline`, and, when the title was the site's,
    the lead only if it shares a content word with the URL's headline (:func:`lead_off_topic`).

    A page under the site's title is not the article as the feed meant it (an
    index, a footer, a teaser of another story): its text is read only when it
    is about what its URL names. The word test alone decides here, without the
    model's confirmation that :func:`~newsdesk.coverage.semantic.lead_unrelated`
    asks for a real headline's lead: the site's title is the evidence already.
    """
    headline = page_headline(title=title, url=url)
    if headline != title and lead_off_topic(title=headline, lead=lead):
        return headline, ""
    return headline, lead
