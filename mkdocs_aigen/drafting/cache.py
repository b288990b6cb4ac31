"""Content-addressed caches (drafts, code verdicts): one JSON file per entry, written atomically."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from mkdocs_aigen.log import log
from mkdocs_aigen.safeio import atomic_write_text


def cache_key(fields: dict[str, Any]) -> str:
    """Digest of every input that determines a draft (canonical JSON)."""
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class DraftCache:
    """Records keyed by :func:`cache_key` under ``root/<k[:2]>/<k>.json``.

    ``shape`` names the fields every record must hold and their types (a draft: its ``text``);
    a record without them is corrupt, warned about and treated as missing.
    """

    def __init__(self, root: Path, shape: Mapping[str, type] = MappingProxyType({"text": str})) -> None:
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
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            log.warning("%s: corrupt cache entry ignored and regenerated (%s)", path, error)
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or not all(
                isinstance(entry.get(name), kind) for name, kind in self.shape.items()):
            log.warning("%s: corrupt cache entry ignored and regenerated (bad shape)", path)
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        atomic_write_text(self.path(key), json.dumps({**entry, "key": key}, ensure_ascii=False, indent=1))
