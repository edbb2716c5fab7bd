"""The dashboard "card" text format, as editors copy it out of the dashboard.

    Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)

    Headline

    Body paragraph one.

    Body paragraph two.

    📡 Similar Coverage

The header carries no year: the card is dated the most recent such day that
is not in the future relative to the file's own time (its mtime), because a
card is saved after the article was published. The bracketed language is the
outlet's declared language; the text may already be English (the enrich
stage detects it), so it is kept as declared here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from newsdesk.countries import COUNTRY_NAMES, NAME_TO_CODE, code_from_flag, country_name

from .errors import DropRejected
from .text import paragraphs_split

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

# A first line that starts like a card header is parsed strictly as one, so a
# malformed header fails with a reason instead of becoming a title.
CARD_START_RE = re.compile(r"^\s*[A-Za-z]{3,9}\.?\s+\d{1,2}(?:,?\s+\d{4})?\s*•")
CARD_HEADER_RE = re.compile(
    r"""^\s*(?P<month>[A-Za-z]{3,9})\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?\s*•\s*
    (?P<hour>\d{1,2}):(?P<minute>\d{2})\s*
    (?P<zone>[A-Za-z]{1,5}|[+-]\d{2}:?\d{2})?\s+
    (?P<rest>\S.*?)\s*
    \((?P<lang>[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)\)\s*$""",
    re.VERBOSE,
)
# A header is one short line; a longer one is refused before the regex runs
# (its lazy outlet part would otherwise cost time quadratic in the length).
MAX_HEADER_CHARS = 300
MARKER_RE = re.compile(r"^\s*📡\s*Similar Coverage\b")
_FLAG_RE = re.compile(r"^([\U0001F1E6-\U0001F1FF]{2})\s*")
_UTC_ZONES = {"utc", "gmt", "z"}
# How far a card's time may lie ahead of its file's mtime (clocks drift)
# before we decide it belongs to the previous year.
CLOCK_SKEW = timedelta(hours=1)
# Country names, longest first, so "South Africa" wins over a shorter prefix.
_NAMES_LONGEST_FIRST = sorted(NAME_TO_CODE, key=len, reverse=True)


@dataclass
class ParsedCard:
    published_at: datetime
    country: str
    outlet: str
    language: str
    title: str
    paragraphs: list[str]
    title_line: int


def card_looks_like(*, first_line: str) -> bool:
    return bool(CARD_START_RE.match(first_line))


def _zone(value: str | None) -> timezone:
    if not value or value.lower() in _UTC_ZONES:
        return UTC
    match = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", value)
    if not match:
        raise DropRejected(
            f"unknown time zone {value!r}; use UTC or an offset such as +01:00", line=1, field="time zone"
        )
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def card_year_resolve(*, month: int, day: int, hour: int, minute: int, tz: timezone, reference: datetime) -> datetime:
    """The most recent (month, day, time) that is not after ``reference`` (plus clock skew)."""
    for year in range(reference.year + 1, reference.year - 9, -1):
        try:
            candidate = datetime(year, month, day, hour, minute, tzinfo=tz)
        except ValueError:
            continue  # 29 February in a common year
        if candidate <= reference + CLOCK_SKEW:
            return candidate.astimezone(UTC)
    raise DropRejected(f"no year in the last eight has {month:02d}-{day:02d}", line=1, field="date")


def _country_and_outlet(rest: str) -> tuple[str, str]:
    code = ""
    flag = _FLAG_RE.match(rest)
    if flag:
        code = code_from_flag(flag.group(1))
        rest = rest[flag.end() :]
    lowered = rest.lower()
    if code:
        # The dashboard prints the flag, then country_name(code) (the code itself when unknown).
        for name in (country_name(code), COUNTRY_NAMES.get(code, ""), code):
            if name and lowered.startswith(name.lower() + " "):
                return code, rest[len(name) :].strip()
        for name in _NAMES_LONGEST_FIRST:
            if NAME_TO_CODE[name] == code and lowered.startswith(name + " "):
                return code, rest[len(name) :].strip()
        return code, rest.strip()
    for name in _NAMES_LONGEST_FIRST:
        if lowered.startswith(name + " "):
            return NAME_TO_CODE[name], rest[len(name) :].strip()
    return "", rest.strip()


def card_parse(*, text: str, reference: datetime) -> ParsedCard:
    """Parse card text; ``reference`` is the file's time, used to pick the year."""
    lines = text.splitlines()
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None:
        raise DropRejected("empty card", line=1)
    header_line = index + 1
    header = lines[index].strip()
    if len(header) > MAX_HEADER_CHARS:
        raise DropRejected(f"card header longer than {MAX_HEADER_CHARS} characters", line=header_line, field="header")
    match = CARD_HEADER_RE.match(header)
    if not match:
        raise DropRejected(
            "card header must read like 'Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)'",
            line=header_line,
            field="header",
        )
    month = MONTHS.get(match["month"].lower())
    if month is None:
        raise DropRejected(f"unknown month {match['month']!r}", line=header_line, field="date")
    day, hour, minute = int(match["day"]), int(match["hour"]), int(match["minute"])
    if not (1 <= day <= 31):
        raise DropRejected(f"day {day} out of range", line=header_line, field="date")
    if hour > 23 or minute > 59:
        raise DropRejected(f"time {hour:02d}:{minute:02d} out of range", line=header_line, field="time")
    tz = _zone(match["zone"])
    if match["year"]:
        try:
            published = datetime(int(match["year"]), month, day, hour, minute, tzinfo=tz).astimezone(UTC)
        except ValueError as exc:
            raise DropRejected(f"invalid date: {exc}", line=header_line, field="date") from exc
    else:
        published = card_year_resolve(month=month, day=day, hour=hour, minute=minute, tz=tz, reference=reference)
    country, outlet = _country_and_outlet(match["rest"])
    if not outlet:
        raise DropRejected("the header names no outlet", line=header_line, field="outlet")
    language = match["lang"].replace("_", "-").split("-")[0].lower()

    title_index = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
    if title_index is None or MARKER_RE.match(lines[title_index]):
        raise DropRejected("the card has no headline after its header", line=header_line + 1, field="headline")
    body_lines = []
    for line in lines[title_index + 1 :]:
        if MARKER_RE.match(line):
            break  # the marker and anything the dashboard lists below it are not the article
        body_lines.append(line)
    return ParsedCard(
        published_at=published,
        country=country,
        outlet=outlet,
        language=language,
        title=lines[title_index].strip(),
        paragraphs=paragraphs_split(text="\n".join(body_lines)),
        title_line=title_index + 1,
    )
