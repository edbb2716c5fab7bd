"""Dropped bytes -> items, with the format detected by content, not only by extension.

Detection order: a .zip signature; a feed (text starting with ``<``); JSON or
NDJSON (``{`` / ``[``), with JSON Feed recognised by its ``version``; a card
(first line starts like ``Feb 9 •``); otherwise plain text or Markdown,
whose first line is the title. The extension only decides what happens when
content that looks like XML or JSON does not parse: a ``.txt`` or ``.md``
falls back to plain text, anything else fails with the parser's reason.

Pure functions: no database, no file system. The Django side is scan.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath

from newsdesk.countries import NAME_TO_CODE, code_from_flag
from newsdesk.ingest.parse import (
    MAX_AUTHOR,
    MAX_CATEGORY,
    MAX_CONTENT,
    MAX_SUMMARY,
    MAX_TITLE,
    FeedRejected,
    ParsedItem,
    dedupe_key_for,
    html_to_text,
    parse_feed,
)
from newsdesk.ingest.sanitize import html_clean, text_clean, text_truncate
from newsdesk.ingest.urls import url_is_http

from .card import card_looks_like, card_parse
from .encoding import UndecodableText, text_decode
from .errors import DropRejected
from .text import line_clean, paragraphs_split, paragraphs_to_html, summary_from_paragraphs

ZIP_MAGIC = b"PK\x03\x04"
# Content that looks like XML or JSON but does not parse falls back to text only for these.
TEXT_EXTENSIONS = {".txt", ".md", ".markdown", ".text"}
JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


@dataclass
class DropEntry:
    """One article from a file, with what the item model cannot carry."""

    item: ParsedItem
    outlet: str = ""  # source name; "" means the drop source itself
    country: str = ""
    line: int | None = None
    member: str = ""


@dataclass
class ZipLimits:
    max_members: int = 1000
    max_member_bytes: int = 10 * 1024 * 1024
    max_total_bytes: int = 100 * 1024 * 1024


@dataclass
class ParsedDrop:
    format: str
    encoding: str = ""
    entries: list[DropEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _key(*, guid: str, url: str, title: str, published: datetime | None, body: str) -> str:
    if guid or url or published:
        return dedupe_key_for(guid=guid, link=url, title=title, published=published)
    # Undated and without an identifier: the text itself is the identity, so
    # the same note dropped twice is one article and an edited one is another.
    return "sha256:" + hashlib.sha256(f"{title}\n{body}".encode("utf-8", "surrogatepass")).hexdigest()


def _item(
    *, title: str, paragraphs: list[str], published: datetime | None, mtime: datetime, language: str = "", **extra
) -> ParsedItem:
    summary = summary_from_paragraphs(paragraphs=paragraphs)
    body = "\n\n".join(paragraphs)
    return ParsedItem(
        dedupe_key=_key(
            guid=extra.get("guid", ""), url=extra.get("url", ""), title=title, published=published, body=body
        ),
        title=title,
        summary=summary,
        content=paragraphs_to_html(paragraphs=paragraphs),
        language=language,
        published_at=published or mtime,
        **extra,
    )


# --- Cards and plain text -------------------------------------------------------


def _parse_card(text: str, mtime: datetime) -> list[DropEntry]:
    card = card_parse(text=text, reference=mtime)
    item = _item(title=card.title, paragraphs=card.paragraphs, published=card.published_at, mtime=mtime)
    item.language = card.language
    return [DropEntry(item=item, outlet=card.outlet, country=card.country, line=card.title_line)]


def _parse_text(text: str, mtime: datetime, suffix: str) -> list[DropEntry]:
    lines = text.splitlines()
    index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if index is None:
        raise DropRejected("empty file: nothing to make an article of", line=1)
    title = line_clean(text=lines[index])
    if suffix in (".md", ".markdown") or title.startswith("# "):
        title = title.lstrip("#").strip()
    if not title:
        raise DropRejected("the first line (the title) is empty", line=index + 1, field="title")
    paragraphs = paragraphs_split(text="\n".join(lines[index + 1 :]))
    item = _item(title=title, paragraphs=paragraphs, published=None, mtime=mtime)
    return [DropEntry(item=item, line=index + 1)]


# --- JSON and NDJSON ---------------------------------------------------------------


def _string(obj: dict, name: str, line: int | None, *aliases: str) -> str:
    for key in (name, *aliases):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise DropRejected(f"{key} must be a string, got {type(value).__name__}", line=line, field=key)
        return value
    return ""


def _published(value: object, line: int | None) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a time")
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
        if not isinstance(value, str):
            raise TypeError(f"a {type(value).__name__} is not a time")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            parsed = parsedate_to_datetime(value)  # RFC 2822, as in RSS
        # A time without a zone is taken as UTC, the desk's time zone.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (TypeError, ValueError, OverflowError, IndexError) as exc:
        raise DropRejected(
            f"published {value!r} is not an ISO 8601, RFC 2822 or epoch time ({exc})", line=line, field="published"
        ) from exc


def _country(value: str, line: int | None) -> str:
    value = value.strip()
    if not value:
        return ""
    code = code_from_flag(value) or NAME_TO_CODE.get(value.lower(), "")
    if not code and len(value) == 2 and value.isascii() and value.isalpha():
        code = value.upper()
    if not code:
        raise DropRejected(f"unknown country {value!r}; use an ISO 3166 code such as MX", line=line, field="country")
    return code


def _entry_from_object(obj: object, line: int | None, mtime: datetime) -> DropEntry:
    if not isinstance(obj, dict):
        raise DropRejected(f"expected a JSON object, got {type(obj).__name__}", line=line)
    title = line_clean(text=_string(obj, "title", line))
    if not title:
        raise DropRejected("missing title", line=line, field="title")
    url = _string(obj, "url", line, "link").strip()
    if url and not url_is_http(url):
        raise DropRejected(f"url must be http(s), got {url[:80]!r}", line=line, field="url")
    body = _string(obj, "body", line, "content", "text")
    summary = line_clean(text=html_to_text(_string(obj, "summary", line, "description")))
    paragraphs = paragraphs_split(text=body)
    published = _published(obj.get("published", obj.get("date")), line)
    source = obj.get("source", "")
    if isinstance(source, dict):
        source = source.get("name", "")
    if not isinstance(source, str):
        raise DropRejected("source must be a string (the outlet's name)", line=line, field="source")
    language = _string(obj, "language", line, "lang").strip().replace("_", "-").split("-")[0].lower()[:8]
    item = _item(
        title=title,
        paragraphs=paragraphs,
        published=published,
        mtime=mtime,
        language=language,
        url=url,
        guid=_string(obj, "guid", line, "id").strip(),
        author=line_clean(text=_string(obj, "author", line))[:300],
        category=line_clean(text=_string(obj, "category", line))[:200],
    )
    if summary:
        item.summary = summary
    elif not paragraphs:
        item.summary = ""
    return DropEntry(
        item=item, outlet=line_clean(text=source), country=_country(_string(obj, "country", line), line), line=line
    )


def _line_of(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _json_array(text: str, mtime: datetime) -> list[DropEntry]:
    """Walk the array element by element so each error can name its line."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    entries = []
    # Lines are counted on from the previous element, not from the start:
    # counting from the start for each element costs time quadratic in the file.
    line, counted = 1, 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        if position >= len(text) or text[position] == "]":
            break
        value, end = decoder.raw_decode(text, position)
        line += text.count("\n", counted, position)
        counted = position
        entries.append(_entry_from_object(value, line, mtime))
        position = end
    return entries


