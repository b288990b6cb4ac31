"""Drafts in sources read by other renderers (Zensical, ProperDocs), the review page for them,
markers written before the source form, mkdocstrings references and drafted blog excerpts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_site
from test_authoring import draft, fake_project, make_site, page_file

from mkdocs_aigen import cli
from mkdocs_aigen.authoring.loop import approve_page
from mkdocs_aigen.authoring.store import ReviewStore
from mkdocs_aigen.labels import MESSAGES
from mkdocs_aigen.markers import COMMENT_END, comment_marker, digest_text, find_regions

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTE = MESSAGES["en"]["label_drafted"]
FAILED = "failed its check"


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                            env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": str(REPO),
                                 "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1", **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def drafted_example(tmp_path_factory, tiny_model_dir):
    """example_site after ``mkdocs-aigen draft`` (tiny model), and its ``status --json``."""
    root = tmp_path_factory.mktemp("renderers") / "example_site"
    shutil.copytree(REPO / "example_site", root, ignore=shutil.ignore_patterns(".aigen", "site"))
    env = {"AIGEN_MODEL": str(tiny_model_dir), "AIGEN_CACHE_DIR": ".aigen/cache"}
    run([str(BIN / "mkdocs-aigen"), "draft", "--no-progress"], root, **env)
    status = json.loads(run([str(BIN / "mkdocs-aigen"), "status", "--json"], root, **env).stdout)
    return root, status, env


def html_of(site: Path, src: str) -> str:
    return (site / src.removesuffix(".md") / "index.html").read_text(encoding="utf-8")


def assert_no_marker_or_digest(site: Path) -> None:
    for path in site.rglob("*"):
        if path.suffix in (".html", ".json", ".xml"):
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "aigen:draft" not in text and "sha256:" not in text, path


def invalid_samples(entry: dict) -> int:
    return sum(c["status"] == "invalid" for s in entry["sections"] for c in s["code"])


@pytest.mark.build
def test_zensical_build_after_draft_shows_every_draft_marked(drafted_example):
    root, status, _ = drafted_example
    run([sys.executable, "-m", "zensical", "build", "-f", "mkdocs.yml"], root)
    site = root / "site"
    pages = [p for p in status["pages"] if not p["page"].startswith("blog/")]
    assert pages and sum(map(invalid_samples, status["pages"])) > 0  # the tiny model writes broken code
    for entry in pages:
        html = html_of(site, entry["page"])
        regions = find_regions((root / "docs" / entry["page"]).read_text(encoding="utf-8"))
        notes = re.findall(r"<blockquote>\s*<p><strong>([^<]*)</strong> \(mkdocs-aigen\)", html)
        assert notes == [NOTE] * len(regions) and regions, entry["page"]
        assert html.count(FAILED) == invalid_samples(entry), entry["page"]
    assert NOTE in (site / "blog" / "index.html").read_text(encoding="utf-8")  # the drafted post's excerpt
    assert_no_marker_or_digest(site)


@pytest.mark.build
def test_properdocs_build_after_draft_runs_the_plugin(drafted_example):
    root, status, env = drafted_example
    result = run([str(BIN / "properdocs"), "build", "-f", "mkdocs.yml"], root, **env, AIGEN_GENERATE="off")
    assert "drafted 0 sections, 0 from cache, 0 stated from the API, 26 in sources" in result.stderr
    site = root / "site"
    for entry in status["pages"]:
        if entry["page"].startswith("blog/"):
            continue
        html = html_of(site, entry["page"])
        assert html.count('class="aigen-draft"') == len(entry["sections"]) - sum(
            s["state"] == "authored" for s in entry["sections"])
        assert "aigen-banner" in html and "mkdocs-aigen)" not in html  # the plugin's marks, not the note
        assert html.count('class="aigen-code-error"') == invalid_samples(entry)
    assert (site / "aigen" / "review" / "index.html").is_file()
    assert_no_marker_or_digest(site)


@pytest.mark.build
def test_review_out_writes_a_queue_page_any_renderer_publishes(drafted_example, capsys):
    root, status, env = drafted_example
    out = root / "docs" / "review.md"
    os.environ["AIGEN_MODEL"] = env["AIGEN_MODEL"]
    try:
        code = cli.main(["review", "-f", str(root / "mkdocs.yml"), "--out", str(out), "--no-progress"])
    finally:
        del os.environ["AIGEN_MODEL"]
    assert code == 0
    assert capsys.readouterr().out == f"{out}: {status['awaiting_review']} section(s) await review on 6 page(s)\n"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: \"Review queue\"\nsearch:\n  exclude: true\n---\n# Review queue\n")
    assert "## [Caching parsed files](guides/caching.md)" in text
    assert "(guides/caching.md#example)" in text


def test_comment_markers_are_read_and_rewritten_in_the_source_form(tmp_path):
    """Sources drafted before the source form: same states, same text; draft rewrites only the markers."""
    inner = "## Overview\n\nDrafted before: <b>kept</b>."
    legacy = (f"---\naigen:\n  topic: Parse cache\n  sections: [Overview, Steps]\n  code: none\n---\n# Parse cache\n\n"
              f"{comment_marker(section='overview', digest=digest_text(inner))}\n{inner}\n{COMMENT_END}\n\n"
              f"## Steps\n\nMine.\n")
    make_site(tmp_path, {"guide.md": legacy})
    project = fake_project(tmp_path)
    path = tmp_path / "docs" / "guide.md"
    [region] = find_regions(legacy)
    assert region.legacy and not region.edited
    draft(project)
    text = path.read_text(encoding="utf-8")
    regions = {r.section: r for r in find_regions(text)}
    assert "<!--" not in text and not regions["overview"].legacy
    assert regions["overview"].inner == inner and regions["overview"].attrs == region.attrs
    assert text.startswith(legacy[:legacy.index("<!--")]) and text.endswith("## Steps\n\nMine.\n")
    approve_page(project, ReviewStore(tmp_path / ".aigen"), page_file(project), ["Overview"])
    assert inner + "\n\n## Steps" in path.read_text(encoding="utf-8")


@pytest.mark.build
def test_mkdocstrings_reference_drafts_only_prose(tmp_path, tiny_model_dir):
    (tmp_path / "src" / "tidypkg").mkdir(parents=True)
    (tmp_path / "src" / "tidypkg" / "__init__.py").write_text(
        'def area(width: float, height: float) -> float:\n    """Area of a rectangle.\n\n    Args:\n'
        '        width: The width.\n        height: The height.\n\n    Returns:\n        The area.\n    """\n'
        "    return width * height\n")
    config = write_site(tmp_path, tiny_model_dir, stubs=False,
                        extra_yaml="", aigen="  - mkdocstrings:\n      handlers:\n        python:\n"
                                             "          paths: [src]\n")
    (tmp_path / "docs" / "area.md").write_text("---\naigen:\n  topic: The tidypkg.area function\n"
                                               "  kind: reference\n  code: python\n---\n# area\n\n::: tidypkg.area\n")
    run([sys.executable, "-m", "mkdocs", "build", "-f", str(config)], tmp_path)
    html = html_of(tmp_path / "site", "area.md")
    assert re.findall(r'class="aigen-draft"[^>]*data-aigen-section="([^"]+)"', html) == ["summary"]
    assert "doc-function" in html and "The width." in html  # mkdocstrings renders the parameters


@pytest.fixture(scope="module")
def blog_builds(tmp_path_factory, tiny_model_dir):
    """The blog index of a site whose post is a stub, built with and without unreviewed drafts."""
    built = {}
    for publish in (True, False):
        root = tmp_path_factory.mktemp(f"blog-{publish}")
        config = write_site(root, tiny_model_dir, aigen=f"      publish_unreviewed: {str(publish).lower()}\n")
        run([sys.executable, "-m", "mkdocs", "build", "-f", str(config)], root)
        built[publish] = (root / "site" / "blog" / "index.html").read_text(encoding="utf-8")
    return built


@pytest.mark.build
def test_drafted_post_excerpt_is_marked_on_the_blog_index(blog_builds):
    html = blog_builds[True]
    assert "Widgets 2.0" in html and 'class="aigen-draft"' in html and "aigen:draft" not in html


@pytest.mark.build
def test_unpublished_drafts_keep_their_excerpt_off_the_blog_index(blog_builds):
    assert "Widgets 2.0" in blog_builds[True]
    assert "Widgets 2.0" not in blog_builds[False] and "Hello widgets" in blog_builds[False]
