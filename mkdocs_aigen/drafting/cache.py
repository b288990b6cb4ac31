"""Content-addressed caches (drafts, code verdicts): one JSON file per entry, written atomically."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, Union

from mkdocs_aigen.log import log
from mkdocs_aigen.safeio import atomic_write_text

Shape = Mapping[str, Union[type, Callable[[Any], bool]]]
"""Fields an entry must hold: each with its type, or a test its value must pass."""


def cache_key(fields: dict[str, Any]) -> str:
    """Digest of every input that determines a draft (canonical JSON)."""
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def fits(value: Any, shape: Shape) -> bool:
    """Whether ``value`` is a JSON object holding every field of ``shape`` (a name ending in ``?``
    names a field it may lack)."""
    if not isinstance(value, dict):
        return False
    for name, check in shape.items():
        field = name.rstrip("?")
        if field not in value:
            if name.endswith("?"):
                continue
            return False
        if not (isinstance(value[field], check) if isinstance(check, type) else check(value[field])):
            return False
    return True


def code_checks(value: Any) -> bool:
    """A draft's ``code``: a list of checks, each with its ``status`` and ``language``."""
    return isinstance(value, list) and all(fits(check, {"status": str, "language": str}) for check in value)


DRAFT_SHAPE: Shape = MappingProxyType({"text": str, "code": code_checks, "tokens": int, "facts?": dict,
                                       "omitted?": list})
"""A cached draft; ``facts`` and ``omitted`` samples came later, so entries without them still load."""


class DraftCache:
    """Records keyed by :func:`cache_key` under ``root/<k[:2]>/<k>.json``.

    ``shape`` names the fields every record must hold (a draft: its ``text``, ``code`` checks and
    ``tokens``); a record without them is corrupt, warned about and treated as missing.
    """

    def __init__(self, root: Path, shape: Shape = DRAFT_SHAPE) -> None:
        self.root = Path(root)
        self.shape = dict(shape)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry, or ``None`` when missing or corrupt (corrupt entries are warned about)."""
        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            log.warning("%s: a directory where a cache entry belongs; removed, the entry is regenerated", path)
            shutil.rmtree(path, ignore_errors=True)
            return None
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
            log.warning("%s: corrupt cache entry ignored and regenerated (%s)", path, error)
            return None
        if not fits(entry, self.shape) or entry.get("key") != key:
            log.warning("%s: corrupt cache entry ignored and regenerated (bad shape)", path)
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        atomic_write_text(self.path(key), json.dumps({**entry, "key": key}, ensure_ascii=False, indent=1))
