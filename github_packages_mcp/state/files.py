"""Files under journal_dir, private: directories 0700 and files 0600 (made so whatever was there), written
atomically or appended in one write, no symlink followed, and failing with errors that name no path (the log does)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from github_packages_mcp.errors import StateUnavailable

__all__ = [
    "DAY",
    "StoreUnavailable",
    "append_line",
    "disk",
    "files",
    "mtime",
    "private_directory",
    "private_root",
    "read_bytes",
    "remove",
    "write_new",
]

log = logging.getLogger("github_packages_mcp")

DAY: Final = 86_400.0
NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


class StoreUnavailable(StateUnavailable):
    """The plans and journal cannot be read or written; the message names no path (the server log does)."""


@contextmanager
def disk(doing: str, path: Path) -> Iterator[None]:
    """OS errors become an error that names no path (the log does)."""
    try:
        yield
    except OSError as exc:
        log.warning("could not %s %s: %s", doing, path, exc)
        raise StoreUnavailable(
            f"The server could not {doing} ({exc.strerror or type(exc).__name__}); nothing else was done. "
            "The server's log says where; its operator can fix the journal_dir permissions or space."
        ) from None


def private_directory(path: Path) -> None:
    """The directory, made 0700 (and made so if it was looser)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o700)


def private_root(path: Path) -> None:
    """Make the state directory itself (journal_dir) ours alone if others may write to it: whoever may rename its
    entries could swap the server's key for one they know. Only a directory this user owns is changed (never a
    shared one like /tmp, which is only warned about); one merely readable by others is left as it is."""
    try:
        found = path.stat()
    except OSError:
        return  # made 0700 when first needed
    if not stat.S_IMODE(found.st_mode) & 0o022:
        return
    if found.st_uid != getattr(os, "getuid", lambda: found.st_uid)():
        log.warning("%s may be written by other users, and is not this user's: keep journal_dir elsewhere", path)
        return
    path.chmod(0o700)
    log.warning("%s could be written by other users; it is now private (0700)", path)


def write_new(path: Path, content: bytes, moment: float) -> None:
    """A new file (0600) holding `content`, dated `moment`; nothing is left behind if it fails."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        os.utime(path, (moment, moment))
    except OSError:
        path.unlink(missing_ok=True)
        raise


def append_line(path: Path, line: bytes, moment: float) -> None:
    """Append one line (one write, so lines of processes appending at once do not mix), dating the file `moment`."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW, 0o600)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)  # a file written before files were kept private
        os.write(fd, line)
    finally:
        os.close(fd)
    os.utime(path, (moment, moment))


def read_bytes(path: Path, offset: int = 0) -> bytes:
    """The file's bytes from `offset` (no symlink followed)."""
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    with os.fdopen(fd, "rb") as file:
        file.seek(offset)
        return file.read()


def files(directory: Path, pattern: str) -> list[Path]:
    try:
        return sorted(directory.glob(pattern))
    except OSError:
        return []


def mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return float("inf")  # gone meanwhile: nothing to prune


def remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not prune %s: %s", path, exc)
