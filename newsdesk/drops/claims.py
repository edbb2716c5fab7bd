"""Claiming a ready drop file, handing it on, and sweeping up after workers that died.

Claiming: a worker opens the file (``O_NOFOLLOW``), takes an exclusive
``flock`` on it and only then renames it into ``processing/`` under a unique
name. The rename is atomic, so of two workers only one finds the file; the
lock is held until the file has left ``processing/``. The kernel drops the
lock when a process dies, even by SIGKILL, so the sweeper can tell a live
claim (locked) from a crashed worker's (unlocked) without guessing from ages,
and returns the latter to the inbox.

After reading, the file is checked again; if it grew or changed meanwhile the
writer is still busy and the file goes back to the inbox.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .inbox import Inbox, Refusal, stat_refusal
from .moves import failed_move, file_create, move_unique

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_READ_CHUNK = 1 << 20


class FileChanging(Exception):
    """The file changed while we read it: a writer is still at work."""


@dataclass
class FileClaim:
    """A file this process holds: open, locked, and renamed into processing/."""

    box: Inbox
    name: str  # original name in the inbox
    path: Path  # current path under processing/
    fd: int
    info: os.stat_result

    @property
    def mtime(self) -> datetime:
        return datetime.fromtimestamp(self.info.st_mtime, tz=UTC)

    def read(self, *, max_bytes: int) -> bytes:
        """Read the whole file; raise FileChanging if a writer is still at it."""
        if writer_open(self.fd):
            raise FileChanging(f"{self.name} is still open for writing (a writer paused longer than the settle window)")
        chunks = []
        total = 0
        os.lseek(self.fd, 0, os.SEEK_SET)
        while True:
            chunk = os.read(self.fd, _READ_CHUNK)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                break
        after = os.fstat(self.fd)
        if after.st_size != self.info.st_size or after.st_mtime_ns != self.info.st_mtime_ns or total != after.st_size:
            raise FileChanging(f"{self.name} changed while being read ({self.info.st_size} -> {after.st_size} bytes)")
        if writer_open(self.fd):
            raise FileChanging(f"{self.name} was opened for writing while being read")
        return b"".join(chunks)

    def changed_since_claim(self) -> str:
        """Why the file is no longer what was claimed and read ('' when it is the same):
        a writer resumed after the settle window, or the file was replaced."""
        after = os.fstat(self.fd)
        if (after.st_size, after.st_mtime_ns) != (self.info.st_size, self.info.st_mtime_ns):
            return (
                f"the file changed after it was read ({self.info.st_size} -> {after.st_size} bytes): its writer "
                "paused longer than the settle window and went on; what was stored may be incomplete. Write "
                "files elsewhere and rename them into the inbox, then drop the complete file again"
            )
        try:
            now = os.lstat(self.path)
        except FileNotFoundError:
            return "the claimed file was removed from processing/ while being stored"
        if (now.st_dev, now.st_ino) != (after.st_dev, after.st_ino):
            return "the claimed file was replaced in processing/ while being stored"
        return ""

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the flock
            self.fd = -1


def writer_open(fd: int) -> bool:
    """True when another process holds the file open for writing.

    Probed with a read lease, which the kernel refuses (EAGAIN) while any
    writer has the file open. Where leases are not available (a file system
    without them, a file owned by another user without CAP_LEASE) this says
    False, and the size and mtime checks around the read are what remain.
    """
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno in (errno.EAGAIN, errno.EBUSY)
    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
    return False


def claim_token() -> str:
    return f"{time.time_ns():x}.{os.getpid()}.{secrets.token_hex(3)}"


def file_claim(*, box: Inbox, name: str, max_bytes: int) -> FileClaim | Refusal | None:
    """Take ``name`` from the inbox. None when another worker has it (or it vanished)."""
    src = box.path / name
    try:
        before = os.lstat(src)
    except FileNotFoundError:
        return None
    reason = stat_refusal(info=before, max_bytes=max_bytes)
    if reason:
        return Refusal(name=name, reason=reason)
    try:
        fd = os.open(src, _OPEN_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Refusal(name=name, reason="symbolic links are refused: the target could be anywhere")
        raise
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino):
            os.close(fd)
            return None  # replaced between lstat and open; look again next scan
        reason = stat_refusal(info=info, max_bytes=max_bytes)
        if reason:
            os.close(fd)
            return Refusal(name=name, reason=reason)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None  # another worker is claiming it right now
        target = box.processing / f"{claim_token()}~{name}"
        try:
            os.rename(src, target)  # target name is unique: nothing to overwrite
        except FileNotFoundError:
            os.close(fd)
            return None
        moved = os.lstat(target)
        if (moved.st_dev, moved.st_ino) != (info.st_dev, info.st_ino):
            # Someone replaced the file at the last instant; what we moved is not
            # what we locked. Leave it unlocked in processing/: the sweeper returns it.
            os.close(fd)
            return None
        return FileClaim(box=box, name=name, path=target, fd=fd, info=info)
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(fd)
        raise


def claim_done(*, claim: FileClaim, day: datetime | None = None) -> Path:
    """After the database commit: processing/ -> done/YYYY-MM-DD/<name>."""
    day = day or datetime.now(UTC)
    target = move_unique(claim.path, claim.box.done / day.strftime("%Y-%m-%d"), claim.name)
    claim.path = target
    tries_forget(box=claim.box, info=claim.info)
    claim.close()
    return target


def claim_failed(*, claim: FileClaim, reason: str, where: str = "") -> Path:
    target = failed_move(claim.path, box=claim.box, name=claim.name, reason=reason, where=where)
    claim.path = target
    tries_forget(box=claim.box, info=claim.info)
    claim.close()
    return target


def claim_release(*, claim: FileClaim) -> Path:
    """Give the file back to the inbox (it was still changing, or the database was down)."""
    target = move_unique(claim.path, claim.box.path, claim.name)
    claim.path = target
    claim.close()
    return target


# --- Files that killed their worker ------------------------------------------------------
#
# A claim whose owner died (SIGKILL at the hard time limit, out of memory) is a
# try. Tries are counted per file (device, inode, size, mtime: a rename keeps
# them) in processing/.tries/, so a file that kills every worker that takes it
# is moved to failed/ after ``max_tries`` instead of being returned for ever.

TRIES = ".tries"


def _tries_path(box: Inbox, info: os.stat_result) -> Path:
    return box.processing / TRIES / f"{info.st_dev}-{info.st_ino}"


def file_tries(*, box: Inbox, info: os.stat_result) -> int:
    """How many workers died holding this file (0 for a file never in a dead worker's hands)."""
    try:
        size, mtime_ns, count = _tries_path(box, info).read_text(encoding="ascii").split()
    except (OSError, ValueError):
        return 0
    if (int(size), int(mtime_ns)) != (info.st_size, info.st_mtime_ns):
        return 0  # the inode was reused by another file
    return int(count)


def _tries_record(box: Inbox, info: os.stat_result) -> int:
    count = file_tries(box=box, info=info) + 1
    folder = box.processing / TRIES
    with contextlib.suppress(FileExistsError):
        folder.mkdir()
    if not stat.S_ISDIR(os.lstat(folder).st_mode):
        raise OSError(f"{folder} is not a plain directory")
    temporary = folder / f".{claim_token()}"
    file_create(temporary, f"{info.st_size} {info.st_mtime_ns} {count}\n")
    os.replace(temporary, _tries_path(box, info))
    return count


def tries_forget(*, box: Inbox, info: os.stat_result) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_tries_path(box, info))


