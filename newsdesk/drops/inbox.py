"""The inbox on disk: which files are ready, claiming, and moving them on. Never deletes.

Layout of one inbox (``NEWSDESK_DROP_ROOT/<inbox>/``)::

    <inbox>/                    files are dropped here
    <inbox>/processing/         claimed files, named <token>~<original name>
    <inbox>/done/YYYY-MM-DD/    stored files, moved after the database commit
    <inbox>/failed/             refused or unparseable files, each with <name>.error.txt

Claiming: a worker opens the file (``O_NOFOLLOW``), takes an exclusive
``flock`` on it and only then renames it into ``processing/`` under a unique
name. The rename is atomic, so of two workers only one finds the file; the
lock is held until the file has left ``processing/``. The kernel drops the
lock when a process dies, even by SIGKILL, so the sweeper can tell a live
claim (locked) from a crashed worker's (unlocked) without guessing from ages,
and returns the latter to the inbox.

Completeness: a file is taken once its ctime is older than the settle
window (every write and rename updates ctime, and ctime comes from the
kernel's clock, so a future mtime cannot fool it). After reading, the file is
checked again; if it grew or changed meanwhile the writer is still busy and
the file goes back to the inbox.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

PROCESSING, DONE, FAILED = "processing", "done", "failed"
RESERVED = {PROCESSING, DONE, FAILED}
SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", "~")
_UNSAFE_NAME_RE = re.compile(r"[\x00-\x1f\x7f]")
_NOT_SHOWN_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_READ_CHUNK = 1 << 20


class InboxInvalid(Exception):
    """The inbox folder name or location is unsafe (escapes the drop root, symlinked...)."""


class FileChanging(Exception):
    """The file changed while we read it: a writer is still at work."""


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


# --- Renames that never overwrite ------------------------------------------------------

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


def _error_write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


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


def file_refuse(*, box: Inbox, name: str, reason: str) -> Path | None:
    """Move an unclaimed, refused entry (symlink, FIFO...) to failed/ without opening it."""
    try:
        target = move_unique(box.path / name, box.failed, name_fitted(name))
    except FileNotFoundError:
        return None  # another worker moved it first
    _error_write(box.failed / f"{target.name}.error.txt", error_text(name=name, reason=reason, inbox=box.path))
    return target


# --- Claims ------------------------------------------------------------------------------


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
    target = move_unique(claim.path, claim.box.failed, claim.name)
    claim.path = target
    _error_write(
        claim.box.failed / f"{target.name}.error.txt",
        error_text(name=claim.name, reason=reason, where=where, inbox=claim.box.path),
    )
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
    _error_write(temporary, f"{info.st_size} {info.st_mtime_ns} {count}\n")
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
                    target = move_unique(path, box.failed, original)
                    _error_write(
                        box.failed / f"{target.name}.error.txt",
                        error_text(name=original, reason=reason, inbox=box.path),
                    )
                    tries_forget(box=box, info=info)
                    swept.failed.append(Refusal(name=original, reason=reason))
                else:
                    swept.returned.append(move_unique(path, box.path, original))
            except FileNotFoundError:
                continue  # its owner finished just now
        finally:
            os.close(fd)
    return swept
