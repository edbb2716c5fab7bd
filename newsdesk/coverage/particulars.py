"""The particulars of an event: where, when, which figures — in any language and script.

Two reports of one kind of event ("an earthquake", "lithium rules") share
their topic words; what tells two such events apart are their particulars.
Each is a short typed key, comparable across languages because it is not a
word:

* ``p:MX`` — a country, from a country or city name in any of CLDR's
  languages (:mod:`newsdesk.places`): "México", "Mexico City", "Мексика" and
  "墨西哥" are all ``p:MX``;
* ``y:2008`` — a year mentioned in the text;
* ``d:12-14`` — a day of a month ("Dec. 14", "14 de diciembre", "14.12.",
  "2008-12-14"), month names from CLDR in the same languages;
* ``n:288`` — a figure of two or more digits (thousands separators removed,
  decimals kept: ``n:6.1``), years and dates excluded;
* ``c:Asia/Tomsk`` — a city among CLDR's exemplar cities, by its time zone,
  in any of the same languages ("Tomsk", "Томск"): two places of one country
  apart (a country's name says ``p:`` only);
* a one-word place name of another language, or an inflected form, inside a
  person's name ("Maurice Cheeks", "George Clooney") names no place, nor does
  any one-word place name before an initial and a surname ("George W. Bush",
  "Santiago R. Ortiz") or after a given name ("Eddie Jordan", "Morgan Stanley"), nor a place
  that is a given name before a surname written alone elsewhere ("Paris Hilton ... Hilton
  said"; :mod:`newsdesk.coverage.givennames`) (``_places``);
* ``w:rusia`` — the name stem of a word the text used as a place name
  ("Rusia", "Krasnoyarsk"): not a particular to compare, but a mark that this
  capitalised word says where, not who, so the names (who) are compared
  without it and a shared country is not counted twice (as a place and as a
  shared name);
* ``m:may`` — the name stem of a month name the text wrote as a date, next to
  a day or a year ("May 5", "5. Mai", "Mayıs 2020"): not compared either, but a
  mark that this capitalised word says when, not who ("Theresa May" is a name;
  a month name without a day or year is read as written).

Names (who) are the capitalised words the text features already keep
(:attr:`newsdesk.coverage.text.Features.names`). How the clustering weighs
agreement and conflict of particulars is :mod:`newsdesk.coverage.engine`'s
business (``particulars_factor``).
"""

from __future__ import annotations

import functools
import itertools
import re

from newsdesk.places import city_names, month_names, place_names

from .givennames import GIVEN_NAMES
from .text import _DENSE, _TOKEN, STOPWORDS, _title_case, text_fold, word_fold

PLACE = "p:"
YEAR = "y:"
DAY = "d:"
NUMBER = "n:"
PLACE_WORD = "w:"
MONTH_WORD = "m:"
CITY = "c:"
KINDS = (PLACE, YEAR, DAY, NUMBER)

# The reading of a text this module gives, stored with each indexed document's particulars
# (``CoverageDoc.particulars_version``). Raise it with any change that reads the same text
# differently (a new kind or mark, a place no longer read): documents stored under an older one
# are read anew in bounded batches by the refinement's beat (newsdesk/coverage/dbupgrade.py) or
# at once by ``manage.py refresh_particulars``. 1: the ``m:`` month marks (h26sem) and the person's
# names before an initial or a surname (h26place). 2: a place after a given name ("Eddie Jordan"),
# a place that is a given name before a surname ("Maurice Cheeks", "Paris Hilton ... Hilton").
VERSION = 2

_MAX_PLACE_WORDS = 4
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
_FIGURE = re.compile(r"(?<![\w.,])(\d{1,3}(?:([.,\u00a0 ])\d{3})+|\d+(?:[.,]\d+)?)(?![\w])")
_ISO_DATE = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)-(\d\d)-(\d\d)(?!\d)")
_NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})[./](\d{1,2})[./](?:(\d{4})|(?!\d))")


def _cased(word: str) -> bool:
    """Whether the word's script has capitals (Latin, Cyrillic, Greek...), so a name must start with one."""
    return word.lower() != word.upper()


