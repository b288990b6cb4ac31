"""The parse cache: in memory (always) and on disk as JSON (with ``cache_dir``)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

_CACHE_PREFIX = "tidyconf-"
_memory: dict[tuple[str, int, int, str], Any] = {}
_lock = threading.Lock()


def cached_parse(path: Path, format: str, parse: Any, cache_dir: str | os.PathLike | None) -> Any:
    """Return the parsed data of `path`, parsing it only when it changed.

    The key is the absolute path, modification time and size (and the format). With
    `cache_dir`, data that JSON can hold exactly is also kept on disk, so another process
    can skip parsing.

    Args:
        path: The file; it must exist.
        format: The format it is parsed as.
        parse: Called with the file's text when nothing is cached; returns the data.
        cache_dir: Directory for the on-disk cache, or `None` for memory only.

    Returns:
        The parsed data (shared: callers must not modify it).

    Examples:
        >>> import tempfile, pathlib
        >>> from tidyconf.cache import cached_parse
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "c.toml"
        >>> _ = file.write_text("a = 1")
        >>> cached_parse(file, "toml", lambda text: {"parsed": text}, None)
        {'parsed': 'a = 1'}
    """
    absolute = path.resolve()
    stat = absolute.stat()
    key = (str(absolute), stat.st_mtime_ns, stat.st_size, format)
    with _lock:
        if key in _memory:
            return _memory[key]
    disk = _disk_file(cache_dir, key) if cache_dir is not None else None
    data = _read_disk(disk, key) if disk is not None else None
    if data is None:
        data = parse(absolute.read_text(encoding="utf-8"))
        if disk is not None and _json_exact(data):
            _write_disk(disk, key, data)
    with _lock:
        _memory[key] = data
    return data


def clear_cache(cache_dir: str | os.PathLike | None = None) -> None:
    """Empty the in-memory parse cache, and optionally the on-disk one.

    Args:
        cache_dir: When given, also delete the cache files tidyconf wrote in this
            directory; other files are left alone.

    Examples:
        >>> import tidyconf
        >>> tidyconf.clear_cache()
    """
    with _lock:
        _memory.clear()
    if cache_dir is None or not os.path.isdir(cache_dir):
        return
    for entry in Path(cache_dir).glob(f"{_CACHE_PREFIX}*.json"):
        entry.unlink(missing_ok=True)


def _disk_file(cache_dir: str | os.PathLike, key: tuple) -> Path:
    digest = hashlib.sha256(key[0].encode("utf-8")).hexdigest()[:24]
    return Path(cache_dir) / f"{_CACHE_PREFIX}{digest}.json"


def _read_disk(file: Path, key: tuple) -> Any:
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != list(key):
        return None
    return stored.get("data")


def _write_disk(file: Path, key: tuple, data: Any) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    temporary = file.with_name(f"{file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps({"key": list(key), "data": data}), encoding="utf-8")
    os.replace(temporary, file)


def _json_exact(value: Any) -> bool:
    """Whether JSON gives back exactly `value` (no dates, no non-string keys)."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and _json_exact(item) for key, item in value.items())
    if isinstance(value, list):
        return all(_json_exact(item) for item in value)
    return value is None or isinstance(value, (str, int, float, bool))
