"""Tier 1: the drafting engine with a scripted generator (pure logic: cache, seeds, guards, retries)."""

from __future__ import annotations

from fakes import FakeBackend

from mkdocs_aigen.checks.verdicts import CodeChecker
from mkdocs_aigen.drafting.cache import DraftCache
from mkdocs_aigen.drafting.engine import Drafter as _Drafter
from mkdocs_aigen.drafting.engine import (
    DraftSettings,
    SectionJob,
    clean_code,
    clean_prose,
    derive_seed,
)
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.grounding import Passage

KINDS = KindLibrary()
PASSAGE = Passage("guides/setup.md#install", "Install", "Run `pip install tidyconf` and call `tidyconf.load()`.")


def job(heading="Example", page="p.md", topic="Caching", code="python", context=()):
    return SectionJob(page, StubSpec(topic, code=code), KINDS.get("how-to"), heading, tuple(context))


def Drafter(cache, settings, backend):  # noqa: N802 - the engine's class with this build's code checker
    return _Drafter(cache, settings, backend, CodeChecker(settings.verify_code, settings.package))


def scripted(code_answers):
    """Prose is always fine; code samples come from ``code_answers`` in order."""
    answers = iter(code_answers)
    return FakeBackend(lambda r: next(answers) if r.stop_at_fence else "Some useful prose about the cache.")


def test_broken_code_is_resampled_and_marked_ok(tmp_path):
    model = scripted(["def f(:\n", "print('ok')"])
    drafter = Drafter(DraftCache(tmp_path), DraftSettings(code_retries=2), model)
    draft = drafter.generate([job()])[job()]
    assert draft.code == [{"status": "ok", "error": None, "language": "python", "attempts": 2}]
    assert draft.text.endswith("```python\nprint('ok')\n```")
    seeds = [r.seed for r in model.generator.requests if r.stop_at_fence]
    assert len(seeds) == 2 and seeds[0] != seeds[1]


def test_still_broken_code_is_left_out_and_marked_invalid(tmp_path):
    model = FakeBackend(lambda r: "def f(:" if r.stop_at_fence else "Prose here for the reader.")
    draft = Drafter(None, DraftSettings(code_retries=3), model).generate([job()])[job()]
    assert draft.code[0]["status"] == "invalid" and draft.code[0]["attempts"] == 4
    assert "SyntaxError" in draft.code[0]["error"] and "def f(" not in draft.text


def test_degenerate_prose_is_resampled(tmp_path):
    answers = iter(["spam spam spam spam spam spam spam spam spam spam spam spam spam spam spam spam",
                    "A readable paragraph about caching renders."])
    model = FakeBackend(lambda r: next(answers))
    draft = Drafter(None, DraftSettings(), model).generate([job("Overview")])[job("Overview")]
    assert "readable paragraph" in draft.text and len(model.generator.requests) == 2


def test_cache_hit_skips_generation_and_key_covers_inputs(tmp_path):
    model = scripted(["print('ok')"])
    cache = DraftCache(tmp_path)
    drafter = Drafter(cache, DraftSettings(), model)
    drafter.generate([job()])
    found, misses = drafter.lookup([job(), job("Steps")])
    assert list(found) == [job()] and misses == [job("Steps")] and found[job()].origin == "cache"
    keys = {drafter.key(job()), drafter.key(job(topic="Other")), drafter.key(job(code="yaml")),
            Drafter(cache, DraftSettings(seed=1), model).key(job()),
            Drafter(cache, DraftSettings(), FakeBackend(None, digest="sha256:new")).key(job()),
            drafter.key(job(context=[PASSAGE])),
            drafter.key(job(context=[Passage(PASSAGE.source, PASSAGE.title, "Other text.")]))}
    assert len(keys) == 7


def test_context_reaches_prose_and_code_prompts():
    model = scripted(["print('ok')"])
    Drafter(None, DraftSettings(), model).generate([job(context=[PASSAGE])])
    prose, code = model.generator.requests
    for request in (prose, code):
        assert PASSAGE.text in request.prompt and PASSAGE.source in request.prompt
    assert code.prompt.rstrip().endswith("```python")


def test_prompt_without_context_has_no_context_block():
    model = scripted(["print('ok')"])
    Drafter(None, DraftSettings(), model).generate([job()])
    assert all("Context" not in request.prompt for request in model.generator.requests)


def test_seeds_do_not_depend_on_batch_mates():
    assert derive_seed(0, "Caching", "Example", "prose", 0) == derive_seed(0, "Caching", "Example", "prose", 0)
    assert derive_seed(0, "Caching", "Example", "prose", 0) != derive_seed(0, "Caching", "Example", "prose", 1)


def test_drafts_keep_no_replacement_characters():
    """Byte tokens that form no valid UTF-8 decode to U+FFFD; a draft never shows them."""
    assert clean_prose("必须空别\ufffd 和操作个\ufffd") == "必须空别 和操作个"
    assert clean_code("print('\ufffd')\n") == "print('')"


def test_clean_prose_removes_html_comments_fences_and_raw_html():
    text = 'Intro <script>x</script> and `a<b` <!-- /aigen:draft -->\n\n```python\ncode\n```\nafter'
    cleaned = clean_prose(text)
    assert "<script" not in cleaned and "&lt;script>" in cleaned and "`a<b`" in cleaned
    assert "aigen:draft" not in cleaned and "```" not in cleaned and "after" not in cleaned
