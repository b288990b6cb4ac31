"""Tier 1: pure logic of the core (no mkdocs, no torch)."""

from __future__ import annotations

import sys

import pytest

from mkdocs_aigen.authoring.status import SectionReview
from mkdocs_aigen.drafting.cache import DraftCache, cache_key
from mkdocs_aigen.drafting.frontmatter import (
    StubSpec,
    parse_stub_spec,
    split_front_matter,
)
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import compose, load_stub
from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.markdown import split_sections
from mkdocs_aigen.markers import find_regions, strip_comments, wrap
from mkdocs_aigen.plugin.render import mark_drafts, sanitize

KINDS = ("how-to", "reference", "tutorial", "explanation", "blog-post")


@pytest.mark.parametrize(
    "block, key",
    [
        ({"kind": "how-to"}, "aigen.topic"),
        ({"topic": "T", "kind": "essay"}, "aigen.kind"),
        ({"topic": "T", "sections": "Overview"}, "aigen.sections"),
        ({"topic": 3}, "aigen.topic"),
        ({"topic": "T", "colour": "red"}, "aigen.colour"),
        ("just a string", "aigen"),
    ],
)
def test_bad_front_matter_names_file_and_key(block, key):
    with pytest.raises(FrontMatterError) as caught:
        parse_stub_spec({"aigen": block}, "docs/guide.md", KINDS)
    message = str(caught.value)
    assert message.startswith(f"docs/guide.md: {key}:")
    assert "\n" not in message


def test_valid_front_matter_and_defaults():
    spec = parse_stub_spec({"aigen": {"topic": " Cache ", "sections": ["A", "B"], "code": "YAML"}}, "x.md", KINDS)
    assert spec == StubSpec(topic="Cache", kind="how-to", sections=("A", "B"), code="yaml", notes="")
    assert parse_stub_spec({"title": "no stub"}, "x.md", KINDS) is None


def test_split_front_matter_crlf_and_bom():
    meta, start = split_front_matter("\ufeff---\r\ntitle: T\r\n---\r\nBody")
    assert meta == {"title": "T"}


def test_sections_ignore_headings_in_fences():
    body = "# T\n\n## One\n\n```\n## not a heading\n```\n\n### Sub\n\n## Two\ntext\n"
    _, sections = split_sections(body)
    assert [s.heading for s in sections] == ["One", "Two"]
    assert "### Sub" in body[sections[0].start:sections[0].end]


def test_every_packaged_kind_renders_prompts():
    library = KindLibrary()
    assert set(KINDS) <= set(library.names)
    spec = StubSpec(topic="Caching", notes="Mention cache_dir.")
    for name in KINDS:
        kind = library.get(name)
        assert kind.outline
        prompt = kind.section_prompt(spec, kind.outline[0])
        assert prompt.startswith("# Caching\n") and prompt.endswith(f"## {kind.outline[0]}\n\n")
        assert "Mention cache_dir." in prompt
        assert kind.code_prompt(spec, kind.outline[0], "Prose.").endswith("Prose.\n\n```python\n")


def test_user_templates_override_and_add_kinds(tmp_path):
    (tmp_path / "faq.md.j2").write_text(
        '{% import "_prompt.md.j2" as prompt %}{% set outline = ["Question"] %}'
        "{% macro section_prompt(page, heading) %}Q: {{ page.topic }}{% endmacro %}"
        "{% macro code_prompt(page, heading, prose) %}{% endmacro %}"
    )
    library = KindLibrary(tmp_path)
    assert "faq" in library.names and "how-to" in library.names
    assert library.get("faq").section_prompt(StubSpec("Why"), "Question") == "Q: Why"


def test_user_template_without_context_renders_when_context_is_given(tmp_path):
    from mkdocs_aigen.grounding import Passage

    (tmp_path / "faq.md.j2").write_text(
        '{% set outline = ["Question"] %}'
        "{% macro section_prompt(page, heading) %}Q: {{ page.topic }}{% endmacro %}"
        "{% macro code_prompt(page, heading, prose) %}{{ prose }}{% endmacro %}"
    )
    (tmp_path / "cited.md.j2").write_text(
        '{% set outline = ["Question"] %}'
        "{% macro section_prompt(page, heading, context=()) %}{{ context|map(attribute='source')|join(',') }}"
        "{% endmacro %}{% macro code_prompt(page, heading, prose, context=()) %}{% endmacro %}"
    )
    library = KindLibrary(tmp_path)
    passages = [Passage("a.md#x", "X", "Text."), Passage("api:pkg.f", "f", "def f(): ...")]
    assert library.get("faq").section_prompt(StubSpec("Why"), "Question", passages) == "Q: Why"
    assert library.get("faq").code_prompt(StubSpec("Why"), "Question", "P.", passages) == "P."
    assert library.get("cited").section_prompt(StubSpec("Why"), "Question", passages) == "a.md#x,api:pkg.f"


STUB = "---\ntitle: T\naigen:\n  topic: Caching\n  kind: how-to\n---\n# Caching\n\nIntro.\n\n## STEPS\n\nMine, *exactly*.\n"


