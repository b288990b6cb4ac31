"""The fine-tuning corpus: prompt shape, draft exclusion, deterministic split by document, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mkdocs_aigen.cli import main as cli_main
from mkdocs_aigen.cli.config_file import load_settings
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.markers import wrap
from mkdocs_aigen.ml import corpus
from mkdocs_aigen.ml.corpus import (
    Example,
    build_corpus,
    deduplicate,
    read_examples,
    split_documents,
)
from mkdocs_aigen.site_corpus import (
    build_site_corpus,
    guess_kind,
    page_examples,
    python_examples,
)

SECRET = "ZEBRA-DRAFT-7731"

STUB = f"""---
title: Caching
aigen:
  topic: "How the cache works"
  kind: how-to
  code: python
  notes: "Mention clear_cache()."
---

# Caching

## Overview

The cache keeps parsed files in memory, keyed by path and modification time.

{wrap(f"## Steps{chr(10)}{chr(10)}Unreviewed draft text {SECRET}.", "steps")}

<!-- aigen:draft section="example" digest="sha256:edited" -->
## Example

An edited draft that was never approved: {SECRET}.
<!-- /aigen:draft -->
"""

GUIDE = """# Reading files

Some words before the first section.

## Load a file

Call `load()`:

```yaml
site_name: demo
```

## Errors

`load()` raises `FileNotFoundError` when the file is missing.
"""

MODULE = '''"""Helpers for reading configuration."""


def load(path, *, strict=True):
    """Read the file at ``path`` and return its data."""
    with open(path) as handle:
        return handle.read()


class Loader:
    """Loads files, caching them."""

    def _private(self):
        """Not documented."""
'''


@pytest.fixture(scope="module")
def kinds() -> KindLibrary:
    return KindLibrary()


def make_site(root: Path, pages: dict[str, str], extra: str = "") -> Path:
    """A site dir with mkdocs.yml and the given pages; returns the config file."""
    for name, text in pages.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text, encoding="utf-8")
    config = root / "mkdocs.yml"
    config.write_text(f"site_name: t\nplugins:\n  - aigen:\n      generate: off\n{extra}", encoding="utf-8")
    return config


def shard_paths(corpus_dir: Path) -> list[Path]:
    shards = json.loads((corpus_dir / "manifest.json").read_text())["shards"]
    return [corpus_dir / name for split in corpus.SPLITS for name in shards[split]]


def all_corpus_text(corpus_dir: Path) -> str:
    return "".join(path.read_text(encoding="utf-8") for path in shard_paths(corpus_dir))


def test_examples_have_the_plugin_prompt_shape(kinds):
    examples = page_examples(GUIDE, "guides/reading.md", "page:guides/reading.md", kinds)
    spec = StubSpec(topic="Reading files", kind="how-to", code="yaml")
    how_to = kinds.get("how-to")
    assert [(e.prompt, e.completion.splitlines()[0]) for e in examples] == [
        (how_to.section_prompt(spec, "Introduction"), "Some words before the first section."),
        (how_to.section_prompt(spec, "Load a file"), "Call `load()`:"),
        (how_to.section_prompt(spec, "Errors"), "`load()` raises `FileNotFoundError` when the file is missing."),
    ]
    assert "```yaml\nsite_name: demo\n```" in examples[1].completion


def test_stub_contributes_only_authored_sections(kinds):
    examples = page_examples(STUB, "guides/caching.md", "page:guides/caching.md", kinds)
    spec = StubSpec(topic="How the cache works", kind="how-to", notes="Mention clear_cache().")
    assert [e.prompt for e in examples] == [kinds.get("how-to").section_prompt(spec, "Overview")]
    assert examples[0].source == "stub"
    assert all(SECRET not in e.completion and SECRET not in e.prompt for e in examples)


@pytest.mark.parametrize("path, kind", [
    ("blog/posts/release.md", "blog-post"), ("reference/api.md", "reference"), ("tutorials/first.md", "tutorial"),
    ("guides/cache.md", "how-to"), ("how-to/x.md", "how-to"), ("concepts/layers.md", "explanation"),
    ("index.md", "explanation"), ("reference.md", "explanation"),
])
def test_kind_is_guessed_from_folders(path, kind):
    assert guess_kind(path) == kind


def test_python_docstrings_and_code_become_examples(kinds):
    examples = python_examples(MODULE, "pkg.io", "extra:src/pkg/io.py", kinds)
    overview, function, cls = examples
    assert overview.prompt == kinds.get("explanation").section_prompt(
        StubSpec(topic="The pkg.io module", kind="explanation", code="python"), "Overview")
    assert overview.completion == "Helpers for reading configuration.\n"
    assert function.prompt == kinds.get("reference").section_prompt(
        StubSpec(topic="The pkg.io.load() function", kind="reference", code="python"), "Summary")
    assert function.completion.startswith("Read the file at ``path`` and return its data.\n\n```python\n"
                                          "def load(path, *, strict=True):\n    with open(path)")
    assert '"""' not in function.completion
    assert cls.completion == "Loads files, caching them.\n" and cls.source == "docstring"
    assert not any("_private" in e.prompt for e in examples)


