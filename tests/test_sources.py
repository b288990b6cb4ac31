"""Sources shown to reviewers: where a draft's passages lead in the site, and how the page, the review
queue, ``report.json`` and ``mkdocs-aigen status`` list them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fakes import FakeBackend
from mkdocs.structure.files import File, Files, InclusionLevel
from test_ci_gate import html_of, run_tool
from test_xss import _theme_scripts, findings

from mkdocs_aigen.authoring.status import PageReview, SectionReview
from mkdocs_aigen.authoring.store import ReviewStore
from mkdocs_aigen.drafting.engine import SectionJob
from mkdocs_aigen.drafting.stubs import load_stub
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.markers import SOURCE_END, begin_marker, digest_text, wrap
from mkdocs_aigen.plugin.render import mark_drafts
from mkdocs_aigen.plugin.review_page import queue_markdown, write_report
from mkdocs_aigen.plugin.sources import (
    Citation,
    SiteSources,
    inventory_locator,
    unlinked,
)
from mkdocs_aigen.project import Project
from mkdocs_aigen.settings import PACKAGED_MODEL, Settings

PAGES = {
    "index.md": "# Home\n",
    "guides/caching.md": "# Caching parsed files\n\n## Steps\n\nSet `cache_dir`.\n\n## Clear_the cache\n\nDelete it.\n",
    "reference/dump.md": "---\ntitle: tidyconf.dump()\n---\n# tidyconf.dump()\n\nSerialises a configuration.\n",
    "reference/api.md": "# Python API\n\n## Loading\n\n### `tidyconf.load`\n\nLoads layers.\n",
    "reference/auto.md": "# Layers\n\n::: tidyconf.Layer\n",
    "hidden.md": "# tidyconf.hidden\n",
    "how/stub.md": "# Stub\n",
}
SOURCES = [
    {"source": "guides/caching.md#steps", "title": "Caching parsed files › Steps"},
    {"source": "api:tidyconf.dump", "title": "tidyconf.dump"},
    {"source": "file:src/tidyconf/loader.py:42", "title": "loader.py"},
    {"source": "guides/<img src=x onerror=alert(1)>.md#x", "title": "<script>alert(2)</script>"},
    {"source": "api:tidyconf.nowhere", "title": "tidyconf.nowhere"},
]
FACTS = {"references": 3, "resolved": 2, "unresolved": 1, "links_dropped": 1, "unresolved_names": ["tidyconf.nope"]}


def site_files(tmp_path: Path) -> Files:
    docs = tmp_path / "docs"
    files = []
    for path, text in PAGES.items():
        (docs / path).parent.mkdir(parents=True, exist_ok=True)
        (docs / path).write_text(text, encoding="utf-8")
        file = File(path, str(docs), str(tmp_path / "site"), use_directory_urls=True)
        if path == "hidden.md":
            file.inclusion = InclusionLevel.DRAFT
        files.append(file)
    return Files(files)


def cite_all(tmp_path: Path, sources: list[dict], where=lambda source: None) -> list[Citation]:
    files = site_files(tmp_path)
    site = SiteSources(files, where=where)
    return [site.cite(source, files.get_file_from_path("how/stub.md")) for source in sources]


def test_site_sections_link_to_published_pages_and_their_anchors(tmp_path):
    cited = cite_all(tmp_path, [{"source": s, "title": "t"} for s in (
        "guides/caching.md#steps", "guides/caching.md#clear-the-cache", "guides/caching.md#gone",
        "guides/missing.md#steps", "hidden.md#x", "javascript:alert(1)#x")])
    assert [c.href for c in cited] == ["../../guides/caching/#steps", "../../guides/caching/#clear_the-cache",
                                       "../../guides/caching/", None, None, None]
    assert [c.location for c in cited[3:]] == ["guides/missing.md#steps", "hidden.md#x", "javascript:alert(1)#x"]


def test_api_objects_link_to_their_reference_page_else_name_file_and_line(tmp_path):
    lines = {"api:tidyconf.merge": ("src/tidyconf/merging.py", 7)}
    cited = cite_all(tmp_path, [{"source": s, "title": ""} for s in (
        "api:tidyconf.dump", "api:tidyconf.load", "api:tidyconf.Layer", "api:tidyconf.hidden",
        "api:tidyconf.merge", "api:tidyconf.nowhere", "file:src/tidyconf/loader.py:42")], where=lines.get)
    assert [c.href for c in cited[:3]] == ["../../reference/dump/", "../../reference/api/#tidyconfload",
                                           "../../reference/auto/#tidyconf.Layer"]
    assert [(c.title, c.href, c.location) for c in cited[3:]] == [
        ("api:tidyconf.hidden", None, "api:tidyconf.hidden"),  # its page is not published
        ("api:tidyconf.merge", None, "src/tidyconf/merging.py:7"),
        ("api:tidyconf.nowhere", None, "api:tidyconf.nowhere"),
        ("file:src/tidyconf/loader.py:42", None, "src/tidyconf/loader.py:42")]


def test_inventory_locator_is_lazy_and_names_files_relative_to_the_config_dir(tmp_path):
    class Found:
        filepath, lineno = str(tmp_path / "src" / "tidyconf" / "loader.py"), 42

    class Inventory:
        def resolve(self, dotted):
            return Found() if dotted == "tidyconf.load" else None

    asked = []
    where = inventory_locator(lambda: asked.append(1) or Inventory(), tmp_path)
    assert where("file:src/x.py:1") is None and not asked
    assert where("api:tidyconf.load") == ("src/tidyconf/loader.py", 42)
    assert where("api:tidyconf.other") is None
    assert inventory_locator(lambda: None, tmp_path)("api:tidyconf.load") is None


def test_marked_draft_lists_its_sources_escaped_and_counts_them():
    region = '<!-- aigen:draft section="one" -->\n<h2>One</h2><p>Text.</p>\n<!-- /aigen:draft -->'
    sections = [SectionReview("One", "one", "drafted", sources=SOURCES)]
    html = mark_drafts(region, sections, cite=lambda s: Citation("<b>x</b>", href="javascript:alert(3)")
                       if s is SOURCES[0] else unlinked(s))
    assert 'data-aigen-sources="5"' in html and '<ul class="aigen-sources">' in html
    assert html.count("<li>") == 5 and "Sources:" in html
    assert "<script>" not in html and "<img" not in html and "javascript:" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "<code>src/tidyconf/loader.py:42</code>" in html
    ungrounded = mark_drafts(region, [SectionReview("One", "one", "drafted")])
    assert 'data-aigen-sources="0"' in ungrounded and "aigen-sources\"" not in ungrounded


def test_sources_label_is_translated():
    from mkdocs_aigen.labels import MESSAGES, Labels

    assert len({MESSAGES[lang]["sources"] for lang in MESSAGES}) >= 5
    region = '<!-- aigen:draft section="one" -->\n<p>x</p>\n<!-- /aigen:draft -->'
    html = mark_drafts(region, [SectionReview("One", "one", "drafted", sources=SOURCES[:1])], Labels("de"))
    assert "Quellen:" in html


def test_report_and_queue_carry_sources_facts_and_totals(tmp_path):
    sections = [SectionReview("One", "one", "drafted", sources=SOURCES, facts=FACTS),
                SectionReview("Two", "two", "stub", fill="cache", facts={"references": 2, "resolved": 2}),
                SectionReview("Three", "three", "authored")]
    report = write_report(tmp_path / "report.json", [PageReview("p.md", "P", "T", sections)], {})
    assert report == json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    one, two, three = report["pages"][0]["sections"]
    assert one["sources"] == SOURCES and one["facts"] == FACTS
    assert two["sources"] == [] and two["facts"] == {"references": 2, "resolved": 2, "unresolved": 0,
                                                     "links_dropped": 0}
    assert three["facts"] == dict.fromkeys(("references", "resolved", "unresolved", "links_dropped"), 0)
    counts = {"references": 5, "resolved": 4, "unresolved": 1, "links_dropped": 1}
    assert report["pages"][0]["facts"] == report["totals"]["facts"] == counts
    assert (report["pages"][0]["cited"], report["pages"][0]["awaiting_review"], report["totals"]["cited"]) == (1, 2, 1)
    queue = queue_markdown([PageReview("p.md", "P", "T", sections)])
    assert "guides/caching\\.md\\#steps" in queue and "&lt;img src=x" in queue


def test_a_drafted_stub_lists_the_passages_its_job_was_given(tmp_path):
    """The build's own drafts (not written into the sources) carry their job's context."""
    for path, text in PAGES.items():
        (tmp_path / "docs" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / path).write_text(text, encoding="utf-8")
    stub = tmp_path / "docs" / "how" / "stub.md"
    stub.write_text("---\naigen:\n  topic: Caching\n  kind: how-to\n  sections: [Overview, Steps]\n  code: none\n"
                    "---\n# Stub\n", encoding="utf-8")
    project = Project(Settings.load({"model": str(PACKAGED_MODEL)}, tmp_path, tmp_path / "docs"))
    project.__dict__["backend"] = FakeBackend(lambda request: "Prose drawn from the context.")
    page = load_stub(stub, "how/stub.md", project.kinds)
    context = tuple(Passage(s["source"], s["title"], "text") for s in SOURCES[:2])
    jobs = [SectionJob(page.src_path, page.spec, page.kind, "Overview", context),
            SectionJob(page.src_path, page.spec, page.kind, "Steps")]
    drafts = project.drafter.generate(jobs)
    assert project.drafter.lookup(jobs)[0][jobs[0]].job.context == context  # a cache hit has the same sources
    review = project.render(page, drafts, "auto", ReviewStore(project.settings.work_dir)).review
    assert [(s.section, s.sources) for s in review.sections] == [("overview", SOURCES[:2]), ("steps", [])]


# --- A real build -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A site whose stub holds a draft (written as ``mkdocs-aigen draft`` writes it, its passages kept in
    the review store), built by ``mkdocs build`` with no model."""
    root = tmp_path_factory.mktemp("sources")
    for path, text in PAGES.items():
        (root / "docs" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / path).write_text(text, encoding="utf-8")
    draft = "## Overview\n\nCall `tidyconf.dump()` after the steps."
    stub = root / "docs" / "how" / "stub.md"
    stub.write_text("---\naigen:\n  topic: Caching\n  kind: how-to\n  sections: [Overview]\n  code: none\n---\n"
                    f"# Stub\n\n{wrap(draft, 'overview')}\n", encoding="utf-8")
    (root / "mkdocs.yml").write_text(
        "site_name: sources\ntheme:\n  name: material\nmarkdown_extensions:\n  - toc:\n      permalink: true\n"
        f"plugins:\n  - search\n  - aigen:\n      model: {PACKAGED_MODEL}\n      generate: cache-only\n",
        encoding="utf-8")
    project = Project(Settings.load({"model": str(PACKAGED_MODEL)}, root, root / "docs"))
    store = ReviewStore(project.settings.work_dir)
    page = load_stub(stub, "how/stub.md", project.kinds)
    assert store.remember_draft(page, "overview", "Overview", draft, [], SOURCES, FACTS) == digest_text(draft)
    store.save()
    build = run_tool(root, "mkdocs", "build", "--strict")
    assert build.returncode == 0, build.stderr
    return root


