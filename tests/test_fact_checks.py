"""Fact checks after drafting (grounding.facts), invented imports in the code check, and the engine
leaving broken samples out (unit: strings and a scripted backend)."""

from __future__ import annotations

import json

from fakes import FakeBackend

from mkdocs_aigen.checks.code import check_code
from mkdocs_aigen.checks.verdicts import CodeChecker
from mkdocs_aigen.drafting.cache import DraftCache
from mkdocs_aigen.drafting.engine import Drafter, DraftSettings, SectionJob
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.grounding.facts import KnownFacts, check_facts, urls_in

KNOWN = KnownFacts(
    package="tidyconf",
    names=frozenset({"tidyconf.load", "tidyconf.Config", "tidyconf.Config.get", "tidyconf.errors.ConfigError",
                     "tidyconf.ConfigError"}),
    modules=frozenset({"tidyconf", "tidyconf.errors", "tidyconf.loader"}),
    pages=frozenset({"index.md", "guides/caching.md", "reference/load.md", "img/logo.png", "api/index.md"}),
    urls=frozenset({"https://tidyconf.example.org/docs", "https://pypi.org/project/tidyconf/"}),
)


def facts_of(markdown: str, page: str = "guides/setup.md") -> dict:
    return check_facts(markdown, page, KNOWN)[1]


def test_resolution_counts_aliases_modules_and_attributes_of_known_objects():
    assert KNOWN.resolves("tidyconf.ConfigError")  # an alias (re-export)
    assert KNOWN.resolves("tidyconf.loader")  # a module
    assert KNOWN.resolves("tidyconf.Config.some_field")  # attribute access on a known class
    assert not KNOWN.resolves("tidyconf.commit")
    assert not KNOWN.resolves("tidyconf.errors.Oops")
    assert not KNOWN.resolves("tidyconf.nowhere.thing")


def test_references_in_fences_and_code_spans():
    draft = (
        "## Steps\n\nCall `tidyconf.load(path)` then `tidyconf.PrettyOptimization`; read `cfg.database.url`.\n\n"
        "```python\nimport tidyconf.loader\nfrom tidyconf import Config, commit\nfrom tidyconf.errors import Oops\n"
        "cfg = tidyconf.load('a.toml')\nprint(cfg.database.url, Config.get(cfg, 'x'))\n```\n"
    )
    facts = facts_of(draft)
    assert facts["unresolved_names"] == ["tidyconf.PrettyOptimization", "tidyconf.commit", "tidyconf.errors.Oops"]
    # load (twice), PrettyOptimization, tidyconf.loader, Config, commit, Oops, Config.get
    assert (facts["references"], facts["resolved"], facts["unresolved"]) == (8, 5, 3)
    assert facts["invented_modules"] == [] and facts["links_dropped"] == 0


def test_no_package_means_no_references():
    unknown = KnownFacts(None, frozenset(), frozenset(), KNOWN.pages, KNOWN.urls)
    assert check_facts("Use `tidyconf.load()`.", "index.md", unknown)[1]["references"] == 0


def test_imports_of_modules_that_exist_nowhere_are_listed():
    draft = ("Try `import higfile` or `from json import loads`.\n\n```python\nimport os, yaml\n"
             "from higfile import commit\nimport tidyconf\n```\n\n```pycon\n>>> import prettyoptim\n```\n")
    assert facts_of(draft)["invented_modules"] == ["higfile", "prettyoptim"]


def test_dead_links_become_plain_text_and_are_counted():
    draft = (
        "See [caching](caching.md#steps), [the API](../reference/load.md), [api](../api/), "
        "[this part](#steps) and [the logo](../img/logo.png).\n"
        "Not [the glossary](../lossary#server.md), [a page](missing.md), "
        "[outside](../../etc.md), [proxy](https://github.com/proxyWEG) or [site](/nope.md).\n"
        "Known: [docs](https://tidyconf.example.org/docs#intro), [pypi](https://pypi.org/project/tidyconf).\n"
        "Code is untouched: `[x](missing.md)`.\n\n```markdown\n[y](missing.md)\n```\n"
    )
    text, facts = check_facts(draft, "guides/setup.md", KNOWN)
    assert facts["links_dropped"] == 5
    for kept in ("[caching](caching.md#steps)", "[the API](../reference/load.md)", "[api](../api/)",
                 "[this part](#steps)", "[the logo](../img/logo.png)", "(https://tidyconf.example.org/docs#intro)",
                 "(https://pypi.org/project/tidyconf)", "`[x](missing.md)`", "[y](missing.md)\n```"):
        assert kept in text, kept
    assert "Not the glossary, a page, outside, proxy or site.\n" in text