def test_split_is_deterministic_and_disjoint(tmp_path):
    examples = [Example(f"doc{i}", "page", f"prompt {i}", f"completion {i} {j}") for i in range(40) for j in range(3)]
    first = build_corpus(examples, tmp_path / "a")
    second = build_corpus(sorted(examples, key=lambda e: e.doc, reverse=True), tmp_path / "b")  # other doc order
    assert first["digest"] == second["digest"]
    assert [p.name for p in shard_paths(tmp_path / "a")] == [p.name for p in shard_paths(tmp_path / "b")]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(shard_paths(tmp_path / "a"), shard_paths(tmp_path / "b")))
    train = {e.doc for e in read_examples(tmp_path / "a", "train")}
    validation = {e.doc for e in read_examples(tmp_path / "a", "validation")}
    assert train and validation and not train & validation
    assert train | validation == {f"doc{i}" for i in range(40)}
    # adding documents never moves an existing one (beyond the tiny-corpus guarantee)
    bigger = split_documents([f"doc{i}" for i in range(80)])
    assert {d for d in bigger if d in train | validation and bigger[d] == "validation"} == validation


def test_tiny_corpus_still_has_a_validation_document(tmp_path):
    for ids in (["a", "b"], ["only-two", "docs"], ["x", "y", "z"]):
        split = split_documents(ids, 0.1)
        assert sorted(set(split.values())) == ["train", "validation"]
    assert split_documents(["alone"], 0.99) == {"alone": "train"}


def test_duplicates_are_dropped():
    examples = [Example("a", "page", "p1", "Same  text.\n"), Example("b", "page", "p2", "Same text.\n"),
                Example("b", "page", "p3", "Other.\n")]
    kept, dropped = deduplicate(examples)
    assert [e.prompt for e in kept] == ["p1", "p3"] and dropped == 1


def test_site_corpus_excludes_drafts_and_reads_feedback_and_extras(tmp_path):
    src = tmp_path / "src" / "pkg"
    src.mkdir(parents=True)
    (src / "io.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "notes.md").write_text("# Notes\n\n## Design\n\nWhy the cache exists.\n", encoding="utf-8")
    config = make_site(tmp_path, {"guides/caching.md": STUB, "guides/reading.md": GUIDE, "index.md": "# Home\n\nHi.\n"},
                       extra="      corpus_extra: [src, notes.md]\n")
    feedback = tmp_path / ".aigen" / "feedback"
    feedback.mkdir(parents=True)
    (feedback / "one.json").write_text(json.dumps({
        "version": 1, "page": "guides/caching.md", "topic": "How the cache works", "kind": "how-to",
        "section": "troubleshooting", "heading": "Troubleshooting",
        "draft": "## Troubleshooting\n\nOld.", "approved": "## Troubleshooting\n\nDelete the cache dir and retry.",
    }), encoding="utf-8")
    settings = load_settings(config)
    stats = build_site_corpus(settings)
    out = settings.work_dir / "corpus"
    text = all_corpus_text(out)
    assert SECRET not in text
    assert stats["token_unit"] in ("tokens", "words")
    assert set(stats["sources"]) == {"stub", "page", "feedback", "docstring", "code", "markdown"}
    examples = [e for split in corpus.SPLITS for e in read_examples(out, split)]
    (approved,) = [e for e in examples if e.source == "feedback"]
    spec = StubSpec(topic="How the cache works", kind="how-to", notes="Mention clear_cache().")
    assert approved.prompt == KindLibrary().get("how-to").section_prompt(spec, "Troubleshooting")
    assert approved.completion == "Delete the cache dir and retry.\n" and approved.doc == "page:guides/caching.md"
    assert {e.doc for e in examples if e.source in ("docstring", "code")} == {"extra:src/pkg/io.py"}
    assert stats["splits"]["validation"]["documents"] >= 1
    assert json.loads((out / "manifest.json").read_text())["digest"] == stats["digest"]


def test_missing_corpus_extra_names_the_key(tmp_path):
    config = make_site(tmp_path, {"index.md": "# Home\n\nHi.\n"}, extra="      corpus_extra: [nowhere]\n")
    with pytest.raises(AigenError, match=r"plugins\.aigen\.corpus_extra: .*nowhere does not exist"):
        build_site_corpus(load_settings(config))


def test_corpus_command_prints_stats(tmp_path, capsys):
    config = make_site(tmp_path, {"guides/caching.md": STUB, "guides/reading.md": GUIDE})
    assert cli_main(["corpus", "-f", str(config), "--validation-fraction", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert "corpus: 2 documents (1 train, 1 validation), 4 examples" in printed
    assert len(corpus.read_examples(tmp_path / ".aigen" / "corpus", "validation")) > 0
    assert corpus.read_stats(tmp_path / ".aigen" / "corpus")["validation_fraction"] == 0.5
