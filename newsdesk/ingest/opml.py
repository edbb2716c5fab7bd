"""OPML import and export of feed sources.

Parsing is done with expat directly and refuses any DTD, entity declaration
or external entity before they can expand (the same care defusedxml takes):
an OPML file is uploaded by a person, but it often comes from somewhere
else. Nested outlines are folders; the nearest folder's title becomes the
source's category.

Import never duplicates: an URL already polled by a source, or repeated in
the file, is reported as a duplicate; an entry without a usable http(s)
``xmlUrl`` is reported as invalid with the reason. Everything else is
created.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from django.db import IntegrityError, transaction

from newsdesk.models import Source, SourceKind

from .urls import url_is_http

MAX_OPML_BYTES = 5 * 1024 * 1024
_URL_MAX = Source._meta.get_field("url").max_length
_NAME_MAX = Source._meta.get_field("name").max_length


class OpmlRejected(Exception):
    """The file is not OPML we accept; the message says why."""


@dataclass
class OpmlEntry:
    line: int
    url: str
    name: str = ""
    site_url: str = ""
    category: str = ""
    language: str = ""
    country: str = ""


@dataclass
class OpmlInvalid:
    line: int
    reason: str
    text: str = ""


@dataclass
class OpmlDocument:
    title: str = ""
    entries: list[OpmlEntry] = field(default_factory=list)
    invalid: list[OpmlInvalid] = field(default_factory=list)


@dataclass
class ImportReport:
    created: list[Source] = field(default_factory=list)
    duplicates: list[OpmlEntry] = field(default_factory=list)
    invalid: list[OpmlInvalid] = field(default_factory=list)

    def summary(self) -> str:
        return f"created={len(self.created)} duplicates={len(self.duplicates)} invalid={len(self.invalid)}"


def _refuse(what: str) -> Callable[..., None]:
    def handler(*_args: object) -> None:
        raise OpmlRejected(f"OPML with {what} is refused (entity expansion and external fetches are not allowed)")

    return handler


def opml_parse(*, data: bytes) -> OpmlDocument:
    """Read feed outlines from OPML bytes. Raises OpmlRejected for anything
    that is not well-formed, entity-free OPML."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlRejected(f"file is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
    document = OpmlDocument()
    parser = xml.parsers.expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse("a DOCTYPE")
    parser.EntityDeclHandler = _refuse("an entity declaration")
    parser.UnparsedEntityDeclHandler = _refuse("an entity declaration")
    parser.ExternalEntityRefHandler = _refuse("an external entity")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []  # element names
    folders: list[str | None] = []  # per open outline: its folder title, or None for a feed
    root_seen: list[str] = []
    in_title = [False]

    def start(name: str, attrs: dict[str, str]) -> None:
        if not root_seen:
            root_seen.append(name)
            if name.lower() != "opml":
                raise OpmlRejected(f"root element is <{name}>, not <opml>")
        stack.append(name)
        in_title[0] = name == "title" and "head" in stack
        if name != "outline":
            return
        line = parser.CurrentLineNumber
        text = (attrs.get("title") or attrs.get("text") or "").strip()
        url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
        if not url:
            if (attrs.get("type") or "").lower() in ("rss", "atom"):
                document.invalid.append(OpmlInvalid(line=line, reason="feed outline without xmlUrl", text=text))
            folders.append(text or None)
            return
        folders.append(None)
        if not url_is_http(url):
            document.invalid.append(
                OpmlInvalid(line=line, reason=f"xmlUrl is not an http(s) URL: {url[:200]}", text=text)
            )
            return
        if len(url) > _URL_MAX:
            document.invalid.append(
                OpmlInvalid(line=line, reason=f"xmlUrl longer than {_URL_MAX} characters", text=text)
            )
            return
        site = (attrs.get("htmlUrl") or "").strip()
        category = attrs.get("category", "").split(",")[0].strip().strip("/")
        if not category:
            category = next((f for f in reversed(folders[:-1]) if f), "")
        document.entries.append(
            OpmlEntry(
                line=line,
                url=url,
                name=(text or urlsplit(url).netloc)[:_NAME_MAX],
                site_url=site if url_is_http(site) and len(site) <= _URL_MAX else "",
                category=category[:100],
                language=(attrs.get("language") or "").split("-")[0].strip().lower()[:8],
                country=(attrs.get("country") or "").strip().upper()[:2],
            )
        )

    def end(name: str) -> None:
        stack.pop()
        in_title[0] = False
        if name == "outline":
            folders.pop()

    def chars(data: str) -> None:
        if in_title[0]:
            document.title += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise OpmlRejected(f"not well-formed XML: {exc}") from exc
    if not root_seen:
        raise OpmlRejected("empty document")
    document.title = document.title.strip()
    return document


def opml_import(
    *,
    document: OpmlDocument,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Create a feed source per new entry; report duplicates and invalid entries."""
    report = ImportReport(invalid=list(document.invalid))
    existing = set(Source.objects.filter(kind=SourceKind.FEED).values_list("url", flat=True))
    total = len(document.entries)
    for done, entry in enumerate(document.entries, start=1):
        if entry.url in existing:
            report.duplicates.append(entry)
        else:
            try:
                with transaction.atomic():
                    source = Source.objects.create(
                        name=entry.name,
                        kind=SourceKind.FEED,
                        url=entry.url,
                        site_url=entry.site_url,
                        category=entry.category,
                        language=entry.language,
                        country=entry.country,
                    )
            except IntegrityError:
                # Added meanwhile by someone else: still a duplicate, not an error.
                report.duplicates.append(entry)
            else:
                report.created.append(source)
            existing.add(entry.url)
        if on_progress is not None:
            on_progress(done, total)
    return report


def opml_export(*, sources: Iterable[Source], title: str = "Newsdesk sources") -> bytes:
    """OPML 2.0 with one folder per category; language and country are kept
    as outline attributes so a round trip loses nothing we use."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for source in sources:
        if source.kind != SourceKind.FEED or not source.url:
            continue
        parent = body
        if source.category:
            parent = folders.get(source.category) or ET.SubElement(
                body, "outline", text=source.category, title=source.category
            )
            folders[source.category] = parent
        attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": source.url}
        if source.site_url:
            attrs["htmlUrl"] = source.site_url
        if source.language:
            attrs["language"] = source.language
        if source.country:
            attrs["country"] = source.country
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
