"""The team workflow with real parts: ``mkdocs-aigen draft`` with the tiny model, then real ``mkdocs
build --strict`` runs as CI makes them (``generate: cache-only`` forced through AIGEN_GENERATE)."""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import write_site

from mkdocs_aigen.markers import find_regions

pytestmark = pytest.mark.build

REPO = Path(__file__).resolve().parents[1]
GENERATE_FROM_ENV = "      generate: !ENV [AIGEN_GENERATE, auto]\n"
DRAFTED = {"guide.md": ["overview", "example", "troubleshooting"],
           "blog/posts/release.md": ["introduction", "what-changed", "try-it"],
           "zh.md": ["background", "how-it-works", "trade-offs"]}


def run_tool(root: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    """``mkdocs …`` or ``mkdocs-aigen …`` of this checkout in a subprocess, in the site's directory."""
    module = "mkdocs_aigen.cli" if argv[0] == "mkdocs-aigen" else "mkdocs"
    return subprocess.run([sys.executable, "-m", module, *argv[1:]], cwd=root, capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "NO_MKDOCS_2_WARNING": "1", "OMP_NUM_THREADS": "1",
                               "HOME": str(root), "PYTHONPATH": str(REPO), **env})


def ci_build(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_tool(root, "mkdocs", "build", "--strict", *args, AIGEN_GENERATE="cache-only")


def html_of(root: Path, page: str) -> str:
    return (root / "site" / page / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def drafted(tmp_path_factory, tiny_model_dir):
    """A site whose stubs the real CLI drafted with the tiny model; guide.md is CRLF with a BOM."""
    root = tmp_path_factory.mktemp("team")
    write_site(root, tiny_model_dir, aigen=GENERATE_FROM_ENV)
    guide = root / "docs" / "guide.md"
    crlf = codecs.BOM_UTF8 + guide.read_bytes().replace(b"\n", b"\r\n")
    guide.write_bytes(crlf)
    result = run_tool(root, "mkdocs-aigen", "draft")
    assert result.returncode == 0, result.stderr
    return root, crlf, result


@pytest.fixture
def site(drafted, tmp_path) -> Path:
    """A fresh checkout of the drafted site: what is committed (no build output, no draft cache)."""
    shutil.copytree(drafted[0], tmp_path / "s", ignore=shutil.ignore_patterns("site", "cache", "staging"))
    return tmp_path / "s"


def test_draft_writes_into_sources_and_keeps_crlf_bom_and_authored_bytes(drafted):
    root, crlf, result = drafted
    lines = result.stdout.splitlines()
    assert lines[0] == ("blog/posts/release.md: drafted Introduction (generated), What changed (generated), "
                        "Try it (generated)")
    assert lines[1] == "guide.md: drafted Overview (generated), Example (generated), Troubleshooting (generated)"
    assert lines[3].startswith("wrote 9 draft(s)")
    for page, sections in DRAFTED.items():
        text = (root / "docs" / page).read_bytes().decode("utf-8-sig")
        assert [r.section for r in find_regions(text)] == sections
    guide = (root / "docs" / "guide.md").read_bytes()
    assert guide.startswith(codecs.BOM_UTF8) and guide.count(b"\n") == guide.count(b"\r\n")
    authored = crlf[crlf.index(b"## Steps"):]
    assert authored in guide and guide.startswith(crlf[:crlf.index(b"## Steps")])
    again = run_tool(root, "mkdocs-aigen", "draft")
    assert again.returncode == 0 and "loading model" not in again.stderr
    assert again.stdout.splitlines() == [f"{p}: nothing to draft" for p in sorted(DRAFTED)]


def test_ci_build_passes_with_drafts_in_sources_and_markers_never_show(site):
    sources = {p: p.read_bytes() for p in (site / "docs").rglob("*.md")}
    result = ci_build(site)
    assert result.returncode == 0, result.stderr
    assert "drafted 0 sections, 0 from cache, 0 stated from the API, 9 in sources" in result.stderr  # cache-only: no model loaded
    assert {p: p.read_bytes() for p in (site / "docs").rglob("*.md")} == sources
    html = html_of(site, "guide")
    assert re.findall(r'data-aigen-status="(\w+)" data-aigen-section="([\w-]+)"', html) == [
        ("drafted", s) for s in DRAFTED["guide.md"]]
    for built in [*(site / "site").rglob("*.html"), site / "site" / "search" / "search_index.json"]:
        text = built.read_text(encoding="utf-8")
        assert "aigen:draft" not in text and "/aigen:draft" not in text, built
    assert "Authored steps: set <code>cache_dir</code>" in html


def test_ci_gate_fails_on_unreviewed_until_approved(site):
    config = site / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8") + "      fail_on_unreviewed: true\n", encoding="utf-8")
    result = ci_build(site)
    assert result.returncode == 1
    messages = [line for line in result.stderr.splitlines() if "unreviewed draft(s)" in line]
    assert len(messages) == 1
    assert all(f"{page}#{section}" in messages[0] for page, sections in DRAFTED.items() for section in sections)
    assert "9 unreviewed draft(s)" in messages[0]

    status = run_tool(site, "mkdocs-aigen", "status", "--fail-on-unreviewed")
    assert status.returncode == 1 and "9 section(s) await review on 3 page(s)" in status.stdout

    # the author edits one draft: the build marks it edited, and it still awaits review
    guide = site / "docs" / "guide.md"
    text = guide.read_bytes().decode("utf-8-sig")
    region = find_regions(text)[1]
    edited = text[:region.inner_end] + "\r\n\r\nChecked by the author." + text[region.inner_end:]
    guide.write_bytes(codecs.BOM_UTF8 + edited.encode("utf-8"))
    assert ci_build(site).returncode == 1
    assert 'data-aigen-status="edited" data-aigen-section="example"' in html_of(site, "guide")

    approvals = [run_tool(site, "mkdocs-aigen", "approve", page) for page in DRAFTED]
    assert [a.returncode for a in approvals] == [0, 0, 0]
    assert approvals[0].stdout == ("guide.md: approved Overview, Example (edited), Troubleshooting; "
                                   "feedback in .aigen/feedback/\n")
    status = run_tool(site, "mkdocs-aigen", "status", "--json", "--fail-on-unreviewed")
    assert status.returncode == 0 and json.loads(status.stdout)["totals"] == {"approved": 9, "authored": 1}
    result = ci_build(site)
    assert result.returncode == 0, result.stderr
    html = html_of(site, "guide")
    assert "aigen-draft" not in html and "aigen-banner" not in html and "Checked by the author." in html
    guide_bytes = guide.read_bytes()
    assert guide_bytes.startswith(codecs.BOM_UTF8) and guide_bytes.count(b"\n") == guide_bytes.count(b"\r\n")
    assert len(list((site / ".aigen" / "feedback").glob("*.json"))) == 9


def test_ci_gate_fails_when_a_stub_section_has_no_draft(site):
    guide = site / "docs" / "guide.md"
    text = guide.read_bytes().decode("utf-8-sig")
    troubleshooting = next(r for r in find_regions(text) if r.section == "troubleshooting")
    guide.write_bytes(codecs.BOM_UTF8 + (text[:troubleshooting.start] + text[troubleshooting.end:]).encode("utf-8"))
    result = ci_build(site)
    assert result.returncode == 1
    assert "no draft for 1 section(s) in cache-only mode: guide.md#troubleshooting" in result.stderr
    assert 'data-aigen-status="stub" data-aigen-fill="placeholder" data-aigen-section="troubleshooting"' in html_of(site, "guide")
    # without the env override the same config drafts it (generate: auto) and the strict build passes
    assert run_tool(site, "mkdocs", "build", "--strict").returncode == 0


def test_gh_deploy_publishes_the_built_site(site, tmp_path):
    remote = tmp_path / "remote.git"
    identity = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}

    def git(*args, cwd=site):
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                              env={"PATH": os.environ["PATH"], "HOME": str(site), **identity})

    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "docs")
    git("remote", "add", "origin", str(remote))
    result = run_tool(site, "mkdocs", "gh-deploy", "--strict", "--force", AIGEN_GENERATE="cache-only", **identity)
    assert result.returncode == 0, result.stderr
    published = git("show", "gh-pages:guide/index.html", cwd=remote).stdout.decode("utf-8")
    assert 'class="aigen-draft"' in published and "aigen:draft" not in published


def test_pages_workflow_build_step_runs_as_written(site, tmp_path):
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "docs.yml").read_text(encoding="utf-8"))
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    step = next(s for s in build["steps"] if s.get("name") == "Build (strict, cache-only)")
    assert step["env"]["AIGEN_GENERATE"] == "cache-only" and "--strict -f example_site/mkdocs.yml" in step["run"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"} and deploy["needs"] == "build"
    assert [s["uses"].split("@")[0] for s in build["steps"] if "pages" in s.get("uses", "")] == [
        "actions/configure-pages", "actions/upload-pages-artifact"]
    # the step itself, on a checkout whose example_site is the drafted test site
    shutil.move(site, tmp_path / "example_site")
    result = subprocess.run(["bash", "-c", step["run"]], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                                 "PYTHONPATH": str(REPO), "HOME": str(tmp_path), "GITHUB_WORKSPACE": str(tmp_path),
                                 **step["env"]})
    assert result.returncode == 0, result.stderr
    assert "9 in sources" in result.stderr and (tmp_path / "_site" / "guide" / "index.html").is_file()


def test_example_site_lets_ci_force_cache_only():
    assert GENERATE_FROM_ENV.strip() in (REPO / "example_site" / "mkdocs.yml").read_text(encoding="utf-8")
