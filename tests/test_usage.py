"""Code samples start from real usage (drafting.usage) and keep it when the model's tail breaks."""

from __future__ import annotations

from fakes import FakeBackend

from mkdocs_aigen.checks.verdicts import CodeChecker
from mkdocs_aigen.drafting.engine import Drafter, DraftSettings, SectionJob
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.usage import MAX_START_LINES, usage_start, valid_prefix
from mkdocs_aigen.grounding import Passage

PROSE = Passage("guides/merging.md#steps", "Merging › Steps", "Merge them:\n\n```bash\ntidyconf show\n```\n")
API = Passage("api:tidyconf.load", "Example 1: tidyconf.load",
              "```python\nimport tidyconf\nconfig = tidyconf.load('app.toml')\n```\n")
BROKEN = Passage("file:src/tests/test_x.py:3", "test", "```python\ndef f(:\n```\n")


def test_the_first_block_in_the_samples_language_is_the_start():
    assert usage_start("python", [PROSE, BROKEN, API]) == "import tidyconf\nconfig = tidyconf.load('app.toml')"
    assert usage_start("bash", [API, PROSE]) == "tidyconf show"
    assert usage_start("python", [PROSE]) == ""
    assert usage_start("rust", [API]) == ""


def test_a_long_start_is_cut_where_it_still_compiles():
    body = "\n".join(f"x{i} = {i}" for i in range(40))
    start = usage_start("python", [Passage("file:a.py:1", "a", f"```python\n{body}\n```\n")])
    assert start.count("\n") + 1 == MAX_START_LINES
    compile(start, "<start>", "exec")


def test_a_broken_tail_is_cut_back_but_the_start_is_kept():
    start = "import tidyconf\nconfig = tidyconf.load('app.toml')"
    assert valid_prefix("python", start, start + "\nprint(config)\ndef broken(:") == start + "\nprint(config)"
    assert valid_prefix("python", start, start + "\nprint(config)") == start + "\nprint(config)"
    assert valid_prefix("bash", "ls", "ls\n((") == "ls\n(("
    assert valid_prefix("python", "", "def f(:") == "def f(:"


def test_the_engine_asks_the_model_to_continue_real_usage():
    kinds = KindLibrary()
    job = SectionJob("guides/setup.md", StubSpec("Loading settings", code="python"), kinds.get("how-to"),
                     "Example", (API,))
    model = FakeBackend(lambda r: "print(config.debug)\nfor (:\n" if r.stop_at_fence else "Load it.")
    draft = Drafter(None, DraftSettings(), model, CodeChecker("syntax", "tidyconf")).generate([job])[job]
    code_request = next(r for r in model.generator.requests if r.stop_at_fence)
    assert code_request.prompt.endswith("```python\nimport tidyconf\nconfig = tidyconf.load('app.toml')\n")
    assert "```python\nimport tidyconf\nconfig = tidyconf.load('app.toml')\nprint(config.debug)\n```" in draft.text
    assert draft.code[0]["status"] == "ok" and draft.code[0]["attempts"] == 1
