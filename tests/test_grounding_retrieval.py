"""The passage index and retrieval: sources, exclusions, budget, warm loads, prompts, Project wiring."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from test_grounding_inventory import write_package

from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.grounding.index import INDEX_FILE, IndexSources, load_index
from mkdocs_aigen.grounding.retrieve import Retriever, estimate_tokens, load_grounding, trim
from mkdocs_aigen.markers import wrap
from mkdocs_aigen.project import Project
from mkdocs_aigen.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DRAFTED = "Invented: confy reads YAML through the zork backend."

TESTS = '''\
import confy
from confy import load


def test_load_reads_layers(tmp_path):
    settings = load(tmp_path / "app.toml", env=False)
    assert settings.get("server.port") == 8080


def test_unrelated():
    assert 1 + 1 == 2


class TestDump:
    def test_dump_hides_secrets(self):
        assert "secret" not in confy.dump({"token": "secret"}, reveal=False)
'''


def write_site(root: Path) -> Path:
    docs = root / "docs"
    (docs / "guides").mkdir(parents=True)
    (docs / "index.md").write_text("# Confy\n\nConfy merges configuration layers.\n\n"
                                   "## Install\n\nRun `pip install confy` to install the layers library.\n")
    (docs / "guides" / "layers.md").write_text(
        "---\ntitle: Layers\n---\n# Layers\n\n## Precedence\n\nLater layers win: environment variables override "
        "files, and files override defaults.\n\n## Drafted\n\n"
        + wrap(DRAFTED + "\n", "drafted") + "\n")
    (docs / "guides" / "caching.md").write_text(
        "---\naigen:\n  topic: Caching layers\n  kind: how-to\n  code: python\n---\n# Caching\n\n"
        "## Overview\n\nThe caching page's own text about layers and precedence.\n\n## Steps\n")
    write_package(root)
    (root / "tests").mkdir()
    (root / "tests" / "test_confy.py").write_text(TESTS)
    return root


def sources(root: Path, package: str | None = "confy") -> IndexSources:
    return IndexSources(root / "docs", root, package, (root, root / "src"))


def test_index_holds_sections_api_examples_and_snippets_never_drafts(tmp_path):
    index, rebuilt = load_index(sources(write_site(tmp_path)), tmp_path / "store")
    assert rebuilt
    by_source = {}
    for passage in index.passages:
        by_source.setdefault(passage.source, passage)  # an object's facts come before its examples
    assert by_source["guides/layers.md#precedence"].title == "Layers › Precedence"
    assert "Later layers win" in by_source["guides/layers.md#precedence"].text
    assert not [p for p in index.passages if "zork" in p.text or "guides/layers.md#drafted" == p.source]
    load = by_source["api:confy.load"]  # under its public name, with its documented facts
    assert load.text.startswith("`confy.load(path: str, *, env: bool = True, layers: list[str] | None = None)")
    assert "- `path`: Where the file is." in load.text and "`ValueError`: When the file is not valid TOML." in load.text
    assert "api:confy.loader.load" not in by_source
    example = next(p for p in index.passages if p.title == "Example 1: confy.load")
    assert 'load("app.toml")' in example.text
    snippets = {p.source: p for p in index.passages if p.source.startswith("file:")}
    assert set(snippets) == {"file:tests/test_confy.py:5", "file:tests/test_confy.py:15"}  # test_unrelated: no confy
    assert snippets["file:tests/test_confy.py:5"].text.startswith("```python\nimport confy\nfrom confy import load\n")
    assert snippets["file:tests/test_confy.py:15"].title == "tests/test_confy.py::TestDump.test_dump_hides_secrets"


def test_retrieval_excludes_the_page_and_drafts(tmp_path):
    root = write_site(tmp_path)
    grounding = load_grounding(root / "docs", root, "confy", (root / "src",), tmp_path / "store")
    for page in ("guides/caching.md", "guides/layers.md", "index.md"):
        for query in ("caching layers precedence", "zork backend YAML", "install layers library"):
            found = grounding.retriever.passages(page, query, "Overview", "")
            assert not [p for p in found if p.source.startswith(f"{page}#")]
            assert not [p for p in found if "zork" in p.text]
    found = grounding.retriever.passages("guides/caching.md", "Caching layers", "Precedence", "")
    assert found[0].source == "guides/layers.md#precedence"
    code = grounding.retriever.passages("guides/caching.md", "Caching layers", "Precedence", "", want_code=True)
    assert code[0].source.startswith(("api:", "file:")) and len(code) <= 4


def test_passages_fit_the_budget_and_keep_fences_closed():
    long_code = "```python\n" + "\n".join(f"value_{i} = load('file_{i}.toml')" for i in range(200)) + "\n```\n"
    passages = tuple(Passage(f"p{i}.md#s", f"Page {i}", f"load file toml {i}\n\n{long_code}") for i in range(6))
    from mkdocs_aigen.grounding.index import PassageIndex

    found = Retriever(PassageIndex(passages, None), k=4, budget=300, per_passage=120).passages(
        "x.md", "load toml file", "", "")
    assert 1 <= len(found) <= 4
    assert sum(estimate_tokens(f"[1] {p.title} ({p.source})\n\n{p.text}") for p in found) <= 300
    for passage in found:
        assert passage.text.count("```") % 2 == 0 and estimate_tokens(passage.text) <= 125
    assert trim("short text\n", 10) == "short text\n"
    assert estimate_tokens("配置文件") == 4 and estimate_tokens("abcdefgh") == 2


def test_warm_load_neither_rebuilds_nor_ranks_again(tmp_path, monkeypatch):
    root = write_site(tmp_path)
    store = tmp_path / "store"
    first = load_grounding(root / "docs", root, "confy", (root / "src",), store)
    answer = first.retriever.passages("guides/caching.md", "Caching layers", "Steps", "")
    first.save()
    stored = (store / INDEX_FILE).stat().st_mtime_ns
    warm = load_grounding(root / "docs", root, "confy", (root / "src",), store)
    assert not warm.rebuilt and (store / INDEX_FILE).stat().st_mtime_ns == stored
    assert warm.retriever.passages("guides/caching.md", "Caching layers", "Steps", "") == answer
    assert "ranker" not in warm.retriever.index.__dict__  # remembered ranking: bm25s not even built
    assert warm.inventory.resolve("confy.load").path == "confy.loader.load"

    (root / "docs" / "index.md").write_text("# Confy\n\n## Install\n\nChanged.\n")
    with monkeypatch.context() as patch:  # a page changed, the package did not: it is not read again
        patch.setattr("mkdocs_aigen.grounding.index.load_inventory", None)
        edited = load_grounding(root / "docs", root, "confy", (root / "src",), store)
    assert edited.rebuilt and "Changed." in {p.text.strip() for p in edited.retriever.index.passages}
    assert edited.inventory == warm.inventory
    (root / "src" / "confy" / "loader.py").write_text("def load(path):\n    pass\n")
    changed = load_grounding(root / "docs", root, "confy", (root / "src",), store)
    assert changed.rebuilt and changed.inventory.resolve("confy.load").signature == "load(path)"
    (store / INDEX_FILE).write_text('{"format": 1, "digest": "x", "site_passages": [[1]]}')  # damaged
    assert load_grounding(root / "docs", root, "confy", (root / "src",), store).rebuilt


def test_prompts_with_and_without_context(tmp_path):
    spec = StubSpec(topic="Caching layers", kind="how-to", code="python")
    kind = KindLibrary(None).get("how-to")
    context = (Passage("guides/layers.md#precedence", "Layers › Precedence", "Later layers win.\n"),
               Passage("api:confy.load", "confy.load", "`confy.load(path)`\n"))
    grounded = kind.section_prompt(spec, "Steps", context)
    assert "Context:\n\n[1] Layers › Precedence (guides/layers.md#precedence)\n\nLater layers win.\n" in grounded
    assert "[2] confy.load (api:confy.load)" in grounded
    assert grounded.index("Context:") < grounded.index("## Steps")
    plain = kind.section_prompt(spec, "Steps")
    assert "Context:" not in plain and plain.startswith("# Caching layers")
    assert "[1]" in kind.code_prompt(spec, "Steps", "Some prose.", context)

    user = tmp_path / "kinds"  # a user template from before grounding: its macros take no context
    user.mkdir()
    (user / "how-to.md.j2").write_text(
        "{% set outline = ['Steps'] %}{% macro section_prompt(page, heading) %}# {{ page.topic }}\n\n## {{ heading }}\n{% endmacro %}\n"
        "{% macro code_prompt(page, heading, prose) %}{{ prose }}\n```python\n{% endmacro %}\n")
    old = KindLibrary(user).get("how-to")
    assert old.section_prompt(spec, "Steps", context) == "# Caching layers\n\n## Steps\n"
    assert old.code_prompt(spec, "Steps", "Prose.", context).startswith("Prose.")


def project(root: Path, **options) -> Project:
    return Project(Settings.load({"package": "confy", **options}, root, root / "docs"))


def stub(project: Project):
    from mkdocs_aigen.drafting.stubs import load_stub

    path = project.settings.docs_dir / "guides" / "caching.md"
    return load_stub(path, "guides/caching.md", project.kinds)


def test_project_jobs_carry_context(tmp_path):
    root = write_site(tmp_path)
    grounded = project(root)
    jobs = grounded.jobs([stub(grounded)])
    assert [job.heading for job in jobs] == ["Example", "Troubleshooting"]  # Steps: present, if empty
    assert all(job.context for job in jobs)
    assert not [p for job in jobs for p in job.context if p.source.startswith("guides/caching.md#")]
    assert jobs[0].context[0].source.startswith(("api:", "file:"))  # an example gets signatures and snippets
    assert grounded.grounding.inventory.resolve("confy.Settings") is not None
    assert project(root, grounding=False).jobs([stub(grounded)])[0].context == ()


def test_unreadable_package_is_one_warning_and_ungrounded_jobs(tmp_path, caplog):
    root = write_site(tmp_path)
    broken = project(root, package="nosuchpkg_zz")
    with caplog.at_level(logging.WARNING):
        jobs = broken.jobs([stub(broken)])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "mkdocs.yml: plugins.aigen.package: 'nosuchpkg_zz'" in warnings[0]
    assert "ungrounded" in warnings[0] and jobs[0].context == ()


def test_example_site_retrieval_smoke(tmp_path):
    site = ROOT / "example_site"
    grounding = load_grounding(site / "docs", site, None, (site,), tmp_path / "store")
    found = grounding.retriever.passages("guides/caching.md", "Caching parsed files", "Steps", "cache_dir")
    assert found and not [p for p in found if p.source.startswith("guides/caching.md#")]
    assert any("cache_dir" in p.text for p in found)
    zh = grounding.retriever.passages("zh/env-override.md", "用环境变量覆盖配置", "步骤", "tidyconf.load env_prefix")
    assert zh and not [p for p in zh if p.source.startswith("zh/env-override.md#")]


@pytest.mark.parametrize("package", [None, "confy"])
def test_nothing_to_ground_in_is_none(tmp_path, package):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "stub.md").write_text("---\naigen:\n  topic: T\n---\n")
    if package:
        write_package(tmp_path)
    found = load_grounding(tmp_path / "docs", tmp_path, package, (tmp_path / "src",), tmp_path / "store")
    assert (found is None) == (package is None)
