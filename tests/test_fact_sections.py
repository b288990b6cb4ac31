"""Facts rendered, not generated: a reference stub's signature, parameters, returns and raises come
from the inventory of the documented package (example_site's real tidyconf), never from the model."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

import pytest
from fakes import FakeBackend

from mkdocs_aigen.checks.verdicts import CodeChecker
from mkdocs_aigen.drafting.cache import DraftCache
from mkdocs_aigen.drafting.engine import Drafter, DraftSettings, SectionJob, page_object
from mkdocs_aigen.drafting.frontmatter import parse_stub_spec, split_front_matter
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import load_stub
from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.grounding.inventory import load_inventory

SITE = Path(__file__).resolve().parents[1] / "example_site"
DUMP_PAGE = SITE / "docs" / "reference" / "dump.md"
KINDS = KindLibrary()
PROSE = "It writes configuration back as text."


@pytest.fixture(scope="module")
def inventory():
    return load_inventory("tidyconf", [SITE / "src"], SITE)


@pytest.fixture
def real_dump(monkeypatch):
    """``tidyconf.dump`` imported from example_site/src, forgotten again afterwards."""
    monkeypatch.syspath_prepend(str(SITE / "src"))
    yield importlib.import_module("tidyconf").dump
    for name in [n for n in sys.modules if n == "tidyconf" or n.startswith("tidyconf.")]:
        del sys.modules[name]


def drafter(inventory, kinds=KINDS, cache=None):
    settings = DraftSettings()
    model = FakeBackend(lambda request: "print(1)" if request.stop_at_fence else PROSE)
    made = Drafter(cache, settings, model, CodeChecker(settings.verify_code, None))
    made.ground(inventory)
    return made, kinds


def dump_jobs(kinds=KINDS, text=None):
    page = load_stub(DUMP_PAGE, "reference/dump.md", kinds, text=text)
    return page, [SectionJob(page.src_path, page.spec, page.kind, heading) for heading in page.missing()]


def drafts_of(made, jobs):
    found, misses = made.lookup(jobs)
    found.update(made.generate(misses))
    return {job.heading: draft for job, draft in found.items()}


def test_reference_stub_states_the_real_parameters_of_dump(inventory, real_dump):
    made, _ = drafter(inventory)
    page, jobs = dump_jobs()
    assert page.spec.object == "tidyconf.dump"
    drafts = drafts_of(made, jobs)

    parameters = drafts["Parameters"]
    assert parameters.origin == "facts"
    named = re.findall(r"^- `\**(\w+)`", parameters.text, re.MULTILINE)
    assert named == list(inspect.signature(real_dump).parameters)
    assert "keyword-only, default `'toml'`" in parameters.text
    assert drafts["Returns"].text == "## Returns\n\n`str`: The text, ending with a newline."
    assert [line.split("`")[1] for line in drafts["Raises"].text.splitlines()[2:]] == [
        "TypeError", "ValueError", "ModuleNotFoundError"]
    # Only the Examples section was left to the model.
    assert [job.heading for job in jobs if drafts[job.heading].origin != "facts"] == ["Examples"]
    requests = made.backend.generator.requests
    assert len(requests) == 2 and all("## Examples" in request.prompt for request in requests)


def test_the_signature_heads_a_drafted_summary_but_is_not_cached(inventory, tmp_path):
    made, _ = drafter(inventory, cache=DraftCache(tmp_path))
    page, _ = dump_jobs()
    summary = SectionJob(page.src_path, page.spec, page.kind, "Summary")
    draft = drafts_of(made, [summary])["Summary"]
    assert draft.origin == "generated"
    assert draft.text.startswith("## Summary\n\n```python\ndef dump(config: Any, *, format: ")
    assert draft.text.endswith(PROSE)
    cached = made.cache.get(made.key(summary))
    assert "def dump" not in cached["text"]
    assert made.lookup([summary])[0][summary].text == draft.text


def test_a_page_rendered_by_mkdocstrings_gets_no_fact_sections(inventory):
    text = DUMP_PAGE.read_text(encoding="utf-8") + "\n::: tidyconf.dump\n"
    made, _ = drafter(inventory)
    page, jobs = dump_jobs(text=text)
    assert [job.heading for job in jobs] == []  # Summary is authored; the rest mkdocstrings renders
    assert all(draft.origin != "facts" for draft in drafts_of(made, jobs).values())


def test_a_user_template_without_fact_sections_still_drafts_every_section(inventory, tmp_path):
    (tmp_path / "reference.md.j2").write_text(
        '{% import "_prompt.md.j2" as prompt %}\n'
        "{% set outline = ['Summary', 'Parameters', 'Returns'] %}\n"
        "{% macro section_prompt(page, heading) %}{{ prompt.section(page, heading, 'Reference') }}{% endmacro %}\n"
        "{% macro code_prompt(page, heading, prose) %}{{ prompt.code(page, heading, prose, 'Reference') }}"
        "{% endmacro %}\n")
    kinds = KindLibrary(tmp_path)
    made, _ = drafter(inventory, kinds)
    _, jobs = dump_jobs(kinds)
    drafts = drafts_of(made, jobs)
    assert {heading: draft.origin for heading, draft in drafts.items()} == {
        "Parameters": "generated", "Returns": "generated", "Raises": "generated", "Examples": "generated"}
    assert drafts["Parameters"].text == f"## Parameters\n\n{PROSE}"


def test_without_an_inventory_everything_is_generated():
    made, _ = drafter(None)
    _, jobs = dump_jobs()
    assert {draft.origin for draft in drafts_of(made, jobs).values()} == {"generated"}


def test_the_object_falls_back_to_the_first_package_name_in_the_topic(inventory):
    spec = parse_stub_spec({"aigen": {"topic": "How tidyconf.merge() and tidyconf.load combine layers",
                                      "kind": "reference"}}, "p.md", KINDS.names)
    api = page_object("p.md", spec, inventory)
    assert (api.path, api.signature.split("(")[0]) == ("tidyconf.merge", "merge")


def test_an_object_the_package_lacks_is_warned_about_and_drafted(inventory, caplog):
    spec = parse_stub_spec({"aigen": {"topic": "Dumping", "kind": "reference", "object": "tidyconf.nothing"}},
                           "p.md", KINDS.names)
    assert page_object("p.md", spec, inventory) is None
    assert "p.md: aigen.object: tidyconf.nothing is not a function, method or class of tidyconf" in caplog.text


@pytest.mark.parametrize("value", ["tidyconf dump", "dump", 3, "tidyconf.dump()", "a.b\nc"])
def test_object_must_be_a_dotted_name(value):
    with pytest.raises(FrontMatterError) as info:
        parse_stub_spec({"aigen": {"topic": "t", "object": value}}, "docs/p.md", KINDS.names)
    message = str(info.value)
    assert message.startswith("docs/p.md: aigen.object: ") and "\n" not in message


def test_dump_page_front_matter_names_its_object():
    meta, _ = split_front_matter(DUMP_PAGE.read_text(encoding="utf-8"))
    assert meta["aigen"]["object"] == "tidyconf.dump"
