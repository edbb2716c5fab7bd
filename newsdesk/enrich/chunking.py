"""Splitting long texts on sentence boundaries under a provider's size limit.

Providers strip the text they are sent, so each chunk is sent without its
surrounding whitespace and the whitespace between chunks (a space, a
paragraph break) is kept aside and put back when the translated chunks are
joined, in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# A sentence ends at . ! ? … or their Arabic/Devanagari forms (plus closing
# quotes/brackets) followed by whitespace, at a CJK full stop with or without
# whitespace, or at a paragraph break. The named group is the separator.
_SENTENCE_END = re.compile(r"[.!?…؟।][\"'»”’)\]]*(?P<a>\s+)|[。！？](?P<b>\s*)|(?P<c>\n\s*\n\s*)")
_SPACE = re.compile(r"(?P<a>\s+)")


@dataclass(frozen=True)
class Chunk:
    text: str
    # Whitespace that followed this chunk in the original.
    after: str


def _pieces(text: str, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """Split text at the pattern's separator group: [(piece, separator after it)]."""
    out: list[tuple[str, str]] = []
    start = 0
    for match in pattern.finditer(text):
        group = match.lastgroup or "a"
        sep_start, sep_end = match.start(group), match.end(group)
        if sep_start > start:
            out.append((text[start:sep_start], text[sep_start:sep_end]))
            start = sep_end
    if start < len(text):
        out.append((text[start:], ""))
    return out


def _hard_cuts(piece: str, sep: str, limit: int, size: Callable[[str], int]) -> list[tuple[str, str]]:
    """Cut one unbroken token into the longest prefixes that fit (at least one
    character each); the last keeps ``sep``.

    Each prefix is found by galloping, then binary search inside the last
    window, and the rest is never copied: the cost follows the prefixes
    found, so cutting a long token stays linear.
    """
    cuts: list[tuple[str, str]] = []
    start = 0
    while start < len(piece):
        fits, too_long = 0, max(1, limit)  # lengths known to fit / not to fit
        while True:
            if start + too_long >= len(piece):
                if size(piece[start:]) <= limit:
                    cuts.append((piece[start:], sep))
                    return cuts
                too_long = len(piece) - start
                break
            if size(piece[start : start + too_long]) > limit:
                break
            fits, too_long = too_long, too_long * 2
        while too_long - fits > 1:
            mid = (fits + too_long) // 2
            if size(piece[start : start + mid]) <= limit:
                fits = mid
            else:
                too_long = mid
        cut = max(fits, 1)
        cuts.append((piece[start : start + cut], ""))
        start += cut
    cuts[-1] = (cuts[-1][0], sep)
    return cuts


def _fit(piece: str, sep: str, limit: int, size: Callable[[str], int]) -> list[tuple[str, str]]:
    """Break one over-long sentence: at spaces first, then hard cuts."""
    if size(piece) <= limit:
        return [(piece, sep)]
    words = _pieces(piece, _SPACE)
    if len(words) > 1:
        out: list[tuple[str, str]] = []
        for i, (word, wsep) in enumerate(words):
            out.extend(_fit(word, wsep if i < len(words) - 1 else sep, limit, size))
        return out
    # One unbroken token (CJK without spaces, a long URL): cut it.
    return _hard_cuts(piece, sep, limit, size)


def text_chunks(*, text: str, limit: int, size: Callable[[str], int] = len) -> list[Chunk]:
    """Sentence-packed chunks of at most ``limit`` (by ``size``), in order.

    ``"".join(c.text + c.after for c in chunks)`` equals ``text.strip()``.
    """
    text = text.strip()
    if not text:
        return []
    if size(text) <= limit:
        return [Chunk(text, "")]
    sentences: list[tuple[str, str]] = []
    for sentence, sep in _pieces(text, _SENTENCE_END):
        sentences.extend(_fit(sentence, sep, limit, size))
    chunks: list[Chunk] = []
    current, current_after = "", ""
    for sentence, sep in sentences:
        candidate = current + current_after + sentence if current else sentence
        if current and size(candidate) > limit:
            chunks.append(Chunk(current, current_after))
            current, current_after = sentence, sep
        else:
            current, current_after = candidate, sep
    if current:
        chunks.append(Chunk(current, current_after))
    return chunks


def chunks_join(*, chunks: list[Chunk], translated: list[str]) -> str:
    return "".join(t + c.after for c, t in zip(chunks, translated, strict=True)).strip()
