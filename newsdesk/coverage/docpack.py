"""Stored vectors in a compact binary value (``CoverageDoc.packed``, ``CoverageStory.centroid_packed``).

The candidate read (:mod:`newsdesk.coverage.dbstore`) fetches up to fifty
stored documents per assignment. As jsonb, PostgreSQL prints each one as text
(about 1.7 kB) and the worker parses it back: the largest part of the read's
transfer and about a sixth of a worker's time in the cold phase; with them come
the centroids of their stories (up to 200 terms each, about 4 kB). Packed, the
same values are float64s and the keys one UTF-8 string, read with a slice,
``array.frombytes`` and ``str.split``.

The JSON columns stay the record every other reader uses; a document is packed
beside them by each writer, and a row without a packed value (written before
the column existed, or holding a value this format cannot keep exactly) is
read from its JSON. Unpacked, a document is the same dict as its jsonb read
back: the same floats (float64, exact) in the same key order (jsonb's: shorter
keys first, then by bytes), so the scores are summed in the same order and
every decision is the same.

Layout: version byte, two little-endian uint32 counts (terms, names), the
float64 values (terms then names), then the keys in the same order, UTF-8,
separated by U+001F.
"""

from __future__ import annotations

import struct
from array import array
from sys import byteorder

_VERSION = 1
_HEAD = struct.Struct("<BII")
_SEP = "\x1f"


def _jsonb_order(d: dict[str, float]) -> list[str]:
    # jsonb keeps an object's keys sorted by length in bytes, then bytewise.
    return sorted(d, key=lambda k: (len(k.encode()), k.encode()))


def doc_pack(terms: dict[str, float], names: dict[str, float]) -> bytes | None:
    """The packed value, or None when a key or value would not come back exactly (then JSON is read)."""
    keys_t, keys_n = _jsonb_order(terms), _jsonb_order(names)
    keys = [*keys_t, *keys_n]
    values = [*(terms[k] for k in keys_t), *(names[k] for k in keys_n)]
    if any(type(v) is not float for v in values) or any(_SEP in k for k in keys):
        return None
    floats = array("d", values)
    if byteorder != "little":
        floats.byteswap()
    return _HEAD.pack(_VERSION, len(keys_t), len(keys_n)) + floats.tobytes() + _SEP.join(keys).encode()


def doc_unpack(value: bytes) -> tuple[dict[str, float], dict[str, float]]:
    """(terms, names) from :func:`doc_pack`'s value."""
    version, n_terms, n_names = _HEAD.unpack_from(value)
    if version != _VERSION:
        raise ValueError(f"packed document version {version} unknown")
    n = n_terms + n_names
    start = _HEAD.size
    end = start + 8 * n
    floats = array("d")
    floats.frombytes(value[start:end])
    if byteorder != "little":
        floats.byteswap()
    keys = bytes(value[end:]).decode().split(_SEP) if n else []
    if len(keys) != n:
        raise ValueError("packed document damaged: key count differs")
    return dict(zip(keys[:n_terms], floats[:n_terms], strict=True)), dict(
        zip(keys[n_terms:], floats[n_terms:], strict=True)
    )


def centroid_pack(centroid: dict[str, float]) -> bytes | None:
    """A story's centroid packed (as a document's terms with no names), or None as :func:`doc_pack`."""
    return doc_pack(centroid, {})


def centroid_unpack(value: bytes) -> dict[str, float]:
    return doc_unpack(value)[0]