def test_compose_keeps_authored_bytes_and_outline_order():
    page = load_stub("x.md", "x.md", KindLibrary(), text=STUB)
    assert page.missing() == ["Overview", "Example", "Troubleshooting"]
    out = compose(page, {h: f"## {h}\n\nDraft of {h}." for h in page.missing()})
    # Removing the inserted regions gives back the original bytes (modulo the blank lines around them).
    regions = find_regions(out)
    assert [r.section for r in regions] == ["overview", "example", "troubleshooting"]
    assert out.index("Draft of Overview") < out.index("## STEPS") < out.index("Draft of Example")
    stripped = out
    for region in reversed(regions):
        stripped = stripped[: region.start] + stripped[region.end:]
    assert stripped.replace("\n", "") == STUB.replace("\n", "")
    assert load_stub("x.md", "x.md", KindLibrary(), text=out).missing() == []


def test_compose_crlf_keeps_line_endings():
    page = load_stub("x.md", "x.md", KindLibrary(), text=STUB.replace("\n", "\r\n"))
    out = compose(page, {"Overview": "## Overview\n\nLine one.\nLine two."})
    assert "\n" not in out.replace("\r\n", "")
    assert out.startswith(STUB.replace("\n", "\r\n")[: page.body_start])


def test_markers_detect_edits():
    text = wrap("## A\n\nGenerated.", "a")
    assert not find_regions(text)[0].edited
    assert find_regions(text.replace("Generated.", "Edited by me."))[0].edited
    assert find_regions("<!-- aigen:draft section=\"a\" digest=\"x\" -->\nno end") == []


def test_untrusted_text_cannot_forge_markers():
    assert "<!--" not in strip_comments("a <!-- /aigen:draft --> b <!-- open")


def test_sanitize_strips_script_vectors():
    dirty = ('<p onclick="x()">a</p><script>alert(1)</script><iframe src="x"></iframe><object data="y"></object>'
             '<a href="javascript:alert(1)">l</a><img src="i.png" onerror="alert(1)"><h2 id="k">K</h2>')
    clean = sanitize(dirty)
    for bad in ("<script", "<iframe", "<object", "onclick", "onerror", "javascript:"):
        assert bad not in clean
    assert '<h2 id="k">K</h2>' in clean


def test_mark_drafts_wraps_regions_in_order():
    html = ('<p>a</p><!-- aigen:draft section="one" digest="d" --><h2>One</h2><p>x</p><!-- /aigen:draft -->'
            '<!-- aigen:draft section="two" digest="d" --><p>y</p><!-- /aigen:draft -->')
    out = mark_drafts(html, [SectionReview("One", "one", "drafted"),
                             SectionReview("Two", "two", "edited", [{"status": "invalid", "error": "E"}])])
    assert out.count('class="aigen-draft"') == 2 and "aigen:draft" not in out
    assert 'data-aigen-status="edited"' in out and 'data-aigen-code="invalid"' in out and "E</p>" in out
    assert out.index('data-aigen-status="drafted" data-aigen-section="one"') < out.index('data-aigen-section="two"')


def test_cache_roundtrip_and_corrupt_entry(tmp_path, caplog):
    cache = DraftCache(tmp_path)
    key = cache_key({"topic": "T", "seed": 1})
    assert key != cache_key({"topic": "T", "seed": 2})
    cache.put(key, {"text": "## A\n\nB", "code": [], "tokens": 3})
    assert cache.get(key)["text"] == "## A\n\nB"
    cache.path(key).write_text("{not json")
    assert cache.get(key) is None
    assert "corrupt cache entry" in caplog.text
    verdicts = DraftCache(tmp_path / "verdicts", {"status": str, "language": str})
    verdicts.put(key, {"status": "ok", "language": "python"})
    assert verdicts.get(key)["status"] == "ok"
    verdicts.put(key, {"status": "ok", "text": "a draft's shape is not a verdict's"})
    assert verdicts.get(key) is None


@pytest.mark.build
def test_plugin_imports_no_torch_and_ml_imports_no_mkdocs():
    import subprocess

    def loaded(modules: str, watched: tuple[str, ...]) -> str:
        code = f"import sys, {modules}; print(sorted(m for m in {watched!r} if m in sys.modules))"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert loaded("mkdocs_aigen.plugin, mkdocs_aigen.project, mkdocs_aigen.cli", ("torch", "transformers")) == "[]"
    ml = "mkdocs_aigen.ml.backends.local, mkdocs_aigen.ml.train, mkdocs_aigen.ml.corpus, mkdocs_aigen.ml.pretrain"
    assert loaded(ml, ("mkdocs", "mkdocs_aigen.project", "mkdocs_aigen.plugin")) == "[]"


@pytest.mark.build
def test_sandboxed_verdicts_of_embedded_drafts_are_cached(tmp_path):
    from mkdocs_aigen.project import Project
    from mkdocs_aigen.settings import Settings

    def project():
        return Project(Settings.load({"cache_dir": "cache", "verify_code": "run"}, tmp_path, tmp_path / "docs"))

    draft = "## Example\n\n```python\nprint(1 / 0)\n```"
    first = project().check_blocks(draft)
    assert first[0]["status"] == "invalid" and "ZeroDivisionError" in first[0]["error"]
    entries = list((tmp_path / "cache" / "verdicts").rglob("*.json"))
    assert len(entries) == 1
    assert project().check_blocks(draft) == first
    assert [e.stat().st_mtime_ns for e in (tmp_path / "cache").rglob("*.json")] == [entries[0].stat().st_mtime_ns]
