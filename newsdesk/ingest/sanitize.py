"""Text and HTML hygiene for everything a feed says.

- ``text_clean`` removes control characters and Unicode non-characters
  (NUL, U+000B, U+FFFE, lone surrogates from ``&#xD800;``...): they break
  PostgreSQL (NUL), XML output (our RSS) and UTF-8 encoding (surrogates).
- ``html_to_text`` turns a feed's HTML snippet into plain text for titles
  and summaries, which templates then escape.
- ``html_clean`` is the one sanitizer for HTML we keep: nh3 (ammonia) with
  an allowlist of tags and attributes and only http/https/mailto URLs.
  feedparser's own sanitizer is switched off (see parse.py): it lets
  several ``javascript:`` payloads through and costs more time than
  parsing the feed.
"""

from __future__ import annotations

import html
import re
import sys

import nh3

from .urls import SAFE_SCHEMES, url_is_http, url_safe


def _noncharacter_class(*, planes: bool = True) -> str:
    ranges = [
        "\x00-\x08",
        "\x0b\x0c",
        "\x0e-\x1f",
        "\x7f-\x9f",  # DEL and C1 controls (mis-decoded cp1252 shows up here)
        "\ud800-\udfff",  # lone surrogates
        "\ufdd0-\ufdef",
        "\ufffe\uffff",
    ]
    # U+nFFFE and U+nFFFF in every supplementary plane.
    for plane in range(1, 17 if planes else 1):
        ranges.append(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF))
    return "[" + "".join(ranges) + "]"


_BAD_CHARS_RE = re.compile(_noncharacter_class())
# The same class without the supplementary planes, ten times faster to scan; the
# planes' non-characters (U+nFFFE, U+nFFFF) are looked for in the UTF-8 bytes first.
_BMP_BAD_CHARS_RE = re.compile(_noncharacter_class(planes=False))
_ASTRAL_NONCHARACTER_UTF8_RE = re.compile(rb"[\xf0-\xf4][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]")
# Where a tag-like "<" starts: an optional "/", then a letter, "!" or "?" ("5 < 6 > 4" stays).
_TAG_START_RE = re.compile(r"</?[a-zA-Z!?]")
# Blocks whose whole content goes: the opener, then its closer searched apart.
_BLOCK_OPEN_RE = re.compile(r"<(script|style|template|noscript)\b|<!--", re.IGNORECASE)
_BLOCK_CLOSE_RE = {
    name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style", "template", "noscript")
}
# html_to_text never looks further than this into its input: a title or
# summary is cut far shorter afterwards, and the cap bounds any one call.
HTML_TO_TEXT_MAX_INPUT = 1_000_000
_URL_ATTR_RE = re.compile(r'(\s(?:href|src|cite)=")([^"]*)(")')
_ABSOLUTE_RE = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.\-\t\n\r]*:")

assert sys.maxunicode == 0x10FFFF

ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "cite",
        "code",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "time",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
# Whose whole content goes, not just the tag.
CLEAN_CONTENT_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "math"})

_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(CLEAN_CONTENT_TAGS),
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(SAFE_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def text_clean(value: str) -> str:
    """``value`` without control characters, non-characters and lone surrogates."""
    if not value:
        return ""
    value = _BMP_BAD_CHARS_RE.sub("", value)
    # No lone surrogate is left, so the text encodes.
    if not value.isascii() and _ASTRAL_NONCHARACTER_UTF8_RE.search(value.encode("utf-8")):
        value = _BAD_CHARS_RE.sub("", value)
    return value


def text_truncate(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: limit - 1].rstrip() + "…"


def _blocks_drop(value: str) -> str:
    """``value`` with <script>/<style>/<template>/<noscript> blocks and comments
    replaced by a space; an opener without its closer stays (the tag pass
    removes it).

    Linear: each opener's closer is searched once per kind and the answer is
    reused while it still lies ahead, so "<script" x n costs one scan, not n.
    """
    out: list[str] = []
    ahead: dict[str, int] = {}  # kind -> start of its next closer (-1: none left)
    done = 0
    position = 0
    while (opener := _BLOCK_OPEN_RE.search(value, position)) is not None:
        kind = (opener.group(1) or "--").lower()
        closer = ahead.get(kind)
        if closer is None or 0 <= closer < opener.end():
            if kind == "--":
                closer = value.find("-->", opener.end())
            else:
                match = _BLOCK_CLOSE_RE[kind].search(value, opener.end())
                closer = match.start() if match else -1
            ahead[kind] = closer
        if closer < 0:
            position = opener.end()
            continue
        end = closer + 3 if kind == "--" else _BLOCK_CLOSE_RE[kind].match(value, closer).end()
        out.append(value[done : opener.start()])
        out.append(" ")
        done = position = end
    if not out:
        return value
    out.append(value[done:])
    return "".join(out)


def _tags_drop(value: str) -> str:
    """Every tag-like ``<...>`` becomes a space, so words around block tags do
    not run together. Linear: once no ">" is left, no later "<" can close."""
    out: list[str] = []
    done = 0
    position = 0
    while (start := _TAG_START_RE.search(value, position)) is not None:
        end = value.find(">", start.end())
        if end < 0:
            break
        out.append(value[done : start.start()])
        out.append(" ")
        done = position = end + 1
    if not out:
        return value
    out.append(value[done:])
    return "".join(out)


def html_to_text(value: str) -> str:
    """Plain text of an HTML snippet, whitespace collapsed, control characters gone.

    Linear in its input, which is first cut to ``HTML_TO_TEXT_MAX_INPUT``.
    """
    if not value:
        return ""
    value = value[:HTML_TO_TEXT_MAX_INPUT]
    if "<" in value:
        value = _tags_drop(_blocks_drop(value))
    if "&" in value:
        value = html.unescape(value)
    return _whitespace_collapse(text_clean(value))


def _whitespace_collapse(value: str) -> str:
    """Runs of whitespace as one space, none at the ends (str.split's whitespace is re's \\s)."""
    return " ".join(value.split())


def plain_text(value: str) -> str:
    """A text/plain field: control characters gone, whitespace collapsed."""
    if not value:
        return ""
    return _whitespace_collapse(text_clean(value))


def _url_attr_fixer(base: str):
    """Rewrites href/src/cite values in nh3 output: ammonia leaves ``cite``
    unchecked and relative links relative."""

    def replace(match: re.Match[str]) -> str:
        value = match.group(2)
        if not value:
            return match.group(0)
        scheme = _ABSOLUTE_RE.match(value)
        if scheme is not None:
            if url_safe(html.unescape(value)):
                return match.group(0)
            return ""
        if not base:
            return ""  # relative to nothing we know: it would point into our own site
        joined = url_safe(html.unescape(value), base=base)
        if not joined:
            return ""
        return f"{match.group(1)}{html.escape(joined, quote=True)}{match.group(3)}"

    return replace


def html_clean(value: str, *, base_url: str = "") -> str:
    """Allowlist-sanitised HTML; relative links made absolute against ``base_url``."""
    if not value:
        return ""
    cleaned = _CLEANER.clean(text_clean(value))
    if '="' in cleaned:
        if base_url and not url_is_http(base_url):
            base_url = ""
        cleaned = _URL_ATTR_RE.sub(_url_attr_fixer(base_url), cleaned)
    return cleaned
