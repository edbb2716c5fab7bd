"""Moving drop files on without ever overwriting one, and the note beside a failed file.

A name already taken in the destination gets ``~2``, ``~3``... before its
suffix; destination folders are entered without following a symlink.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import stat
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from .inbox import Inbox, name_fitted, name_shown

_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1


def rename_noreplace(src: Path, dst: Path) -> bool:
    """Rename without ever replacing an existing ``dst``; False when it exists."""
    if _renameat2 is not None:
        if _renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return True
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            return False
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(src), None, str(dst))
    # File systems without RENAME_NOREPLACE: check, then rename (a small window, documented).
    if os.path.lexists(dst):
        return False
    os.rename(src, dst)
    return True


def _variant(name: str, number: int) -> str:
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes[-1:])
    stem = name[: len(name) - len(suffix)] if suffix else name
    return f"{stem}~{number}{suffix}"


def _dir_ensure(directory: Path, name: str) -> None:
    """``directory`` as a plain directory, created if missing inside its parent
    opened without following a symlink: a symlink planted as done/, done/<day>
    or failed/ must neither carry files out of the inbox nor make us create a
    folder wherever it points."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        _dir_ensure(directory.parent, name)
        try:
            parent = os.open(directory.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            raise OSError(f"{directory.parent} is not a plain directory; refusing to move {name} there") from exc
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(directory.name, 0o755, dir_fd=parent)
        finally:
            os.close(parent)
        info = os.lstat(directory)
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(f"{directory} is not a plain directory; refusing to move {name} there")


def move_unique(src: Path, directory: Path, name: str) -> Path:
    """Move ``src`` into ``directory`` as ``name``, or ``name~2``, ``name~3``... never overwriting."""
    _dir_ensure(directory, name)
    for number in range(1, 10_000):
        target = directory / (name if number == 1 else _variant(name, number))
        if rename_noreplace(src, target):
            return target
    raise OSError(f"no free name for {name} in {directory}")


def file_create(path: Path, text: str) -> None:
    """Write a new file: never over an existing one, never through a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def error_text(*, name: str, reason: str, where: str = "", inbox: Path | None = None) -> str:
    """The note beside a failed file: one "key: value" line each, values escaped."""
    lines = [
        f"file: {name_shown(name)}",
        f"failed_at: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"reason: {name_shown(reason)}",
    ]
    if where:
        lines.append(f"where: {name_shown(where)}")
    if inbox is not None:
        lines.append(f"inbox: {name_shown(str(inbox))}")
    lines.append("The file is kept beside this note; fix it and drop it into the inbox again.")
    return "\n".join(lines) + "\n"


def failed_move(src: Path, *, box: Inbox, name: str, reason: str, where: str = "") -> Path:
    """Move ``src`` to failed/ as ``name`` (cut to fit, never overwriting), with the note saying why beside it."""
    target = move_unique(src, box.failed, name_fitted(name))
    file_create(
        box.failed / f"{target.name}.error.txt", error_text(name=name, reason=reason, where=where, inbox=box.path)
    )
    return target


def file_refuse(*, box: Inbox, name: str, reason: str) -> Path | None:
    """Move an unclaimed, refused entry (symlink, FIFO...) to failed/ without opening it."""
    try:
        return failed_move(box.path / name, box=box, name=name, reason=reason)
    except FileNotFoundError:
        return None  # another worker moved it first