def _json_feed(document: dict, mtime: datetime) -> list[DropEntry]:
    # feedparser 6.0 does not read JSON Feed, so it is mapped here with the same normaliser helpers.
    entries = []
    feed_language = str(document.get("language", "")).split("-")[0].lower()
    for number, raw in enumerate(document.get("items") or [], start=1):
        if not isinstance(raw, dict):
            raise DropRejected(f"JSON Feed item {number} is not an object", field="items")
        title = html_to_text(str(raw.get("title", "")))
        summary = html_to_text(
            str(raw.get("summary", "") or raw.get("content_text", "") or raw.get("content_html", ""))
        )
        if not title and not summary:
            continue
        published = _published(raw.get("date_published") or raw.get("date_modified"), None)
        url = str(raw.get("url", ""))
        guid = str(raw.get("id", ""))
        content = str(raw.get("content_html", "")) or paragraphs_to_html(
            paragraphs=paragraphs_split(text=str(raw.get("content_text", "")))
        )
        item = ParsedItem(
            dedupe_key=dedupe_key_for(guid=guid, link=url, title=title, published=published),
            title=title or summary[:120],
            url=url if url_is_http(url) else "",
            guid=guid,
            summary=summary,
            content=content,
            language=str(raw.get("language", "")).split("-")[0].lower() or feed_language,
            published_at=published or mtime,
        )
        entries.append(DropEntry(item=item, outlet=html_to_text(str(document.get("title", "")))))
    return entries


