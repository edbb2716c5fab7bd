"""Turning dropped bytes into text: byte-order marks first, then UTF-8, then detection.

Files arrive from editors' desktops and partners' exports, so we see UTF-8
with and without a BOM, UTF-16 from Windows tools, and legacy single-byte
encodings (Latin-1, Windows-1252, ...). A BOM is authoritative; strict UTF-8
is tried next because detectors sometimes call short UTF-8 text something
else; only then is charset-normalizer asked to guess.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from charset_normalizer import from_bytes

_BOMS = (
    # UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class UndecodableText(ValueError):
    """The bytes are not text in any encoding we can tell apart."""


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str
    had_bom: bool = False


def bom_sniff(*, data: bytes) -> tuple[str, int]:
    """(encoding, BOM length) when ``data`` starts with a byte-order mark, else ("", 0)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    return "", 0


def text_decode(*, data: bytes) -> DecodedText:
    """Decode file bytes to str, refusing binary content with a reason."""
    encoding, bom_length = bom_sniff(data=data)
    if encoding:
        try:
            return DecodedText(text=data[bom_length:].decode(encoding), encoding=encoding, had_bom=True)
        except UnicodeDecodeError as exc:
            raise UndecodableText(
                f"starts with a {encoding} byte-order mark but is not valid {encoding}: {exc}"
            ) from exc
    if b"\x00" in data:
        # UTF-16 without a BOM is rare in practice; NUL bytes otherwise mean a binary file.
        raise UndecodableText("binary content (NUL bytes) without a UTF-16/32 byte-order mark")
    try:
        return DecodedText(text=data.decode("utf-8"), encoding="utf-8")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise UndecodableText("not valid UTF-8 and no legacy encoding fits")
    return DecodedText(text=str(best), encoding=best.encoding)
