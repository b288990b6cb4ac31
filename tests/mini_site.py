"""A small plain-MkDocs site for the damaged-state and crash tests: cheap to build, a few stubs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
BUILD = (sys.executable, "-m", "mkdocs", "build", "-q")
AIGEN = (sys.executable, "-m", "mkdocs_aigen.cli")


def mini_site(root: Path, model_dir: Path, *, stubs: int = 2, aigen: str = "") -> Path:
    """``root/mkdocs.yml`` and ``root/docs`` with authored pages and ``stubs`` stub pages; returns mkdocs.yml."""
    docs = root / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for i in range(4):
        (docs / f"authored-{i}.md").write_text(
            f"# Widgets part {i}\n\nWidgets caches renders in part {i}.\n\n## Setup {i}\n\n"
            f"Set `cache_dir` to a folder outside the docs, then rebuild the site number {i}.\n")
    for i in range(stubs):
        (docs / f"stub-{i}.md").write_text(
            f"---\naigen:\n  topic: How widgets handles case {i}\n  kind: explanation\n  code: none\n---\n")
    config = root / "mkdocs.yml"
    config.write_text(f"site_name: mini\nplugins:\n  - aigen:\n      model: {model_dir}\n      max_new_tokens: 8\n"
                      f"      code_retries: 0\n{aigen}")
    return config


def run(args: tuple[str, ...] | list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=ENV)


def start(args: tuple[str, ...] | list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(list(args), cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=ENV)


def backdate(folder: Path, seconds: float = 120) -> None:
    """Make every file and dir under ``folder`` look ``seconds`` older (time passing after a crash)."""
    for path in [folder, *folder.rglob("*")]:
        stat = path.lstat()
        os.utime(path, (stat.st_atime - seconds, stat.st_mtime - seconds), follow_symlinks=False)
