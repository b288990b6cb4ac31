"""Grounded-shape pretraining documents, the prompt shape shared with the templates, Chinese manuals."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from mkdocs_aigen.cli.pretrain import packaged_kind_labels, parse_lang_dir
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.ml import package_corpus as pc
from mkdocs_aigen.ml.grounded_corpus import GroundedWriter, docstring_sections
from mkdocs_aigen.ml.pages import (
    html_pages,
    man_markdown,
    markdown_page,
    rst_to_markdown_headings,
)
from mkdocs_aigen.ml.prompt import Snippet, section_prompt

LABELS = packaged_kind_labels()
CJK = re.compile(r"[\u4e00-\u9fff]")


def cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(bool(CJK.match(c)) for c in letters) / max(1, len(letters))


@pytest.mark.parametrize("kind", ["how-to", "reference", "explanation", "tutorial", "blog-post"])
@pytest.mark.parametrize("notes,context,language", [
    ("", (), "en"),
    ("Mention load().", (Passage("guides/a.md#steps", "Steps", "Run it.\n"), Passage("api:p.f", "p.f", "`f(x)`")),
     "zh"),
])
def test_corpus_prompt_is_the_templates_prompt(kind, notes, context, language):
    spec = StubSpec(topic="Loading files", kind=kind, notes=notes, language=language)
    rendered = KindLibrary().get(kind).section_prompt(spec, "Steps", context)
    ours = section_prompt("Loading files", LABELS[kind], language, "Steps", notes=notes,
                          context=[Snippet(p.source, p.title, p.text) for p in context])
    assert ours == rendered


def _page(doc: str, group: str, title: str, sections: dict[str, str]):
    text = f"# {title}\n\n" + "".join(f"## {h}\n\n{t}\n\n" for h, t in sections.items())
    return markdown_page(doc, group, text, "how-to")


LOAD = "Call tidy.load(path) to read a config file; it returns a Config with every key checked. " * 3
SAVE = "Call tidy.save(config, path) to write the config back; comments are kept in place. " * 3


def test_section_documents_are_grounded_in_other_pages_with_a_distractor():
    writer = GroundedWriter(LABELS)
    other = _page("docs:sp/other/README.md", "sp/other", "Other", {"Colours": "Paint the widget red or blue. " * 6})
    list(writer.section_documents([other]))  # another group: its passages become distractors
    loading = _page("docs:sp/tidy/docs/loading.md", "sp/tidy", "Loading", {"Load a file": LOAD})
    saving = _page("docs:sp/tidy/docs/saving.md", "sp/tidy", "Saving", {"Save a file": SAVE, "Load it back": LOAD})
    api = [Snippet("api:tidy.load", "tidy.load", "`load(path)`\n\nRead a config file.")]
    documents = dict(writer.section_documents([loading, saving], api))
    text = documents["docs:sp/tidy/docs/loading.md#load-a-file"]
    prompt, _, body = text.partition("## Load a file\n\n")
    assert prompt.startswith("# Loading\n\n*How-to guide · en*\n\nContext:\n\n[1] ")
    sources = re.findall(r"^\[\d\] .* \((\S+)\)$", prompt, re.M)
    assert "tidy/docs/saving.md#load-it-back" in sources and "api:tidy.load" in sources
    assert not any("loading.md" in source for source in sources)  # the page's own text is never context
    assert "other/README.md#colours" in sources  # a distractor from another package
    assert body.strip() == LOAD.strip()


def test_api_documents_have_signature_and_code_as_context():
    source = '''def load(path, *, strict=True):
    """Read a config file and check every key.

    Args:
        path: the file to read, relative to the working directory.
        strict: refuse unknown keys instead of ignoring them.
    """
    with open(path) as handle:
        return parse(handle.read(), strict)


def parse(text, strict):
    """Parse config text into a dict of checked keys and values."""
    return dict(line.split("=", 1) for line in text.splitlines())
'''
    documents = dict(GroundedWriter(LABELS).api_documents("api:sp/tidy/io.py", "tidy.io", source, "sp/tidy"))
    summary = documents["api:sp/tidy/io.py#load#summary"]
    assert summary.startswith("# The tidy.io.load() function\n\n*Reference · en*\n\nContext:")
    assert "(api:tidy.io.load)\n\n```python\ndef load(path, *, strict=True):\n    with open(path)" in summary
    assert "`parse(text, strict)`" in summary  # another definition of the module
    assert summary.endswith("## Summary\n\nRead a config file and check every key.\n")
    assert "path: the file to read" in documents["api:sp/tidy/io.py#load#parameters"].split("## Parameters")[1]


def test_docstring_sections_follow_the_reference_outline():
    parts = dict(docstring_sections("Add two numbers and return their sum as an int.\n\nParameters\n----------\n"
                                    "a : int\n    the first number to add up\n\nReturns\n-------\nint\n    "
                                    "the sum of both of the numbers\n"))
    assert set(parts) == {"Summary", "Parameters", "Returns"}


HTML = """<html><head><title>x</title><style>p {}</style></head><body>
<div class="toc"><a href="#a">1.1. 目录项</a></div>
<h1 class="title">第 1 章 教程</h1>
<h2 class="title">1.1. 控制台基础</h2><p>启动系统之后，如果你没有安装图形界面，那么你会看到字符登录界面。</p>
<h3 class="title">1.1.1. shell 提示符</h3><p>假设你的主机名为 foo，那么登录提示符将如下所示。这是一个很长的句子，用来说明登录。</p>
<pre>foo login:</pre>
<h2 class="title">1.2. 文件系统</h2><h3>1.2.1. 文件</h3><p>在类 Unix 系统中，文件被组织到目录中，所有的文件都在一个树中。</p>
</body></html>"""

MAN = r""".\" DO NOT MODIFY THIS FILE!
.TH LS 1 2022年9月 "GNU coreutils 9.1" 用户命令
.SH 名称
ls \- 列出目录内容
.SH 描述
.PP
列出指定\(lq文件\(rq（默认为当前目录）的信息。如果没有指定 \fB\-\-sort\fP，则按字母排序项目。
.TP
\fB\-a\fP, \fB\-\-all\fP
不要忽略以点号起始的条目
.PP
如果标准输出是终端，则按列输出项目；否则每行输出一个项目，并按照名称排序。
"""


def test_html_manual_becomes_chinese_pages():
    pages = html_pages("manuals:lang0/ch01.zh-cn.html", "lang0", HTML, "explanation", "zh")
    assert [p.title for p in pages] == ["1.1. 控制台基础", "1.2. 文件系统"]
    first = pages[0]
    assert [h for h, _ in first.sections] == ["Overview", "1.1.1. shell 提示符"]
    assert "```\nfoo login:\n```" in first.sections[1][1] and "目录项" not in first.markdown
    assert first.language == "zh" and cjk_share(first.markdown) > 0.6


def test_man_page_groff_is_stripped_to_chinese_markdown():
    text = man_markdown(MAN)
    assert text.startswith("# LS(1)\n\n## 名称\n\nls - 列出目录内容\n\n## 描述\n")
    assert '"文件"' in text and "--sort" in text and "-a, --all" in text
    assert "\\f" not in text and "DO NOT MODIFY" not in text and ".TP" not in text
    assert cjk_share(text) > 0.6


@pytest.mark.skipif(not Path("/usr/share/man/zh_CN/man1/ls.1.gz").is_file(), reason="manpages-zh not installed")
def test_installed_chinese_man_page_reads_as_chinese():
    text = man_markdown(gzip.decompress(Path("/usr/share/man/zh_CN/man1/ls.1.gz").read_bytes()).decode())
    assert cjk_share(text) > 0.3 and "\\f" not in text


def test_rst_headings_become_markdown_headings():
    text = rst_to_markdown_headings("=====\nTitle\n=====\n\nIntro.\n\nUsage\n-----\n\nText.\n\nMore\n----\n")
    assert text.splitlines()[:1] == ["# Title"] and "## Usage" in text and "## More" in text


def _manual_tree(root: Path) -> Path:
    man = root / "man" / "man1"
    man.mkdir(parents=True)
    for name, command in (("ls", "列出目录内容"), ("cp", "复制文件和目录"), ("mv", "移动文件或重命名")):
        body = MAN.replace("LS", name.upper()).replace("ls \\-", f"{name} \\-").replace("列出目录内容", command)
        (man / f"{name}.1.gz").write_bytes(gzip.compress(body.encode()))
    (root / "man" / "ch01.zh-cn.html").write_text(HTML, encoding="utf-8")
    return root / "man"


def test_package_corpus_holds_grounded_and_chinese_documents(tmp_path):
    pkg = tmp_path / "pkgs" / "tidy"
    (pkg / "docs").mkdir(parents=True)
    (pkg / "docs" / "loading.md").write_text(f"# Loading\n\n## Load a file\n\n{LOAD}\n")
    (pkg / "docs" / "saving.md").write_text(f"# Saving\n\n## Save a file\n\n{SAVE}\n\n## Load it back\n\n{LOAD}\n")
    (pkg / "io.py").write_text('def load(path):\n    """Read a config file and check every key of it, strictly."""\n'
                               "    return open(path).read()\n")
    recipe = pc.CorpusRecipe(
        max_bytes=200_000, include_stdlib=False, include_site_packages=False, extra_dirs=(str(tmp_path / "pkgs"),),
        lang_dirs=(parse_lang_dir(f"zh={_manual_tree(tmp_path)}"),), kind_labels=LABELS, min_doc_chars=50,
        source_weights={source: 1.0 for source in pc.SOURCES},
    )
    documents = list(pc.iter_documents(recipe))
    by_source = {}
    for document in documents:
        by_source.setdefault(document.source, []).append(document)
    assert set(by_source) == set(pc.SOURCES)
    assert any("*Reference · zh*" in d.text and "Context:" in d.text for d in by_source["manual-sections"])
    assert all(cjk_share(d.text) > 0.4 for d in by_source["manuals"])
    grounded = next(d for d in by_source["sections"] if d.doc.endswith("loading.md#load-a-file"))
    assert "(tidy/docs/saving.md#load-it-back)" in grounded.text and "(api:tidy.io.load)" in grounded.text


def test_grounded_sources_need_the_templates_labels():
    with pytest.raises(AigenError, match="labels"):
        pc.CorpusRecipe(source_weights={"sections": 1.0})
    with pytest.raises(AigenError, match="--lang-dir"):
        parse_lang_dir("/usr/share/man/zh_CN")


def test_tokenizer_covers_chinese():
    from mkdocs_aigen.ml.model import train_tokenizer

    chinese = man_markdown(MAN) + "".join(p.markdown for p in html_pages("d", "g", HTML, "explanation", "zh"))
    english = f"# Loading\n\n{LOAD}\n{SAVE}\n"
    tokenizer = train_tokenizer([chinese * 3, english * 3] * 4, 600, 128)
    sentence = "启动系统之后，你会看到字符登录界面。"
    ids = tokenizer(sentence)["input_ids"]
    assert tokenizer.decode(ids) == sentence
    assert len(ids) < len(sentence.encode("utf-8")) / 2  # merged: fewer tokens than half its bytes
