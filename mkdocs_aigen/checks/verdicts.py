"""Code verdicts for one build or command: sandboxed verdicts cached by everything that decides them.

``run`` and ``import`` verdicts take a sandboxed subprocess, so they are kept in a cache keyed by the
sample, its language, the mode, the documented package and that package's version and source
digest (an ``import`` verdict changes when the package gains the name). Import resolutions are
shared within one :class:`CodeChecker` only: make a new one per build, so ``mkdocs serve`` rebuilds
see a changed package.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Protocol

from mkdocs_aigen.checks.code import CodeCheck, check_code
from mkdocs_aigen.checks.sandbox import os_boundary
from mkdocs_aigen.log import log

SANDBOXED_MODES = ("run", "import")
VERDICT_SHAPE = {"status": str, "language": str}


class VerdictStore(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, entry: dict[str, Any]) -> None: ...


class CodeChecker:
    """Checks samples in one ``mode`` against one documented ``package``, for one build."""

    def __init__(self, mode: str, package: str | None, store: VerdictStore | None = None,
                 key_of: Callable[[dict[str, Any]], str] | None = None) -> None:
        """``store`` keeps sandboxed verdicts under ``key_of(fields)``; without them nothing persists.

        ``run`` without the OS sandbox boundary is refused with one warning: samples get ``syntax``.
        """
        if mode == "run" and not os_boundary().available:
            log.warning(f"verify_code: run refused, no sandbox boundary here ({os_boundary().problem}); "
                        "code samples get the syntax check")
            mode = "syntax"
        self.mode, self.package, self.store, self.key_of = mode, package, store, key_of
        self._resolved: dict = {}

    def check(self, language: str, code: str) -> CodeCheck:
        """The sample's verdict; sandboxed verdicts come from the store when it has them."""
        persist = self.store is not None and self.key_of is not None and self.mode in SANDBOXED_MODES
        key = self.key_of({"verdict": 1, "language": language, "code": code, "mode": self.mode,
                         "package": self.package, "package_version": self.package_version}) if persist else None
        entry = self.store.get(key) if persist else None
        if entry is not None:
            return CodeCheck(entry["status"], entry.get("error"), entry["language"])
        verdict = check_code(language, code, self.mode, self.package, self._resolved)
        if persist:
            self.store.put(key, {"status": verdict.status, "error": verdict.error, "language": verdict.language})
        return verdict

    @cached_property
    def package_version(self) -> str | None:
        """The documented package's distribution version and a digest of its files' sizes and times."""
        return package_version(self.package) if self.package and self.mode == "import" else None


def package_version(package: str) -> str:
    """``"<dist version>+<digest>"`` of an importable top-level package, found without importing it."""
    top = package.split(".")[0]
    versions = sorted(f"{dist}=={importlib.metadata.version(dist)}"
                      for dist in importlib.metadata.packages_distributions().get(top, ()))
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    files = hashlib.sha256()
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for path in sorted(Path(folder).rglob("*.py")):
            stat = path.stat()
            files.update(f"{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    if spec and spec.origin and not spec.submodule_search_locations and Path(spec.origin).is_file():
        stat = Path(spec.origin).stat()
        files.update(f"{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return f"{','.join(versions) or 'not-installed'}+{files.hexdigest()[:16] if spec else 'missing'}"
