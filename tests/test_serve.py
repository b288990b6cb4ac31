"""Tier 3: the serve loop — model loaded once, only changed stubs re-drafted, docs_dir untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import write_site

pytestmark = pytest.mark.build

# Rebuilds the way `mkdocs serve` does: the same plugin instances, a fresh config per rebuild.
SERVE_LOOP = textwrap.dedent("""
    import logging, sys
    from pathlib import Path
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config_file = sys.argv[1]
    first = load_config(config_file)
    first.plugins.on_startup(command="serve", dirty=False)
    build(first, serve_url="http://127.0.0.1:8000/")
    guide = Path(first.docs_dir) / "guide.md"
    guide.write_text(guide.read_text().replace("Mention cache_dir.", "Mention clear_cache()."))
    second = load_config(config_file)
    assert second.plugins["aigen"] is first.plugins["aigen"]
    build(second, serve_url="http://127.0.0.1:8000/")
""")


def test_serve_rebuild_keeps_model_and_redrafts_only_changed_stub(tmp_path, tiny_model_dir):
    config = write_site(tmp_path, tiny_model_dir, aigen="      publish_unreviewed: false\n")
    docs_files = sorted(p for p in (tmp_path / "docs").rglob("*"))
    result = subprocess.run([sys.executable, "-c", SERVE_LOOP, str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("loading model") == 1
    summaries = [line for line in result.stderr.splitlines() if "stub pages" in line]
    assert "drafted 9 sections, 0 from cache" in summaries[0]
    assert "drafted 3 sections, 6 from cache" in summaries[1]  # only guide.md's notes changed
    # serve shows unreviewed pages even with publish_unreviewed: false
    assert (tmp_path / "site" / "guide" / "index.html").is_file()
    assert sorted(p for p in (tmp_path / "docs").rglob("*")) == docs_files  # nothing written into docs_dir