@pytest.mark.build
def test_the_page_lists_the_drafts_sources_with_working_links(built):
    html = html_of(built, "how/stub")
    assert len(re.findall(r'class="aigen-draft"[^>]*data-aigen-sources="5"', html)) == 1
    listed = re.search(r'<ul class="aigen-sources">(.*?)</ul>', html, re.S).group(1)
    hrefs = re.findall(r'href="([^"]+)"', listed)
    assert hrefs == ["../../guides/caching/#steps", "../../reference/dump/"]
    page_dir = built / "site" / "how" / "stub"
    for href in hrefs:
        target = (page_dir / href.split("#")[0] / "index.html").resolve()
        assert target.is_file(), href
    assert 'id="steps"' in (built / "site" / "guides" / "caching" / "index.html").read_text(encoding="utf-8")
    assert "<code>src/tidyconf/loader.py:42</code>" in listed and "<code>api:tidyconf.nowhere</code>" in listed
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in listed and not findings(html, _theme_scripts(built / "site"))


@pytest.mark.build
def test_report_queue_and_status_list_the_sources(built):
    report = json.loads((built / ".aigen" / "report.json").read_text(encoding="utf-8"))
    (section,) = [s for p in report["pages"] for s in p["sections"]]
    assert section["sources"] == SOURCES and section["facts"] == FACTS
    assert report["totals"]["cited"] == 1 and report["totals"]["facts"]["references"] == 3
    assert "guides/caching.md#steps" in html_of(built, "aigen/review")
    status = run_tool(built, "mkdocs-aigen", "status")
    assert status.returncode == 0, status.stderr
    assert "source: guides/caching.md#steps (Caching parsed files › Steps)" in status.stdout
    assert "facts: 3 references, 2 resolved, 1 unresolved, 1 links dropped" in status.stdout
    listed = json.loads(run_tool(built, "mkdocs-aigen", "status", "--json").stdout)
    assert listed["pages"][0]["sections"][0]["sources"] == SOURCES