def _parse_json(text: str, mtime: datetime) -> tuple[str, list[DropEntry]]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise DropRejected(f"invalid JSON: {exc.msg}", line=exc.lineno) from exc
        return "ndjson", _parse_ndjson(text, mtime)
    if isinstance(document, list):
        return "json", _json_array(text, mtime)
    if isinstance(document, dict) and str(document.get("version", "")).startswith(JSON_FEED_PREFIX):
        # The polled-feed parser first, so drops and polls normalise alike; the
        # local mapping covers a parser without JSON Feed support.
        try:
            entries = _parse_feed_file(text.encode("utf-8"), mtime)
        except FeedRejected:
            entries = []
        return "jsonfeed", entries or _json_feed(document, mtime)
    return "json", [_entry_from_object(document, _line_of(text, text.index("{")), mtime)]


def _json_syntax_ok(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            return False
        try:
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
        except json.JSONDecodeError:
            return False
    return True


def _parse_ndjson(text: str, mtime: datetime) -> list[DropEntry]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DropRejected(f"invalid JSON: {exc.msg} (column {exc.colno})", line=number) from exc
        entries.append(_entry_from_object(value, number, mtime))
    return entries


# --- Feeds ----------------------------------------------------------------------------


# A dropped feed file is a delivery, not a poll: keep every item up to a generous bound.
DROP_FEED_MAX_ITEMS = 10_000


def _parse_feed_file(data: bytes, mtime: datetime, notes: list[str] | None = None) -> list[DropEntry]:
    feed = parse_feed(body=data, max_items=DROP_FEED_MAX_ITEMS)
    dropped = getattr(feed, "entries_dropped", 0)
    if dropped and notes is not None:
        notes.append(f"the feed parser skipped {dropped} of {getattr(feed, 'entries_total', '?')} entries")
    if feed.bozo and notes is not None:
        # Said as a poll says it (FetchAttempt detail "bozo: ..."): the items were read by the loose parser.
        notes.append(f"bozo: {feed.bozo_reason}")
    entries = []
    for item in feed.items:
        item.published_at = item.published_at or mtime
        entries.append(DropEntry(item=item, outlet=feed.title))
    return entries


# --- Archives ---------------------------------------------------------------------------


def _member_safe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return bool(name) and not path.is_absolute() and ".." not in path.parts and ":" not in path.parts[0]


def _parse_zip(data: bytes, mtime: datetime, limits: ZipLimits) -> list[DropEntry]:
    """Unpack in memory with member, size and traversal limits; nothing is written to disk."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DropRejected(f"not a readable zip archive: {exc}") from exc
    files = [info for info in infos if not info.is_dir()]
    if len(files) > limits.max_members:
        raise DropRejected(f"archive has {len(files)} files; the limit is {limits.max_members}")
    entries: list[DropEntry] = []
    total = 0
    for info in files:
        name = info.filename
        if not _member_safe(name):
            raise DropRejected("member name escapes the archive (absolute path or '..')", member=name)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise DropRejected("member is a symbolic link", member=name)
        base = PurePosixPath(name).name
        if base.startswith(".") or name.startswith("__MACOSX/"):
            continue  # resource forks and dotfiles, as in the inbox itself
        if info.flag_bits & 0x1:
            raise DropRejected("member is encrypted", member=name)
        try:
            with archive.open(info) as handle:
                # Read one byte past the limit: headers can lie about sizes.
                content = handle.read(limits.max_member_bytes + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
            raise DropRejected(f"cannot read member: {exc}", member=name) from exc
        if len(content) > limits.max_member_bytes:
            raise DropRejected(f"member is larger than {limits.max_member_bytes} bytes when unpacked", member=name)
        total += len(content)
        if total > limits.max_total_bytes:
            raise DropRejected(f"archive unpacks to more than {limits.max_total_bytes} bytes", member=name)
        if content.startswith(ZIP_MAGIC):
            raise DropRejected("nested archives are not unpacked", member=name)
        try:
            parsed = drop_parse(data=content, name=base, mtime=mtime)
        except DropRejected as exc:
            exc.member = name
            raise
        for entry in parsed.entries:
            entry.member = name
        entries.extend(parsed.entries)
    return entries


# --- Entry point ---------------------------------------------------------------------------


def drop_parse(*, data: bytes, name: str, mtime: datetime, zip_limits: ZipLimits | None = None) -> ParsedDrop:
    """Parse one dropped file's bytes. Raises DropRejected with the reason and place."""
    suffix = PurePosixPath(name.lower()).suffix
    if data.startswith(ZIP_MAGIC):
        entries = _parse_zip(data, mtime, zip_limits or ZipLimits())
        if not entries:
            raise DropRejected("the archive holds no articles")
        return ParsedDrop(format="zip", entries=entries)
    try:
        decoded = text_decode(data=data)
    except UndecodableText as exc:
        raise DropRejected(str(exc)) from exc
    text = decoded.text
    stripped = text.lstrip()
    result: ParsedDrop | None = None
    if stripped.startswith("<"):
        try:
            notes: list[str] = []
            entries = _parse_feed_file(data, mtime, notes)
            result = ParsedDrop(format="feed", encoding=decoded.encoding, entries=entries, notes=notes)
        except FeedRejected as exc:
            if suffix not in TEXT_EXTENSIONS:
                raise DropRejected(f"looks like XML but is not a feed: {exc}") from exc
    elif stripped.startswith(("{", "[")) and (suffix not in TEXT_EXTENSIONS or _json_syntax_ok(text)):
        # A .txt or .md note that merely starts with a brace is text; anything else must be valid JSON.
        kind, entries = _parse_json(text, mtime)
        result = ParsedDrop(format=kind, encoding=decoded.encoding, entries=entries)
    if result is None:
        first_line = next((line for line in text.splitlines() if line.strip()), "")
        if card_looks_like(first_line=first_line):
            result = ParsedDrop(format="card", encoding=decoded.encoding, entries=_parse_card(text, mtime))
        else:
            kind = "markdown" if suffix in (".md", ".markdown") else "text"
            result = ParsedDrop(format=kind, encoding=decoded.encoding, entries=_parse_text(text, mtime, suffix))
    if not result.entries:
        raise DropRejected(f"no articles found in this {result.format} file")
    for entry in result.entries:
        _entry_clean(entry)
    return result


def _entry_clean(entry: DropEntry) -> None:
    """Strip control and non-characters from every text field, as the feed parser does
    for polled items: a card, JSON or text file can carry them too (\x08, U+FFFE…)."""
    item = entry.item
    # The same caps as polled items (ingest/parse.py): a dropped file is no
    # licence for a megabyte title that every later stage (language, coverage,
    # the translation budget) would pay for.
    item.title = text_truncate(text_clean(item.title).strip(), MAX_TITLE)
    item.summary = text_truncate(text_clean(item.summary), MAX_SUMMARY)
    item.content = text_clean(item.content)
    if len(item.content) > MAX_CONTENT:
        item.content = html_clean(item.content[:MAX_CONTENT])  # cleaned again: the cut may split a tag
    item.author = text_truncate(text_clean(item.author), MAX_AUTHOR)
    item.category = text_truncate(text_clean(item.category), MAX_CATEGORY)
