"""example_site: its shape, and the Pages workflow's build of it (cache-only, strict, no model)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mkdocs_aigen.drafting.frontmatter import split_front_matter

pytestmark = pytest.mark.build

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "example_site"


def pages():
    for path in sorted((SITE / "docs").rglob("*.md")):
        meta, _ = split_front_matter(path.read_text(encoding="utf-8"))
        yield path.relative_to(SITE / "docs").as_posix(), meta


def test_example_site_has_authored_pages_posts_and_a_stub_of_each_kind():
    stubs = {src: meta["aigen"] for src, meta in pages() if "aigen" in meta}
    authored = [src for src, meta in pages() if "aigen" not in meta and not src.startswith("blog/")]
    posts = [src for src, meta in pages() if src.startswith("blog/posts/") and "aigen" not in meta]
    assert len(authored) >= 8 and len(posts) >= 2 and len(stubs) >= 5
    assert {s["kind"] for s in stubs.values()} >= {"tutorial", "how-to", "reference", "explanation", "blog-post"}
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in s["topic"]) for s in stubs.values())


def test_pages_workflow_builds_example_site_without_a_model(tmp_path):
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text(encoding="utf-8"))
    step = next(s for s in workflow["jobs"]["build"]["steps"] if s.get("name") == "Build (strict, cache-only)")
    shutil.copytree(SITE, tmp_path / "example_site", ignore=shutil.ignore_patterns(".aigen", "site"))
    command = step["run"].replace("mkdocs build", f"{sys.executable} -m mkdocs build", 1)
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_WORKSPACE": str(tmp_path),
                                 **step["env"]})
    assert result.returncode == 0, result.stderr
    assert "drafted 0 sections, 23 from cache, 3 stated from the API" in result.stderr
    html = (tmp_path / "_site" / "guides" / "caching" / "index.html").read_text(encoding="utf-8")
    assert html.count('class="aigen-draft"') == 4
