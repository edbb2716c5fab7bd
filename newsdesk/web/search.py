"""Full-text search: a small query language and one backend per database.

The query language follows FreshRSS: words are ANDed, ``"quoted phrases"``
match in order, ``-word`` or ``-"a phrase"`` excludes, and ``source:``,
``country:`` and ``lang:`` turn into ordinary filters (``source:"El País"``
takes quotes too). Parsing is pure Python and never fails: anything it does
not understand is searched as a word, and characters that carry no text are
dropped, so no user input reaches the database as syntax.

PostgreSQL searches a stored ``tsvector`` column (``search_vector``, added
by migration 0002 with a GIN index); SQLite searches an FTS5 table
(``newsdesk_article_fts``) kept in sync by triggers. Both index the English
and original title and summary, with the language-neutral ``simple``/
``unicode61`` tokenisers, because one index serves forty languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from newsdesk.models import Article

MAX_TERMS = 12
MAX_QUERY_LENGTH = 300

# A token: optional '-', optional 'op:', then a quoted string or a bare run.
_TOKEN = re.compile(r'(-?)(?:([A-Za-z]+):)?(?:"([^"]*)"?|(\S+))')
_WORDISH = re.compile(r"\w", re.UNICODE)
_OPERATORS = {"source", "country", "lang"}
# Characters that no database should ever see in a search string: C0/C1
# controls, surrogates and non-characters (PostgreSQL refuses NUL outright).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search box: text terms plus the filters it named."""

    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()  # words or phrases
    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    unknown: tuple[str, ...] = field(default=(), compare=False)

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases or self.excluded)


def search_clean(text: str) -> str:
    """Drop characters that cannot be searched or stored, and cap the length."""
    return _UNSAFE.sub(" ", text or "")[:MAX_QUERY_LENGTH].strip()


def search_parse(*, text: str) -> SearchQuery:
    """Parse the search box. Never raises; caps the number of terms."""
    words: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    ops: dict[str, list[str]] = {name: [] for name in _OPERATORS}
    unknown: list[str] = []
    for match in _TOKEN.finditer(search_clean(text)):
        negate, op, quoted, bare = match.groups()
        value = (quoted if quoted is not None else bare or "").strip()
        op = (op or "").lower()
        if op in _OPERATORS:
            if value and not negate:
                ops[op].append(value)
            elif value:
                unknown.append(match.group(0))
            continue
        if op:
            # 'http:' or 'foo:bar' is not an operator: search it as text.
            value = f"{match.group(2)}:{value}" if value else match.group(2)
        if not _WORDISH.search(value):
            continue
        if negate:
            excluded.append(value)
        elif quoted is not None and len(value.split()) > 1:
            phrases.append(value)
        else:
            words.append(value)
    budget = MAX_TERMS
    words, budget = words[:budget], max(0, budget - len(words))
    phrases, budget = phrases[:budget], max(0, budget - len(phrases))
    excluded = excluded[:budget]
    return SearchQuery(
        words=tuple(words),
        phrases=tuple(phrases),
        excluded=tuple(excluded),
        sources=tuple(ops["source"][:5]),
        countries=tuple(ops["country"][:5]),
        langs=tuple(ops["lang"][:5]),
        unknown=tuple(unknown),
    )


def search_apply(*, qs: QuerySet[Article], query: SearchQuery) -> QuerySet[Article]:
    """Restrict ``qs`` to articles matching the text terms of ``query``."""
    if not query.has_text:
        return qs
    if connection.vendor == "postgresql":
        return _apply_postgres(qs, query)
    if connection.vendor == "sqlite":
        return _apply_sqlite(qs, query)
    return _apply_portable(qs, query)


def _apply_postgres(qs: QuerySet[Article], query: SearchQuery) -> QuerySet[Article]:
    # Terms travel as parameters into plainto_/phraseto_tsquery, which treat
    # their argument as text, never as tsquery syntax.
    parts: list[str] = []
    params: list[str] = []
    for word in query.words:
        parts.append("plainto_tsquery('simple', %s)")
        params.append(word)
    for phrase in query.phrases:
        parts.append("phraseto_tsquery('simple', %s)")
        params.append(phrase)
    for term in query.excluded:
        parts.append("(!! phraseto_tsquery('simple', %s))")
        params.append(term)
    where = f"newsdesk_article.search_vector @@ ({' && '.join(parts)})"
    return qs.extra(where=[where], params=params)  # noqa: S610 (fixed SQL; terms are parameters)


def _fts5_phrase(term: str) -> str:
    # FTS5 string literal: double any embedded quote; the tokenizer splits
    # the inside into a phrase, so punctuation is harmless.
    return '"' + term.replace('"', '""') + '"'


def _apply_sqlite(qs: QuerySet[Article], query: SearchQuery) -> QuerySet[Article]:
    positives = [_fts5_phrase(t) for t in (*query.words, *query.phrases)]
    wheres: list[str] = []
    params: list[str] = []
    sub = "SELECT rowid FROM newsdesk_article_fts WHERE newsdesk_article_fts MATCH %s"
    if positives:
        wheres.append(f"newsdesk_article.id IN ({sub})")
        params.append(" AND ".join(positives))
    for term in query.excluded:
        # FTS5 has no unary NOT, so each exclusion is its own anti-join.
        wheres.append(f"newsdesk_article.id NOT IN ({sub})")
        params.append(_fts5_phrase(term))
    return qs.extra(where=wheres, params=params)  # noqa: S610 (fixed SQL; terms are parameters)


def _apply_portable(qs: QuerySet[Article], query: SearchQuery) -> QuerySet[Article]:
    from django.db.models import Q

    def matches(term: str) -> Q:
        return (
            Q(title_en__icontains=term)
            | Q(summary_en__icontains=term)
            | Q(title_orig__icontains=term)
            | Q(summary_orig__icontains=term)
        )

    for term in (*query.words, *query.phrases):
        qs = qs.filter(matches(term))
    for term in query.excluded:
        qs = qs.exclude(matches(term))
    return qs