def test_urls_in_sources():
    assert urls_in("See https://a.org/x. and (https://b.org/y) <https://c.org>") == {
        "https://a.org/x", "https://b.org/y", "https://c.org"}


def test_syntax_check_rejects_imports_of_modules_that_exist_nowhere():
    verdict = check_code("python", "import os\nfrom higfile import commit, PrettyOptimization\n", "syntax",
                         package="tidyconf")
    assert verdict.status == "invalid" and verdict.error == "ModuleNotFoundError: No module named 'higfile' (line 2)"
    fine = "import json, yaml\nimport tidyconf.loader\nfrom tidyconf import load\nfrom . import sibling\n"
    assert check_code("python", fine, "syntax", package="tidyconf").status == "ok"
    assert check_code("pycon", ">>> import higfile\n", "syntax").status == "invalid"


KINDS = KindLibrary()


def job(code="python"):
    return SectionJob("guides/setup.md", StubSpec("Loading settings", code=code), KINDS.get("how-to"), "Example")


def test_a_sample_still_invalid_is_left_out_with_a_note(tmp_path):
    model = FakeBackend(lambda r: "def f(:\n" if r.stop_at_fence else "Load the file first.")
    settings = DraftSettings(code_retries=2)
    cache = DraftCache(tmp_path)
    drafter = Drafter(cache, settings, model, CodeChecker(settings.verify_code, settings.package))
    draft = drafter.generate([job()])[job()]
    assert "```" not in draft.text and "def f(" not in draft.text
    assert draft.text.endswith("*A python sample was left out: it was still invalid after 3 attempts "
                               "(`SyntaxError: invalid syntax (line 1)`).*")
    assert draft.omitted == [{"language": "python", "reason": "SyntaxError: invalid syntax (line 1)", "attempts": 3}]
    assert draft.code[0]["status"] == "invalid" and draft.code[0]["published"] is False
    cached = drafter.lookup([job()])[0][job()]
    assert (cached.text, cached.code, cached.omitted) == (draft.text, draft.code, draft.omitted)


def test_facts_check_drafts_and_requests_carry_names(tmp_path):
    prose = "Call `tidyconf.load()`, not `tidyconf.commit()`; see [setup](missing.md)."
    model = FakeBackend(lambda r: "from tidyconf import load\nload('a.toml')" if r.stop_at_fence else prose)
    cache = DraftCache(tmp_path)
    drafter = Drafter(cache, DraftSettings(), model, CodeChecker("syntax", "tidyconf"))
    drafter.ground(None, lambda: KNOWN, KNOWN.names | KNOWN.modules)
    draft = drafter.generate([job()])[job()]
    assert {r.names for r in model.generator.requests} == {KNOWN.names | KNOWN.modules}
    assert "see setup." in draft.text and "](missing.md)" not in draft.text
    assert draft.facts == {"references": 3, "resolved": 2, "unresolved": 1, "links_dropped": 1,
                           "unresolved_names": ["tidyconf.commit"], "invented_modules": []}
    assert drafter.lookup([job()])[0][job()].facts == draft.facts
    plain = Drafter(cache, DraftSettings(), model, CodeChecker("syntax", "tidyconf"))
    assert plain.key(job()) != drafter.key(job())  # the names decide the decoding


def test_cache_entries_from_before_facts_still_load(tmp_path):
    cache = DraftCache(tmp_path)
    drafter = Drafter(cache, DraftSettings(), FakeBackend(None), CodeChecker("syntax", None))
    key = drafter.key(job())
    cache.path(key).parent.mkdir(parents=True)
    cache.path(key).write_text(json.dumps({"key": key, "text": "## Example\n\nOld.", "code": [], "tokens": 3}))
    found = drafter.lookup([job()])[0][job()]
    assert (found.text, found.facts, found.omitted) == ("## Example\n\nOld.", {}, [])
    cache.path(key).write_text(json.dumps({"key": key, "text": "x", "code": [], "tokens": 3, "facts": []}))
    assert drafter.lookup([job()])[0] == {}  # a facts field of the wrong type is a corrupt entry
