"""One review state: a real ``mkdocs build`` (its ``report.json`` and HTML) and ``mkdocs-aigen status
--json`` give every section of every stub page the same state, for the same sources and review store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import write_site
from test_ci_gate import html_of, run_tool

from mkdocs_aigen.authoring.status import STATES
from mkdocs_aigen.markers import find_regions

pytestmark = pytest.mark.build

MARK = re.compile(r'data-aigen-status="(\w+)"(?: data-aigen-fill="(\w+)")? data-aigen-section="([\w-]+)"')


def change_region(path: Path, section: str, replace) -> None:
    """Replace the draft region of ``section`` in ``path`` by ``replace(text, region)``."""
    text = path.read_text(encoding="utf-8")
    region = next(r for r in find_regions(text) if r.section == section)
    path.write_text(replace(text, region), encoding="utf-8")


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory, tiny_model_dir) -> Path:
    """A site drafted by the CLI, then reviewed: one section approved, one edited, one draft rejected,
    one approved by deleting its markers by hand (no command has seen that before the build)."""
    root = tmp_path_factory.mktemp("reviewed")
    write_site(root, tiny_model_dir)
    assert run_tool(root, "mkdocs-aigen", "draft").returncode == 0
    approve = run_tool(root, "mkdocs-aigen", "approve", "guide.md", "--section", "Overview")
    assert approve.returncode == 0, approve.stderr
    docs = root / "docs"
    change_region(docs / "guide.md", "example",
                  lambda t, r: t[:r.inner_end] + "\n\nChecked by the author." + t[r.inner_end:])
    change_region(docs / "guide.md", "troubleshooting", lambda t, r: t[:r.start] + t[r.end:])
    change_region(docs / "zh.md", "background", lambda t, r: t[:r.start] + r.inner + t[r.end:])
    build = run_tool(root, "mkdocs", "build")
    assert build.returncode == 0, build.stderr
    return root


def states_by_section(document: dict) -> dict[tuple[str, str], str]:
    return {(page["page"], s["section"]): s["state"] for page in document["pages"] for s in page["sections"]}


def test_report_json_and_status_json_agree_on_every_section(reviewed):
    report = json.loads((reviewed / ".aigen" / "report.json").read_text(encoding="utf-8"))
    status_run = run_tool(reviewed, "mkdocs-aigen", "status", "--json")
    assert status_run.returncode == 0, status_run.stderr
    status = json.loads(status_run.stdout)
    built, listed = states_by_section(report), states_by_section(status)
    assert built == listed
    assert {section: state for (page, section), state in built.items() if page != "blog/posts/release.md"} == {
        "overview": "approved", "steps": "authored", "example": "edited", "troubleshooting": "stub",
        "background": "approved", "how-it-works": "drafted", "trade-offs": "drafted"}
    assert {k: v for k, v in report["totals"].items() if k in STATES} == status["totals"]
    # the rejected draft is a stub in both; the build showed it again, from the cache, for review
    fills = {(p["page"], s["section"]): s.get("fill") for p in report["pages"] for s in p["sections"]}
    assert {k: v for k, v in fills.items() if v} == {("guide.md", "troubleshooting"): "cache"}
    assert report["awaiting_review"] == status["awaiting_review"] + 1 == 7


def test_html_marks_carry_the_same_states(reviewed):
    report = json.loads((reviewed / ".aigen" / "report.json").read_text(encoding="utf-8"))
    for page, slug in (("guide.md", "guide"), ("zh.md", "zh")):
        expected = [(s["state"], s.get("fill", ""), s["section"]) for p in report["pages"] if p["page"] == page
                    for s in p["sections"] if s["state"] in ("drafted", "edited") or s.get("fill")]
        assert MARK.findall(html_of(reviewed, slug)) == expected
    assert MARK.findall(html_of(reviewed, "guide")) == [("edited", "", "example"), ("stub", "cache", "troubleshooting")]
    queue = html_of(reviewed, "aigen/review")
    assert "<td>stub (cache)</td>" in queue and "<td>edited</td>" in queue and "<td>approved</td>" not in queue