@pytest.mark.build
def test_an_approved_draft_keeps_no_sources(built):
    approve = run_tool(built, "mkdocs-aigen", "approve", "how/stub.md")
    assert approve.returncode == 0, approve.stderr
    source = (built / "docs" / "how" / "stub.md").read_text(encoding="utf-8")
    assert "Call `tidyconf.dump()`" in source and "caching.md" not in source and SOURCE_END not in source
    assert begin_marker(section="overview")[:20] not in source
    assert run_tool(built, "mkdocs", "build", "--strict").returncode == 0
    html = html_of(built, "how/stub")
    assert "aigen-sources" not in html and "aigen-draft" not in html


def test_page_outlines_are_kept_by_digest_so_a_warm_build_parses_no_page(tmp_path, monkeypatch):
    import mkdocs_aigen.plugin.sources as sources_module

    outlines = tmp_path / "outlines.json"
    sources = [{"source": s, "title": "t"} for s in ("guides/caching.md#steps", "api:tidyconf.dump")]
    files = site_files(tmp_path)
    page = files.get_file_from_path("how/stub.md")
    cold = [SiteSources(files, outlines=outlines).cite(s, page) for s in sources]
    assert outlines.is_file()
    monkeypatch.setattr(sources_module, "_outline", lambda text: pytest.fail("a page was parsed again"))
    assert [SiteSources(files, outlines=outlines).cite(s, page) for s in sources] == cold
    outlines.write_text("[1, 2")  # a damaged store only costs a parse
    monkeypatch.undo()
    assert [SiteSources(files, outlines=outlines).cite(s, page) for s in sources] == cold
