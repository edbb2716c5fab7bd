"""The one filter definition shared by the dashboard and its feeds.

``ArticleFilter.from_query`` validates a query string against an allowlist;
``queryset()`` turns it into the article query. The HTML view and every
feed call these two, so a page and its feed can never disagree.

Invalid values never reach the database: each is dropped and its parameter
name recorded in ``ignored`` so the page can say what it left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import F, Q, QuerySet
from django.http import QueryDict

from newsdesk.countries import NAME_TO_CODE, country_name
from newsdesk.languages import language_name, original_language_q
from newsdesk.models import Article, Source, TranslationStatus

from .search import SearchQuery, search_apply, search_clean, search_parse

# What cards and feed items read; everything else (full texts, evidence, the
# source's scheduling and health columns) stays in the database.
CARD_FIELDS = (
    "id", "source_id", "story_id", "url", "category", "title_orig", "summary_orig", "title_en", "summary_en",
    "language", "language_declared", "language_detected", "country", "translation_status", "translation_error",
    "published_at", "updated_at", "source__id", "source__name", "story__id", "story__source_count",
)  # fmt: skip
# What a dashboard card reads, as plain rows (values_list(named=True)): building
# thirty model instances with their source and story cost more than the query.
CARD_COLUMNS = (
    "id", "story_id", "url", "title_orig", "summary_orig", "title_en", "summary_en", "language",
    "language_declared", "language_detected", "country", "translation_status", "translation_error", "published_at",
    "source__name", "story__source_count",
)  # fmt: skip
SORTS = {"newest": "Newest first", "covered": "Most covered"}
MAX_VALUES = 10  # per multi-valued parameter
MAX_COVERAGE = 1000
_CODE2 = re.compile(r"^[A-Za-z]{2}$")
_LANG = re.compile(r"^[A-Za-z]{2,3}$")
_ID = re.compile(r"^[0-9]{1,12}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def country_code(value: str) -> str:
    """'MX', 'mx' or 'Mexico' -> 'MX'; '' when not a country."""
    value = value.strip()
    if _CODE2.match(value) and value.isascii():
        return value.upper()
    return NAME_TO_CODE.get(value.lower(), "")


# The dates the filter can compute with: ``to`` is turned into the start of
# the next day, so the last representable day is refused, not overflowed.
DATE_MIN = date(1, 1, 1)
DATE_MAX = date.max - timedelta(days=1)


def _parse_date(raw: str) -> date | None:
    if not _DATE.match(raw):
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        return None
    return value if DATE_MIN <= value <= DATE_MAX else None


@dataclass(frozen=True)
class ArticleFilter:
    country: tuple[str, ...] = ()
    lang: tuple[str, ...] = ()
    source: tuple[int, ...] = ()
    category: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    coverage: int | None = None
    q: str = ""
    sort: str = "newest"
    ignored: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, query: QueryDict) -> ArticleFilter:
        """Parse and validate; invalid values are dropped and named in ``ignored``."""
        ignored: list[str] = []

        def many(name: str, parse) -> tuple:
            out: list = []
            for raw in query.getlist(name)[:MAX_VALUES]:
                if not raw.strip():
                    continue
                value = parse(raw.strip())
                if value in ("", None):
                    ignored.append(name)
                elif value not in out:
                    out.append(value)
            return tuple(out)

        def one(name: str, parse):
            raw = query.get(name, "").strip()
            if not raw:
                return None
            value = parse(raw)
            if value is None:
                ignored.append(name)
            return value

        date_from = one("from", _parse_date)
        date_to = one("to", _parse_date)
        if date_from and date_to and date_from > date_to:
            date_from, date_to = date_to, date_from
        coverage = one("coverage", lambda r: int(r) if _ID.match(r) and 1 <= int(r) <= MAX_COVERAGE else None)
        return cls(
            country=many("country", country_code),
            lang=many("lang", lambda r: r.lower() if _LANG.match(r) and r.isascii() else ""),
            source=many("source", lambda r: int(r) if _ID.match(r) else None),
            category=search_clean(query.get("category", ""))[:200],
            date_from=date_from,
            date_to=date_to,
            status=one("status", lambda r: r if r in TranslationStatus.values else None) or "",
            coverage=coverage if coverage and coverage > 1 else None,
            q=search_clean(query.get("q", "")),
            sort=one("sort", lambda r: r if r in SORTS else None) or "newest",
            ignored=tuple(dict.fromkeys(ignored)),
        )

    @property
    def search(self) -> SearchQuery:
        return search_parse(text=self.q)

    def queryset(self) -> QuerySet[Article]:
        """The filtered, sorted article query (no pagination)."""
        qs = Article.objects.all()
        search = self.search
        countries = {c for c in (country_code(v) for v in search.countries) if c}
        langs = {v.lower() for v in search.langs if _LANG.match(v) and v.isascii()}
        if self.country:
            qs = qs.filter(country__in=self.country)
        if countries or search.countries:
            qs = qs.filter(country__in=sorted(countries))  # unknown names match nothing
        # "Original language", one rule everywhere (newsdesk/languages.py).
        if self.lang:
            qs = qs.filter(original_language_q(self.lang))
        if langs or search.langs:
            qs = qs.filter(original_language_q(langs))  # unknown codes match nothing
        if self.source:
            qs = qs.filter(source_id__in=self.source)
        if search.sources:
            names = Q()
            for name in search.sources:
                names |= Q(name__icontains=name)
            qs = qs.filter(source__in=Source.objects.filter(names).values("id"))
        if self.category:
            qs = qs.filter(category__iexact=self.category)
        if self.date_from:
            qs = qs.filter(published_at__gte=datetime.combine(self.date_from, time.min, tzinfo=UTC))
        if self.date_to:
            qs = qs.filter(published_at__lt=datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=UTC))
        if self.status:
            qs = qs.filter(translation_status=self.status)
        if self.coverage:
            qs = qs.filter(story__source_count__gte=self.coverage)
        if self.sort == "covered":
            # Ranked by the story's outlet count, so only articles already
            # grouped into a story take part; an inner join also lets
            # PostgreSQL walk the story index instead of sorting every match.
            qs = qs.filter(story__isnull=False)
        qs = search_apply(qs=qs, query=search)
        return qs.select_related("source", "story").only(*CARD_FIELDS).order_by(*self.ordering)

    def card_rows(self) -> QuerySet:
        """:meth:`queryset` as named rows of :data:`CARD_COLUMNS` (what the dashboard renders)."""
        return self.queryset().values_list(*CARD_COLUMNS, named=True)

    @property
    def ordering(self) -> tuple:
        if self.sort == "covered":
            # Stories by outlet count, then the newest story first, each
            # story's articles together and newest first. Ties are broken by
            # the story (not by each article's date) so PostgreSQL can walk
            # the stories in index order and stop after one page, rather than
            # read every article of the top-count stories to sort them.
            return (F("story__source_count").desc(), F("story_id").desc(), "-published_at", "-id")
        return ("-published_at", "-id")

    def params(self) -> list[tuple[str, str]]:
        """Canonical query parameters, in a stable order (also the feed cache key)."""
        out: list[tuple[str, str]] = []
        out += [("country", c) for c in self.country]
        out += [("lang", c) for c in self.lang]
        out += [("source", str(s)) for s in self.source]
        if self.category:
            out.append(("category", self.category))
        if self.date_from:
            out.append(("from", self.date_from.isoformat()))
        if self.date_to:
            out.append(("to", self.date_to.isoformat()))
        if self.status:
            out.append(("status", self.status))
        if self.coverage:
            out.append(("coverage", str(self.coverage)))
        if self.q:
            out.append(("q", self.q))
        if self.sort != "newest":
            out.append(("sort", self.sort))
        return out

    def as_query(self) -> str:
        return urlencode(self.params())

    def without(self, **changes) -> ArticleFilter:
        return replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        return not self.params()

    def describe(self) -> str:
        """A human title for feeds: 'Mexico, Spanish', 'El Financiero, search “lithium”'."""
        parts: list[str] = [country_name(c) for c in self.country]
        parts += [language_name(code) for code in self.lang]
        if self.source:
            names = dict(Source.objects.filter(id__in=self.source).values_list("id", "name"))
            parts += [names.get(ident, f"source {ident}") for ident in self.source]
        if self.category:
            parts.append(f"topic “{self.category}”")
        if self.date_from and self.date_to:
            parts.append(
                f"{self.date_from:%b} {self.date_from.day}–{self.date_to:%b} {self.date_to.day}, {self.date_to.year}"
            )
        elif self.date_from:
            parts.append(f"since {self.date_from:%b} {self.date_from.day}, {self.date_from.year}")
        elif self.date_to:
            parts.append(f"until {self.date_to:%b} {self.date_to.day}, {self.date_to.year}")
        if self.status:
            parts.append(f"translation {TranslationStatus(self.status).label.lower()}")
        if self.coverage:
            parts.append(f"covered by {self.coverage}+ outlets")
        if self.q:
            parts.append(f"search “{self.q}”")
        if self.sort == "covered":
            parts.append("most covered first")
        return ", ".join(parts)
