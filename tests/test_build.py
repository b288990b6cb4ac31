"""Tier 3: real mkdocs-material builds of sites in temp dirs, with a real (tiny) transformers model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_site

pytestmark = pytest.mark.build

REPO = Path(__file__).resolve().parents[1]
STUB_SECTIONS = {"guide": 3, "blog": 3, "zh": 3}  # how-to minus authored Steps; blog-post; explanation


def mkdocs_build(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-f", str(config), *args],
                          capture_output=True, text=True,
                          env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model_dir):
    """One cold build with generation, shared by the assertions below."""
    root = tmp_path_factory.mktemp("site")
    config = write_site(root, tiny_model_dir)
    before = snapshot(root / "docs")
    result = mkdocs_build(config)
    assert result.returncode == 0, result.stderr
    return root, config, result, before


def test_drafted_sections_are_marked(built):
    root, _, result, _ = built
    html = (root / "site" / "guide" / "index.html").read_text()
    drafts = re.findall(r'<div class="aigen-draft" data-aigen-status="stub" data-aigen-fill="generated" data-aigen-section="([^"]+)"', html)
    assert drafts == ["overview", "example", "troubleshooting"]
    assert "aigen-banner" in html and "md-status--aigen-draft" in html
    assert "aigen:draft" not in html  # markers never show
    assert (root / "site" / "assets" / "aigen" / "aigen.css").is_file() and "assets/aigen/aigen.css" in html
    assert "drafted 9 sections, 0 from cache" in result.stderr
    assert "tok/s" not in result.stderr and "\r" not in result.stderr  # no progress bar: stderr is a pipe


def test_authored_section_identical_to_plain_build(built, tmp_path):
    root, config, _, _ = built
    plain = tmp_path / "plain"
    shutil.copytree(root / "docs", plain / "docs")
    text = config.read_text()
    (plain / "mkdocs.yml").write_text(text[: text.index("  - aigen:")])
    assert mkdocs_build(plain / "mkdocs.yml").returncode == 0

    def steps(site: Path) -> str:
        html = (site / "guide" / "index.html").read_text()
        start = html.index('<h2 id="steps">')
        return html[start: html.index("</table>", start)]

    assert steps(root / "site") == steps(plain / "site")
    assert "Authored steps" in steps(root / "site")


def test_review_queue_and_report(built):
    root, *_ = built
    queue = (root / "site" / "aigen" / "review" / "index.html").read_text()
    for title in ("Caching guide", "缓存", "Widgets 2.0"):
        assert title in queue
    assert 'href="../../guide/#troubleshooting"' in queue
    report = json.loads((root / ".aigen" / "report.json").read_text())
    assert report["totals"]["generated"] == 9 and report["totals"]["authored"] == 1
    assert report["awaiting_review"] == 9


def test_blog_and_chinese_stubs(built):
    root, *_ = built
    post = next((root / "site" / "blog").rglob("widgets-20/index.html"))
    assert post.read_text().count('class="aigen-draft"') == 3
    assert "Widgets 2.0" in (root / "site" / "blog" / "index.html").read_text()
    zh = (root / "site" / "zh" / "index.html").read_text(encoding="utf-8")
    assert "缓存" in zh and zh.count('class="aigen-draft"') == 3


def test_nothing_written_into_docs_dir(built):
    root, _, _, before = built
    assert snapshot(root / "docs") == before


def test_warm_rebuild_uses_cache_and_imports_no_torch(built):
    root, config, *_ = built
    code = ("import sys, logging; logging.basicConfig(level=logging.INFO);"
            "from mkdocs.commands.build import build; from mkdocs.config import load_config;"
            f"build(load_config({str(config)!r}));"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "NO-TORCH"
    assert "drafted 0 sections, 9 from cache" in result.stderr


def test_model_output_cannot_inject_script(built, tmp_path):
    root, config, *_ = built
    site = tmp_path / "poisoned"
    shutil.copytree(root, site, ignore=shutil.ignore_patterns("site"))
    for entry in (site / ".aigen" / "cache").rglob("*.json"):
        data = json.loads(entry.read_text())
        heading = data["text"].splitlines()[0]
        data["text"] = (f"{heading}\n\n<script>alert(1)</script> <img src=x onerror=alert(2)>\n\n"
                        "[click](javascript:alert(3)) <iframe src=//evil></iframe> <object data=x></object>")
        entry.write_text(json.dumps(data))
    result = mkdocs_build(site / "mkdocs.yml")
    assert result.returncode == 0, result.stderr
    html = (site / "site" / "guide" / "index.html").read_text()
    article = html[html.index("aigen-banner"): html.index("</article>")]
    assert "aigen-draft" in article
    for bad in ("<script", "onerror", "javascript:", "<iframe", "<object"):
        assert bad not in article


def test_generate_off_and_cache_only(tmp_path, tiny_model_dir):
    config = write_site(tmp_path, tiny_model_dir, aigen="      generate: off\n")
    result = mkdocs_build(config, "--strict")
    assert result.returncode == 0, result.stderr
    assert "aigen-draft" not in (tmp_path / "site" / "guide" / "index.html").read_text()

    config.write_text(config.read_text().replace("generate: off", "generate: cache-only"))
    result = mkdocs_build(config)
    assert result.returncode == 0
    assert "no draft for 9 section(s) in cache-only mode" in result.stderr
    html = (tmp_path / "site" / "guide" / "index.html").read_text()
    assert html.count('data-aigen-status="stub" data-aigen-fill="placeholder"') == 3 and "No draft yet" in html
    assert mkdocs_build(config, "--strict").returncode == 1
    config.write_text(config.read_text() + "      on_missing: error\n")
    assert "ERROR" in mkdocs_build(config).stderr


def test_unpublished_drafts_left_out_of_build(built, tmp_path):
    root, config, *_ = built
    site = tmp_path / "hidden"
    shutil.copytree(root, site, ignore=shutil.ignore_patterns("site"))
    (site / "mkdocs.yml").write_text(config.read_text() + "      publish_unreviewed: false\n")
    result = mkdocs_build(site / "mkdocs.yml", "--strict")
    assert result.returncode == 0, result.stderr
    out = site / "site"
    assert not (out / "guide").exists() and not (out / "zh").exists()
    assert not list((out / "blog").rglob("widgets-20"))
    assert "Widgets 2.0" not in (out / "blog" / "index.html").read_text()
    index = (out / "index.html").read_text()
    assert "Caching guide" not in index and "guide/" not in index
    search = (out / "search" / "search_index.json").read_text()
    assert "Caching guide" not in search and "Widgets 2.0" not in search
    assert "Welcome to" in search


def test_bad_front_matter_is_one_line_and_other_pages_build(tmp_path, tiny_model_dir):
    config = write_site(tmp_path, tiny_model_dir, aigen="      generate: off\n")
    (tmp_path / "docs" / "bad.md").write_text("---\naigen:\n  topic: T\n  kind: essay\n---\n# Bad\n")
    result = mkdocs_build(config)
    assert result.returncode == 0
    lines = [line for line in result.stderr.splitlines() if "bad.md" in line and "aigen.kind" in line]
    assert len(lines) == 1 and "unknown kind 'essay'" in lines[0] and "Traceback" not in result.stderr
    assert (tmp_path / "site" / "index.html").is_file() and (tmp_path / "site" / "bad" / "index.html").is_file()
    assert mkdocs_build(config, "--strict").returncode == 1


def test_existing_site_features(built, tmp_path):
    """Explicit nav (stub listed and not), custom_dir, tags, codehilite, use_directory_urls: false, language zh."""
    root, config, *_ = built
    site = tmp_path / "real"
    shutil.copytree(root, site, ignore=shutil.ignore_patterns("site"))
    (site / "overrides").mkdir()
    (site / "overrides" / "main.html").write_text('{% extends "base.html" %}{% block announce %}HELLO-OVERRIDE'
                                                  "{% endblock %}")
    text = config.read_text().replace("theme:\n  name: material\n", "theme:\n  name: material\n  custom_dir: overrides\n  language: zh\n")
    text = text.replace("  - fenced_code\n", "  - fenced_code\n  - codehilite\n")
    text = text.replace("  - blog\n", "  - blog\n  - tags\n")
    text = "use_directory_urls: false\nnav:\n  - index.md\n  - guide.md\n  - blog/index.md\n" + text
    (site / "mkdocs.yml").write_text(text)
    result = mkdocs_build(site / "mkdocs.yml", "--strict")
    assert result.returncode == 0, result.stderr
    html = (site / "site" / "guide.html").read_text()
    assert "HELLO-OVERRIDE" in html and html.count('class="aigen-draft"') == 3
    assert 'href="aigen/review.html"' in html
    zh = (site / "site" / "zh.html").read_text(encoding="utf-8")
    assert '<html lang="zh"' in zh and "如何配置缓存目录" in (site / "site" / "aigen" / "review.html").read_text()
    assert zh.count('class="aigen-draft"') == 3 and "缓存" in zh