@functools.cache
def _place_index() -> tuple[dict[tuple[str, ...], frozenset[str]], tuple[tuple[str, frozenset[str]], ...]]:
    """Folded place names as word tuples -> country codes; dense-script names kept whole for substring search."""
    words: dict[tuple[str, ...], set[str]] = {}
    dense: dict[str, set[str]] = {}
    for name, codes in place_names().items():
        if _DENSE.fullmatch(name):
            if len(name) >= 2:
                dense.setdefault(name, set()).update(codes)
            continue
        key = tuple(text_fold(m.group()) for m in _TOKEN.finditer(name))
        if not key or len(key) > _MAX_PLACE_WORDS:
            continue
        if len(key) == 1 and (len(key[0]) < 3 or key[0] in STOPWORDS):
            continue
        words.setdefault(key, set()).update(codes)
    return (
        {k: frozenset(v) for k, v in words.items()},
        tuple((k, frozenset(v)) for k, v in sorted(dense.items())),
    )


@functools.cache
def _english_places() -> frozenset[tuple[str, ...]]:
    """Folded place names as English writes them (CLDR's English names and the zone ids' cities)."""
    return frozenset(tuple(text_fold(m.group()) for m in _TOKEN.finditer(name)) for name in place_names(("en",)))


@functools.cache
def _place_longest() -> dict[str, int]:
    """The first folded word of every place name -> the most words of a name starting with it."""
    out: dict[str, int] = {}
    for key in _place_index()[0]:
        out[key[0]] = max(out.get(key[0], 0), len(key))
    return out


# Inflected place names (Russian "в Мексике", German "Frankreichs", Polish "w Niemczech" is
# beyond this): a capitalised word that is no place as written is tried without one of these
# endings, against the single-word names without their own final vowel ("Мексика" -> meksik).
_ENDINGS = ("iyu", "iei", "ii", "ie", "iu", "oi", "om", "es", "s", "e", "i", "u", "y", "a")
_STEM_ENDINGS = ("iya", "ia", "ya", "a", "e", "o", "i", "y")
_STEM_MIN = 5


def _stem_place(name: str) -> str:
    for end in _STEM_ENDINGS:
        if name.endswith(end) and len(name) - len(end) >= _STEM_MIN:
            return name[: -len(end)]
    return name


@functools.cache
def _city_index() -> dict[tuple[str, ...], frozenset[str]]:
    """Folded city names as word tuples -> time-zone ids (scripts written with spaces only)."""
    out: dict[tuple[str, ...], set[str]] = {}
    for name, zones in city_names().items():
        if _DENSE.fullmatch(name):
            continue
        key = tuple(text_fold(m.group()) for m in _TOKEN.finditer(name))
        if key and len(key) <= _MAX_PLACE_WORDS:
            out.setdefault(key, set()).update(zones)
    return {k: frozenset(v) for k, v in out.items()}


@functools.cache
def _place_stems() -> dict[str, frozenset[str]]:
    """Single-word place names without their final vowel -> country codes (names of 5+ letters)."""
    out: dict[str, set[str]] = {}
    for key, codes in _place_index()[0].items():
        if len(key) == 1 and len(key[0]) >= _STEM_MIN:
            out.setdefault(_stem_place(key[0]), set()).update(codes)
    return {k: frozenset(v) for k, v in out.items()}


def _inflected_place(folded: str) -> tuple[frozenset[str], bool] | None:
    """The countries an inflected form of a single-word place name names, and whether the form is
    the whole name with an ending ("Frankreichs", "Israeli"; not "George" for Georgia), or None."""
    if len(folded) < _STEM_MIN + 1 or not folded.isalpha():
        return None
    stems = _place_stems()
    index = _place_index()[0]
    for end in _ENDINGS:
        if folded.endswith(end) and len(folded) - len(end) >= _STEM_MIN:
            base = folded[: -len(end)]
            if codes := index.get((base,)):
                return codes, True
            if codes := stems.get(base) or stems.get(_stem_place(base)):
                return codes, False
    return None


@functools.cache
def _months() -> dict[str, int]:
    out: dict[str, int] = {}
    for name, number in month_names().items():
        folded = text_fold(name)
        if len(folded) >= 3:
            out.setdefault(folded, number)
    return out


_NOUNS_CAPITALISED = 0.4  # share of the words after a lowercase stopword that are capitalised
_NOUNS_SEEN = 5  # words after a lowercase stopword needed to tell


