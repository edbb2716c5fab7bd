"""Hypothesis strategies for hostile ingest input, and the contract every parsed item keeps.

Shared by the bounded property tests (tests/test_fuzz_parsers.py) and the
time-bounded fuzzer (bench/fuzz.py). Needs ``hypothesis`` (requirements-test.txt);
nothing in the application imports it.

* ``feed_documents``: RSS, Atom, RDF and JSON Feed documents built from hostile
  text (control characters, entities, CDATA, markup, odd dates, huge and empty
  fields), then byte-level mutations;
* ``drop_files``: dashboard cards, JSON, NDJSON, text and Markdown, feed files
  and zip archives;
* ``feed_target`` / ``drop_target``: parse one input; it is either refused with
  the module's own error (FeedRejected, DropRejected) or parsed into items that
  pass ``check_item``. Anything else escaping is a finding.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime

from hypothesis import strategies as st

# Text that has broken feed parsers before: control characters, lone
# surrogate-ish escapes, entities, markup, right-to-left marks, emoji.
HOSTILE = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "\x0b\x0c\x1b",
            "&amp;",
            "&#0;",
            "&#x1F;",
            "&nbsp;",
            "&unknown;",
            "<![CDATA[x]]>",
            "]]>",
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            '<a href="javascript:alert(1)">x</a>',
            "\u202etxt",
            "🇲🇽",
            "a" * 5000,
            "%s%n%x",
            "../../etc/passwd",
        ]
    ),
)
DATES = st.one_of(
    st.sampled_from(
        [
            "Mon, 09 Feb 2026 11:00:00 GMT",
            "2026-02-09T11:00:00Z",
            "2026-02-30T25:61:00+99:00",
            "0000-00-00",
            "Fri, 31 Dec 9999 23:59:59 +2400",
            "yesterday",
            "",
            "1e400",
        ]
    ),
    st.text(max_size=30),
)


def _x(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The XML kinds as (head, one item, tail): every value escaped, but title and desc
# (description, content) sometimes raw markup.
_XML_FEEDS = {
    "rss": (
        "<rss version='2.0'><channel><title>t</title><language>{lang}</language>",
        "<item><title>{title}</title><link>{link}</link><guid>{guid}</guid><description>{desc}</description>"
        "<pubDate>{date}</pubDate></item>",
        "</channel></rss>",
    ),
    "atom": (
        "<feed xmlns='http://www.w3.org/2005/Atom' xml:lang='{lang}'><title>t</title>",
        "<entry><title type='html'>{title}</title><link href='{link}'/><id>{guid}</id>"
        "<content type='html'>{desc}</content><updated>{date}</updated></entry>",
        "</feed>",
    ),
    "rdf": (
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' xmlns='http://purl.org/rss/1.0/'>"
        "<channel><title>t</title></channel>",
        "<item><title>{title}</title><link>{link}</link><description>{desc}</description></item>",
        "</rdf:RDF>",
    ),
}


@st.composite
def feed_documents(draw) -> bytes:
    kind = draw(st.sampled_from(["rss", "atom", "rdf", "json"]))
    n = draw(st.integers(min_value=0, max_value=6))
    items = [
        {
            "title": draw(HOSTILE),
            "link": draw(st.one_of(st.just("http://127.0.0.1/a"), HOSTILE)),
            "guid": draw(HOSTILE),
            "desc": draw(HOSTILE),
            "date": draw(DATES),
            "raw": draw(st.booleans()),
        }
        for _ in range(n)
    ]
    lang = draw(st.sampled_from(["es", "en-US", "", "xx-invalid", "zh_Hant", "ÑÑ"]))
    if kind == "json":
        doc = {
            "version": draw(st.sampled_from(["https://jsonfeed.org/version/1.1", "", "x"])),
            "title": draw(HOSTILE),
            "language": lang,
            "items": [
                {
                    "id": it["guid"],
                    "url": it["link"],
                    "title": it["title"],
                    "content_html": it["desc"],
                    "date_published": it["date"],
                }
                for it in items
            ],
        }
        body = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    else:
        head, item, tail = _XML_FEEDS[kind]
        parts = [head.format(lang=_x(lang))]
        for it in items:
            shown = {key: _x(value) for key, value in it.items() if key != "raw"}
            if it["raw"]:  # raw markup half the time: the parser must cope with both
                shown.update(title=it["title"], desc=it["desc"])
            parts.append(item.format(**shown))
        parts.append(tail)
        prolog = draw(
            st.sampled_from(
                ['<?xml version="1.0" encoding="utf-8"?>', "", "\ufeff", '<?xml version="1.0" encoding="latin-1"?>']
            )
        )
        body = (prolog + "".join(parts)).encode("utf-8", "surrogatepass")
    return draw(_mutated(body))


@st.composite
def _mutated(draw, body: bytes) -> bytes:
    """Now and then flip, cut or splice bytes: the parser must still answer cleanly."""
    how = draw(st.sampled_from(["none", "none", "cut", "flip", "insert"]))
    if how == "none" or not body:
        return body
    at = draw(st.integers(min_value=0, max_value=len(body) - 1))
    if how == "cut":
        return body[:at]
    if how == "flip":
        return body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
    return body[:at] + draw(st.binary(max_size=16)) + body[at:]


@st.composite
def drop_files(draw) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["card", "json", "ndjson", "txt", "md", "xml", "zip"]))
    if kind == "card":
        header = draw(
            st.sampled_from(
                [
                    "Feb 9 • 11:00 UTC 🇲🇽 Mexico El Financiero (ES)",
                    "Feb 30 • 25:00 UTC 🇲🇽 Mexico El Financiero (ES)",
                    "Feb 9 • 11:00 XYZ Atlantis Outlet (ZZ)",
                    "Feb 9 • 11:00 UTC",
                ]
            )
            | HOSTILE
        )
        text = f"{header}\n\n{draw(HOSTILE)}\n\n{draw(HOSTILE)}\n\n📡 Similar Coverage"
        return "card.txt", draw(_mutated(text.encode("utf-8", "surrogatepass")))
    if kind in ("json", "ndjson"):
        obj = st.fixed_dictionaries(
            {},
            optional={
                "title": HOSTILE | st.integers() | st.none(),
                "summary": HOSTILE,
                "body": HOSTILE,
                "url": HOSTILE,
                "published": DATES | st.integers() | st.floats(allow_nan=True),
                "language": HOSTILE,
                "country": HOSTILE,
                "source": HOSTILE,
            },
        )
        values = draw(st.lists(obj, max_size=5))
        if kind == "json":
            payload = json.dumps(values if draw(st.booleans()) else (values[0] if values else {}))
        else:
            payload = "\n".join(json.dumps(v) for v in values)
        return f"drop.{kind}", draw(_mutated(payload.encode("utf-8", "surrogatepass")))
    if kind in ("txt", "md"):
        return f"note.{kind}", draw(_mutated(f"{draw(HOSTILE)}\n{draw(HOSTILE)}".encode("utf-8", "surrogatepass")))
    if kind == "xml":
        return "feed.xml", draw(feed_documents())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for i in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from([f"a{i}.json", f"../evil{i}.txt", f"/abs{i}.md", f"dir/b{i}.txt"]))
            zf.writestr(name, json.dumps([{"title": draw(HOSTILE), "summary": draw(HOSTILE)}]))
    return "bundle.zip", draw(_mutated(buffer.getvalue()))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def check_item(item) -> None:
    """The contract every parsed item keeps, whatever the input."""
    assert isinstance(item.dedupe_key, str) and 0 < len(item.dedupe_key) <= 255, item.dedupe_key
    for name in ("title", "url", "summary", "content", "author", "category", "language"):
        value = getattr(item, name)
        assert isinstance(value, str), (name, value)
    for name in ("title", "summary"):
        assert not _CONTROL.search(getattr(item, name)), (name, getattr(item, name)[:80])
    assert "<script" not in item.content.lower(), item.content[:200]
    assert item.published_at is None or item.published_at.tzinfo is not None


def feed_target(body: bytes) -> None:
    from newsdesk.ingest.parse import FeedRejected, parse_feed

    try:
        feed = parse_feed(body=body, headers={"content-type": "application/xml"}, base_url="http://127.0.0.1/")
    except FeedRejected:
        return
    for item in feed.items:
        check_item(item)


def drop_target(name_and_data: tuple[str, bytes]) -> None:
    from newsdesk.drops.errors import DropRejected
    from newsdesk.drops.formats import drop_parse

    name, data = name_and_data
    try:
        parsed = drop_parse(data=data, name=name, mtime=datetime(2026, 2, 9, 12, 0, tzinfo=UTC))
    except DropRejected:
        return
    for entry in parsed.entries:
        check_item(entry.item)
        assert isinstance(entry.country, str) and len(entry.country) <= 2, entry.country


TARGETS = {"feeds": (feed_documents(), feed_target), "drops": (drop_files(), drop_target)}
