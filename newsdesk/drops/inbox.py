"""The inbox on disk: its layout, which files are ready, and the names we accept. Never deletes.

Layout of one inbox (``NEWSDESK_DROP_ROOT/<inbox>/``)::

    <inbox>/                    files are dropped here
    <inbox>/processing/         claimed files, named <token>~<original name>
    <inbox>/done/YYYY-MM-DD/    stored files, moved after the database commit
    <inbox>/failed/             refused or unparseable files, each with <name>.error.txt

Completeness: a file is ready once its ctime is older than the settle
window (every write and rename updates ctime, and ctime comes from the
kernel's clock, so a future mtime cannot fool it). Taking a ready file is
:mod:`.claims`; moving it on, never overwriting, is :mod:`.moves`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

PROCESSING, DONE, FAILED = "processing", "done", "failed"
RESERVED = {PROCESSING, DONE, FAILED}
SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", "~")
_UNSAFE_NAME_RE = re.compile(r"[\x00-\x1f\x7f]")
_NOT_SHOWN_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class InboxInvalid(Exception):
    """The inbox folder name or location is unsafe (escapes the drop root, symlinked...)."""


@dataclass(frozen=True)
class Inbox:
    path: Path

    @property
    def processing(self) -> Path:
        return self.path / PROCESSING

    @property
    def done(self) -> Path:
        return self.path / DONE

    @property
    def failed(self) -> Path:
        return self.path / FAILED


@dataclass
class Refusal:
    name: str
    reason: str


@dataclass
class Listing:
    ready: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not settled yet


def _subdir_open(parent_fd: int, name: str, *, create: bool) -> int:
    """Open ``name`` under the directory ``parent_fd`` as a directory, never
    through a symlink; create it first when asked. Returns its fd."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o755, dir_fd=parent_fd)
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise InboxInvalid(f"{name!r} is not a plain directory (symlink or file)") from exc
        raise


def _reserved_files_aside(inbox_fd: int) -> None:
    """A plain file dropped as ``processing``, ``done`` or ``failed`` would take
    the place of the inbox's own folder and block every scan: it is renamed
    ``<name>.dropped`` (``.dropped~2``...) in the inbox and processed like any file."""
    for name in (PROCESSING, DONE, FAILED):
        try:
            info = os.lstat(name, dir_fd=inbox_fd)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue  # a folder (ours) or something _subdir_open refuses
        for number in range(1, 1000):
            target = f"{name}.dropped" if number == 1 else f"{name}.dropped~{number}"
            try:
                os.lstat(target, dir_fd=inbox_fd)
            except FileNotFoundError:
                os.rename(name, target, src_dir_fd=inbox_fd, dst_dir_fd=inbox_fd)
                break


def inbox_open(*, drop_root: Path, inbox: str, create: bool = True) -> Inbox:
    """Resolve an inbox folder name under the drop root, refusing names that escape it.

    Each folder below the root is opened (and created when missing) relative
    to its parent's descriptor with O_NOFOLLOW, so nothing is ever created
    through a symlink, outside the drop root.
    """
    relative = PurePosixPath(inbox)
    if not inbox or relative.is_absolute() or any(part in ("", ".", "..") for part in inbox.split("/")):
        raise InboxInvalid(f"inbox {inbox!r} must be a relative folder name without '..'")
    if _UNSAFE_NAME_RE.search(inbox):
        raise InboxInvalid(f"inbox {inbox!r} contains control characters")
    root = Path(drop_root)
    path = root.joinpath(*relative.parts)
    if create:
        root.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise InboxInvalid(f"the drop root {root} does not exist") from exc
    try:
        # Every component below the root must be a real directory: a symlink
        # could point anywhere, and we move files in and out of here.
        for part in (*relative.parts, None):
            subs = (PROCESSING, DONE, FAILED) if part is None else (part,)
            if part is None and not create:
                break
            if part is None:
                _reserved_files_aside(fd)
            for sub in subs:
                try:
                    child = _subdir_open(fd, sub, create=create)
                except FileNotFoundError as exc:
                    raise InboxInvalid(f"inbox {inbox!r} does not exist under {root}") from exc
                except InboxInvalid as exc:
                    raise InboxInvalid(f"inbox {inbox!r}: {exc}") from exc
                if part is None:
                    os.close(child)
                else:
                    os.close(fd)
                    fd = child
    finally:
        os.close(fd)
    if os.path.realpath(path) != os.path.join(os.path.realpath(root), *relative.parts):
        raise InboxInvalid(f"inbox {inbox!r} resolves outside the drop root")
    return Inbox(path=path)


def name_skipped(name: str) -> bool:
    """Dotfiles and names of files still being written by convention (.tmp, .part...)."""
    return name.startswith(".") or name.lower().endswith(SKIP_SUFFIXES) or name in RESERVED


def stat_refusal(*, info: os.stat_result, max_bytes: int) -> str:
    """Why a file with this lstat may not be ingested, or '' when it may."""
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "symbolic links are refused: the target could be anywhere"
    if stat.S_ISFIFO(mode):
        return "FIFOs (named pipes) are refused"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device files are refused"
    if stat.S_ISSOCK(mode):
        return "sockets are refused"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    if info.st_nlink > 1:
        return f"hard links are refused: this file has {info.st_nlink} names, so its content is shared with a path outside the inbox"
    if info.st_size > max_bytes:
        return f"file is {info.st_size} bytes; the cap is {max_bytes} (NEWSDESK_DROP_MAX_BYTES)"
    return ""


# Claims are renamed "<token>~<name>" and notes "<name>.error.txt": a name must
# leave room for both under the file systems' 255-byte limit.
MAX_NAME_BYTES = 200


def name_fitted(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` cut to ``limit`` bytes, keeping a short suffix (for failed/)."""
    raw = os.fsencode(name)
    if len(raw) <= limit:
        return name
    suffix = os.fsencode(PurePosixPath(name).suffix)
    suffix = suffix if len(suffix) <= 20 else b""
    return os.fsdecode(raw[: limit - len(suffix)] + suffix)


def name_refusal(name: str) -> str:
    if len(os.fsencode(name)) > MAX_NAME_BYTES:
        return f"file name is longer than {MAX_NAME_BYTES} bytes"
    if _UNSAFE_NAME_RE.search(name):
        return "file name contains control characters"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8"
    if "/" in name or name in ("..", "."):
        return "file name escapes the inbox"
    return ""


def inbox_list(*, box: Inbox, settle_seconds: float, max_bytes: int, now: float | None = None) -> Listing:
    """Sort the inbox's entries into ready, refused and still-settling."""
    now = time.time() if now is None else now
    listing = Listing()
    try:
        names = sorted(os.listdir(box.path))
    except FileNotFoundError:
        return listing
    for name in names:
        if name_skipped(name):
            continue
        try:
            info = os.lstat(box.path / name)
        except FileNotFoundError:
            continue  # taken by another worker meanwhile
        if stat.S_ISDIR(info.st_mode):
            continue  # folders are not walked; use `manage.py ingest` for trees
        reason = name_refusal(name) or stat_refusal(info=info, max_bytes=max_bytes)
        if reason:
            listing.refused.append(Refusal(name=name, reason=reason))
        elif now - info.st_ctime < settle_seconds:
            listing.waiting.append(name)
        else:
            listing.ready.append(name)
    return listing


def _shown_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def name_shown(text: str) -> str:
    """A file name (or any text naming one) safe to write in a note, a log line
    or the database: bytes that are not UTF-8 and control characters (a newline
    could forge a line of the note) become \\xNN escapes."""
    return _NOT_SHOWN_RE.sub(_shown_char, text)