def _nouns_lowercase(tokens: list[tuple[str, str, int, int]]) -> bool:
    """Whether the text shows that it writes common nouns in lowercase (English, Spanish; not German).

    Read from the words after a lowercase stopword: in English few of them are
    capitalised ("the United States"), in German most are ("die Regierung").
    A text too short to tell (a headline alone) shows nothing.
    """
    seen = capital = 0
    for (a, fa, _, _), (b, _, _, _) in itertools.pairwise(tokens):
        if fa in STOPWORDS and a.islower() and len(b) >= 3 and b.isalpha():
            seen += 1
            capital += b[0].isupper()
    return seen >= _NOUNS_SEEN and capital < _NOUNS_CAPITALISED * seen


def _name_words(text: str, tokens: list[tuple[str, str, int, int]]) -> set[int]:
    """Positions of the words that are part of a run of capitalised words ("Maurice Cheeks").

    A capitalised word joined by a space (no mark, no line break) to another
    capitalised word that is neither a stopword nor a place name. Only a text
    that writes its common nouns in lowercase makes runs (:func:`_nouns_lowercase`:
    in German "Kanadas Regierung" is a country's government), and lines in Title
    Case (most words capitalised, as headlines write them) make none.
    """
    index = _place_index()[0]
    out: set[int] = set()
    if not _nouns_lowercase(tokens):
        return out
    title_case: dict[int, bool] = {}  # line start -> Title Case
    for i in range(len(tokens) - 1):
        (a, fa, _, end), (b, fb, start, _) = tokens[i], tokens[i + 1]
        gap = text[end:start]
        if gap.strip() or "\n" in gap or not (a[:1].isupper() and b[:1].isupper()):
            continue
        if not (a.isalpha() and b.isalpha()) or fa in STOPWORDS or fb in STOPWORDS:
            continue
        line = text.rfind("\n", 0, start) + 1
        if line not in title_case:
            stop = text.find("\n", start)
            title_case[line] = _title_case(text[line : stop if stop >= 0 else len(text)])
        if title_case[line]:
            continue
        if (fb,) not in index:
            out.add(i)
        if (fa,) not in index:
            out.add(i + 1)
    return out


def _joined(text: str, tokens: list[tuple[str, str, int, int]], i: int) -> bool:
    """Whether the word at ``i`` is followed by a capitalised word, joined by one space on one line."""
    return i + 1 < len(tokens) and text[tokens[i][3] : tokens[i + 1][2]] == " " and tokens[i + 1][0][:1].isupper()


def _before_initial(text: str, tokens: list[tuple[str, str, int, int]], i: int) -> bool:
    """Whether the word at ``i`` is a first name before an initial and a surname ("George W. Bush").

    The initial is one capital and a full stop (ECB+ writes "W ."), the surname a capitalised
    word of two letters or more: "Washington D.C." has a second initial, no surname.
    """
    if not _joined(text, tokens, i) or i + 2 >= len(tokens):
        return False
    initial, surname = tokens[i + 1], tokens[i + 2]
    if len(initial[0]) != 1 or not initial[0].isalpha() or not _cased(initial[0]):
        return False
    between = text[initial[3] : surname[2]]
    return between.strip() == "." and "\n" not in between and len(surname[0]) >= 2 and surname[0][0].isupper()


def _before_surname(
    text: str, tokens: list[tuple[str, str, int, int]], i: int, index: dict[tuple[str, ...], frozenset[str]]
) -> bool:
    """Whether the stem form at ``i`` ("George") is followed by a surname: a capitalised word, no
    stopword, no place name ("George Clooney"; not "George And Its Neighbours")."""
    if not _joined(text, tokens, i):
        return False
    word, folded = tokens[i + 1][0], tokens[i + 1][1]
    return word.isalpha() and len(word) >= 2 and folded not in STOPWORDS and (folded,) not in index


_DETERMINERS = frozenset({"the", "a", "an"})


def _after_given_name(
    text: str, tokens: list[tuple[str, str, int, int]], i: int, index: dict[tuple[str, ...], frozenset[str]]
) -> bool:
    """Whether the word at ``i`` follows a given name ("Eddie Jordan", "Carson Palmer", "Morgan
    Stanley"): a capitalised word of :data:`GIVEN_NAMES` that is no place itself ("Santiago
    Chile" keeps its places), joined by one space on one line."""
    if i == 0 or not _joined(text, tokens, i - 1):
        return False
    word, folded = tokens[i - 1][0], tokens[i - 1][1]
    return word[:1].isupper() and folded in GIVEN_NAMES and (folded,) not in index


