"""Site fine-tuning examples in the grounded prompt shape, and the page language in specs and prompts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import pytest

from mkdocs_aigen.cli.config_file import load_settings
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import load_stub, page_language
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.ml import corpus
from mkdocs_aigen.site_corpus import Grounding, build_site_corpus, page_examples

PAGES = {
    "guides/loading.md": "# Loading\n\n## Load a file\n\nCall `tidy.load(path)`; it checks every key.\n\n"
                         "## Errors\n\n`load()` raises `KeyError` for an unknown key.\n",
    "guides/saving.md": "# Saving\n\n## Save a file\n\nCall `tidy.save(config, path)`.\n",
    "zh/index.md": "---\nlang: zh\n---\n\n# 加载\n\n## 概述\n\n调用 `tidy.load` 读取配置文件。\n",
}


SAVE = Passage("guides/saving.md#save-a-file", "Save a file", "Call `tidy.save(config, path)`.")
OVERVIEW_ZH = Passage("zh/index.md#概述", "概述", "调用 `tidy.load` 读取配置文件。")
LOAD_API = Passage("api:tidy.load", "tidy.load", "`load(path)`")


class FixedRetriever:
    """A small ContextProvider: fixed passages per page, never the page's own."""

    RETRIEVED: ClassVar = {"guides/saving.md": (OVERVIEW_ZH, LOAD_API), "zh/index.md": (SAVE, LOAD_API),
                 "guides/loading.md": (SAVE, LOAD_API)}

    def __init__(self) -> None:
        self.calls: list[str] = []

    def passages(self, page, topic, heading, notes):
        self.calls.append(page)
        return self.RETRIEVED[page]


@pytest.fixture(scope="module")
def kinds() -> KindLibrary:
    return KindLibrary()


def test_page_sections_get_their_retrieved_context_and_a_distractor(kinds):
    provider = FixedRetriever()
    grounding = Grounding(provider)
    for src in ("guides/saving.md", "zh/index.md"):  # earlier pages: their passages become distractors
        page_examples(PAGES[src], src, f"page:{src}", kinds, grounding=grounding)
    examples = page_examples(PAGES["guides/loading.md"], "guides/loading.md", "page:guides/loading.md", kinds,
                             grounding=grounding)
    assert [e.completion.split("\n")[0] for e in examples] == [
        "Call `tidy.load(path)`; it checks every key.", "`load()` raises `KeyError` for an unknown key."]
    for example in examples:
        sources = re.findall(r"^\[\d\] .* \((\S+)\)$", example.prompt, re.M)
        # what was retrieved, and one distractor retrieved for another page, never the page itself
        assert sorted(sources) == sorted([SAVE.source, LOAD_API.source, OVERVIEW_ZH.source])
        assert example.completion.strip() not in example.prompt
    spec = StubSpec(topic="Loading", kind="how-to", code="none")
    first = examples[0]
    context = tuple(Passage(*m) for m in re.findall(r"^\[\d\] (.*) \((\S+)\)\n\n(.*?)\n\n(?=\[\d\]|## )",
                                                    first.prompt, re.M | re.S))
    context = tuple(Passage(p.title, p.source, p.text) for p in context)  # regex groups: title, source, text
    assert first.prompt == kinds.get("how-to").section_prompt(spec, "Load a file", context)
    assert provider.calls.count("guides/loading.md") == 2


def test_ungrounded_examples_keep_the_plain_shape(kinds):
    (example, _) = page_examples(PAGES["guides/loading.md"], "guides/loading.md", "page:x", kinds)
    assert "Context:" not in example.prompt and example.prompt.endswith("## Load a file\n\n")


def test_page_language_comes_from_front_matter_else_the_site(tmp_path, kinds):
    assert page_language({"lang": "zh"}, "en") == "zh" and page_language({"locale": "fr"}, "en") == "fr"
    assert page_language({"lang": 3}, "de") == "de"
    stub = "---\nlocale: zh\naigen:\n  topic: 缓存\n  kind: how-to\n---\n\n# 缓存\n"
    assert load_stub(tmp_path / "a.md", "a.md", kinds, text=stub).spec.language == "zh"
    plain = stub.replace("locale: zh\n", "")
    assert load_stub(tmp_path / "a.md", "a.md", kinds, text=plain, language="ja").spec.language == "ja"
    (example,) = page_examples(PAGES["zh/index.md"], "zh/index.md", "page:zh", kinds, language="en")
    assert "*Explanation · zh*" in example.prompt


def test_site_corpus_is_built_grounded_in_the_theme_language(tmp_path):
    for name, text in PAGES.items():
        (tmp_path / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "docs" / name).write_text(text, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\ntheme:\n  name: mkdocs\n  locale: de\n"
                                         "plugins:\n  - aigen:\n      generate: off\n", encoding="utf-8")
    settings = load_settings(tmp_path / "mkdocs.yml")
    build_site_corpus(settings, context=FixedRetriever(), validation_fraction=0.5)
    examples = [e for split in corpus.SPLITS for e in corpus.read_examples(settings.work_dir / "corpus", split)]
    assert all("Context:\n\n[1] " in e.prompt for e in examples if e.doc.startswith("page:"))
    languages = {e.doc: re.search(r"· (\w+)\*", e.prompt).group(1) for e in examples}
    assert languages == {"page:guides/loading.md": "de", "page:guides/saving.md": "de", "page:zh/index.md": "zh"}
    assert Path(settings.work_dir / "corpus" / "manifest.json").is_file()
