"""Plain-text helpers shared by the drop formats: paragraphs, summary, safe HTML."""

from __future__ import annotations

import html
import re

from newsdesk.ingest.parse import MAX_CONTENT
from newsdesk.ingest.sanitize import text_clean

# A summary is the first paragraph, plus the next ones while it is still this
# short, so a one-line lede does not become the whole teaser.
SUMMARY_MIN_CHARS = 160
_BLANK_LINE_RE = re.compile(r"\n\s*\n")
_WS_RE = re.compile(r"\s+")


def text_lines_clean(*, text: str) -> str:
    """``text_clean`` (control characters break XML output and terminals) with newlines normalised to ``\\n``."""
    return text_clean(text.replace("\r\n", "\n").replace("\r", "\n"))


def line_clean(*, text: str) -> str:
    return _WS_RE.sub(" ", text_lines_clean(text=text)).strip()


def paragraphs_split(*, text: str) -> list[str]:
    """Paragraphs are separated by blank lines; lines inside one are joined by a space."""
    paragraphs = []
    for block in _BLANK_LINE_RE.split(text_lines_clean(text=text).strip()):
        joined = " ".join(line.strip() for line in block.splitlines() if line.strip())
        if joined:
            paragraphs.append(joined)
    return paragraphs


def summary_from_paragraphs(*, paragraphs: list[str]) -> str:
    taken: list[str] = []
    for paragraph in paragraphs:
        taken.append(paragraph)
        if len(" ".join(taken)) >= SUMMARY_MIN_CHARS:
            break
    return " ".join(taken)


def paragraphs_to_html(*, paragraphs: list[str], limit: int = MAX_CONTENT) -> str:
    """Article.content_orig holds sanitised HTML: escaped text in <p> elements is that by construction.

    At most ``limit`` characters (the cap of polled content): the paragraph that would pass it is cut
    at a whole character reference and closed, and the rest left out, so the cap never needs the
    HTML cleaner to mend a cut tag, and a huge file costs no more than the cap.
    """
    parts: list[str] = []
    room = limit
    for paragraph in paragraphs:
        escaped = html.escape(paragraph, quote=False)
        if len(escaped) + 8 > room:  # "<p></p>" and the newline
            cut = escaped[: max(room - 8, 0)]
            amp = cut.rfind("&")
            if amp >= 0 and ";" not in cut[amp:]:
                cut = cut[:amp]
            if cut:
                parts.append(f"<p>{cut}</p>")
            break
        parts.append(f"<p>{escaped}</p>")
        room -= len(escaped) + 8
    return "\n".join(parts)