def _surname_alone(tokens: list[tuple[str, str, int, int]], i: int) -> bool:
    """Whether the word after ``i`` (a surname?) stands elsewhere in the text, capitalised, after
    neither the word at ``i`` nor an article: "Paris Hilton ... Hilton said" (a person is named
    by the surname alone; "the Suns", "the Hilton" are a team's and a hotel's)."""
    surname, first = tokens[i + 1][1], tokens[i][1]
    for j, (word, folded, _, _) in enumerate(tokens):
        if j == i + 1 or folded != surname or not word[:1].isupper():
            continue
        before = tokens[j - 1][1] if j else ""
        if before != first and before not in _DETERMINERS:
            return True
    return False


def _places(
    text: str, tokens: list[tuple[str, str, int, int]], words: set[str] | None = None, cities: set[str] | None = None
) -> set[str]:
    """Country codes the text names; the folded words of those place names are added to ``words``, the
    time-zone ids of the cities among them to ``cities``.

    Person names are often place names of another language or their inflected forms: "Maurice"
    is Mauritius in French, "George" reads as a form of "Georgia", "Sam" is Turkish for Damascus.
    A one-word place name that English does not write so (:func:`_english_places`), or a form
    read from a name's stem ("George"; not a whole name with an ending, "Frankreichs"), names no place when the text uses it inside a run of capitalised words
    (:func:`_name_words`: "Maurice Cheeks", "George Clooney", "Sam Williams"), there or anywhere
    else in the text ("... George said"); a form read from a stem before a surname does so in any
    line, a Title Case headline too ("George Clooney Opens..."). A place as English writes it keeps
    its place inside a name ("Panama Papers", "Brazil GP", "Chicago Cubs": the reports of one event
    share it), except where an initial and a surname follow it ("Jordan K. Miller"), there only.
    Given names (:data:`~newsdesk.coverage.givennames.GIVEN_NAMES`) tell more: a place after one
    ("Eddie Jordan", "Carson Palmer", "Morgan Stanley") names none there; a place that is one
    before a surname does as a stem form does if English does not write it so ("Maurice Cheeks",
    in a headline too), and there only if it does, where the surname also stands alone elsewhere
    after no article ("Paris Hilton ... Hilton said"; not "the Phoenix Suns ... the Suns").
    """
    index, dense = _place_index()
    longest = _place_longest()  # no name starts with a word it does not hold: nothing to look up
    city_index = _city_index() if cities is not None else {}
    english = _english_places()
    hits: list[tuple[int, int, frozenset[str], bool]] = []  # (position, words, countries, weak)
    stem_forms: list[int] = []  # positions of the forms read from a name's stem ("George")
    i = 0
    while i < len(tokens):
        raw = tokens[i][0]
        hit = 0
        if not _cased(raw) or raw[0].isupper():
            for size in range(min(longest.get(tokens[i][1], 0), len(tokens) - i), 0, -1):
                codes = index.get(tuple(t[1] for t in tokens[i : i + size]))
                if codes:
                    hits.append((i, size, codes, size == 1 and (tokens[i][1],) not in english))
                    hit = size
                    break
            if not hit and raw[:1].isupper() and (inflected := _inflected_place(tokens[i][1])):
                hits.append((i, 1, inflected[0], not inflected[1]))
                if not inflected[1]:
                    stem_forms.append(i)
        i += hit or 1
    weak = [i for i, _, _, w in hits if w]
    named = _name_words(text, tokens) if weak else set()
    not_places = {tokens[i][1] for i in weak if i in named}
    # A first name before an initial ("George W. Bush", "Santiago R. Ortiz") and a name's stem form
    # before a surname ("George Clooney"), in any line, Title Case headlines included.
    initialled = {i for i, size, _, _ in hits if size == 1 and _before_initial(text, tokens, i)}
    not_places.update(tokens[i][1] for i in stem_forms if _before_surname(text, tokens, i, index))
    # A place that is a given name before a surname: one English does not write so ("Maurice
    # Cheeks", "Sam Williams") as a stem form, anywhere; an English one ("Paris Hilton") there
    # only, where the surname also stands alone elsewhere. A place after a given name ("Eddie
    # Jordan", "Carson Palmer") there only.
    for i, size, _, weak in hits:
        if size != 1:
            continue
        if _after_given_name(text, tokens, i, index):
            initialled.add(i)
        elif (
            tokens[i][1] in GIVEN_NAMES
            and _before_surname(text, tokens, i, index)
            and _inflected_place(tokens[i + 1][1]) is None  # "Maurice Islands"
        ):
            if weak:
                not_places.add(tokens[i][1])
            elif _surname_alone(tokens, i):
                initialled.add(i)
    found: set[str] = set()
    for i, size, codes, _ in hits:
        key = tuple(t[1] for t in tokens[i : i + size])
        if size == 1 and (key[0] in not_places or i in initialled):
            continue
        found.update(codes)
        if words is not None:
            words.update(key)
        if cities is not None:
            cities.update(city_index.get(key, ()))
    if dense and _DENSE.search(text):
        for name, codes in dense:
            if name in text:
                found.update(codes)
    return found