def names_tried(*, box: Inbox, names: list[str]) -> set[str]:
    """Those of ``names`` (in the inbox) that were in a dead worker's hands before."""
    if not (box.processing / TRIES).is_dir():
        return set()
    tried = set()
    for name in names:
        try:
            info = os.lstat(box.path / name)
        except FileNotFoundError:
            continue
        if file_tries(box=box, info=info):
            tried.add(name)
    return tried


@dataclass
class Swept:
    returned: list[Path] = field(default_factory=list)
    failed: list[Refusal] = field(default_factory=list)  # moved to failed/: name and reason


def inbox_sweep(*, box: Inbox, max_tries: int = 0) -> Swept:
    """Return claims whose owner has died (their lock is free) to the inbox, or,
    once ``max_tries`` workers died holding the same file, move it to failed/."""
    swept = Swept()
    try:
        names = os.listdir(box.processing)
    except FileNotFoundError:
        return swept
    for entry in names:
        if entry.startswith("."):
            continue  # .tries/ and its temporary files
        path = box.processing / entry
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError:
            continue  # gone (finished meanwhile) or not a plain file; nothing we placed
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                continue  # nothing we placed: claims are regular files
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live worker holds it
            original = entry.split("~", 1)[1] if "~" in entry else entry
            tries = _tries_record(box, info)
            try:
                if max_tries and tries >= max_tries:
                    reason = (
                        f"its worker died {tries} times while processing it (killed at the time limit, "
                        "out of memory or crashed); set aside so it cannot hold back other files"
                    )
                    failed_move(path, box=box, name=original, reason=reason)
                    tries_forget(box=box, info=info)
                    swept.failed.append(Refusal(name=original, reason=reason))
                else:
                    swept.returned.append(move_unique(path, box.path, original))
            except FileNotFoundError:
                continue  # its owner finished just now
        finally:
            os.close(fd)
    return swept
