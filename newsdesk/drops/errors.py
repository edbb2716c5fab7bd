"""The one error type a dropped file can fail with, carrying where it failed."""

from __future__ import annotations


class DropRejected(Exception):
    """A file we will not ingest, with the reason and where in the file it is.

    ``line`` is 1-based in the decoded text; ``field`` names the header part
    or JSON field; ``member`` names the archive entry for files inside a .zip.
    The message is written to ``failed/<name>.error.txt`` verbatim.
    """

    def __init__(self, reason: str, *, line: int | None = None, field: str = "", member: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.field = field
        self.member = member

    def where(self) -> str:
        parts = []
        if self.member:
            parts.append(f"archive member {self.member!r}")
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{self.reason} ({where})" if where else self.reason