def _day(day: str, month: int) -> str | None:
    d = int(day)
    return f"{month:02d}-{d:02d}" if 1 <= d <= 31 and 1 <= month <= 12 else None


def text_particulars(*, title: str, body: str = "") -> frozenset[str]:
    """The typed particulars (see the module docstring) of a title and lead."""
    text = f"{title}\n{body}"
    tokens = [(w := m.group(), word_fold(w), m.start(), m.end()) for m in _TOKEN.finditer(text.replace("_", " "))]
    from .text import _stem

    words: set[str] = set()
    cities: set[str] = set()
    out = {PLACE + code for code in _places(text, tokens, words, cities)}
    out.update(CITY + zone for zone in cities)
    out.update(PLACE_WORD + _stem(w) for w in words if len(w) >= 3 and not w.isdigit())
    months = _months()
    taken: set[int] = set()  # token positions used by a date
    for i, (_, folded, _, _) in enumerate(tokens):
        month = months.get(folded.rstrip("."))
        if month is None:
            continue
        # "14 de diciembre", "14. Dezember", "Dec. 14", "December 14, 2008"
        for j in (i - 1, i - 2, i + 1):
            if 0 <= j < len(tokens) and tokens[j][1].isdigit() and len(tokens[j][1]) <= 2:
                day = _day(tokens[j][1], month)
                if day and (j != i - 2 or tokens[i - 1][1] in {"de", "of", "di", "du"}):
                    out.add(DAY + day)
                    out.add(MONTH_WORD + _stem(folded.rstrip(".")))
                    taken.add(j)
                    break
        else:
            # "May 2019", "Mayıs 2020", "im Mai 2020": a month with its year is a date too.
            if (i + 1 < len(tokens) and _YEAR.match(tokens[i + 1][1])) or (i >= 1 and _YEAR.match(tokens[i - 1][1])):
                out.add(MONTH_WORD + _stem(folded.rstrip(".")))
    for m in _ISO_DATE.finditer(text):
        if day := _day(m.group(3), int(m.group(2))):
            out.add(DAY + day)
    for m in _NUMERIC_DATE.finditer(text):
        if day := _day(m.group(1), int(m.group(2))):
            out.add(DAY + day)
    digits_taken = {tokens[j][1] for j in taken}
    for m in _FIGURE.finditer(text):
        raw = m.group(1)
        # "1.500" or "1,500,000" are thousands; "6.1" or "6,1" a decimal.
        value = re.sub(r"[.,\u00a0 ]", "", raw) if m.group(2) is not None else raw.replace(",", ".")
        if _YEAR.match(value):
            out.add(YEAR + value)
        elif len(value.replace(".", "")) >= 2 and value not in digits_taken:
            out.add(NUMBER + value)
    return frozenset(out)


@functools.cache
def month_stems() -> frozenset[str]:
    """Name stems that are a month in one of CLDR's languages ("November" is capitalised in English).

    The refinement's own cores read a month among a group's names as when (``OwnCore.dated_month``);
    the pair score reads a month as a date only where a text wrote it as one (:data:`MONTH_WORD`).
    """
    from .text import _stem

    return frozenset(_stem(m) for m in _months())
