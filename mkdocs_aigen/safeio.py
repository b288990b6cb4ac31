"""Atomic file writes (a temp file in the target directory, then ``os.replace``) and their clean-up.

A write that the system refuses (read-only directory, full disk) raises :class:`StorageError`, one
line naming the path; temp files that a killed process left behind are removed by
:func:`remove_stale_temps` at the start of the next build or command.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from mkdocs_aigen.errors import AigenError

TEMP_SUFFIX = ".tmp"
STALE_AFTER_S = 60.0


class StorageError(AigenError):
    """A file or directory could not be written (permissions, full disk, a file in the way)."""

    @classmethod
    def of(cls, path: Path, error: OSError) -> StorageError:
        return cls(f"{path}: cannot write ({error.strerror or error}); make it writable or free some space")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a torn one."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise StorageError.of(path, error) from None
        raise


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Text variant of :func:`atomic_write_bytes`; newlines are written exactly as given."""
    atomic_write_bytes(path, text.encode(encoding))


def remove_stale_temps(*roots: Path | None, older_than: float = STALE_AFTER_S) -> int:
    """Remove the ``.*.tmp`` files and dirs under ``roots`` untouched for ``older_than`` seconds
    (left by a killed process; a live writer's are newer); returns how many went."""
    cutoff = time.time() - older_than
    removed = 0
    for root in filter(None, roots):
        for path in _temps(Path(root)):
            try:
                if _newest_mtime(path) < cutoff:
                    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
                    removed += 1
            except OSError:
                continue  # gone meanwhile, or not ours to remove: the next run tries again
    return removed


def _temps(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                found.append(Path(dirpath, name))
        dirnames[:] = [d for d in dirnames if not (d.startswith(".") and d.endswith(TEMP_SUFFIX))]
    return found


def _newest_mtime(path: Path) -> float:
    """A temp dir counts as touched when anything in it was (a big model save writes for long)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for dirpath, _, filenames in os.walk(path):
            for name in filenames:
                newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
    return newest
