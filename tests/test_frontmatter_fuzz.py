"""Hostile front-matter: a generated corpus of stub pages, each one error line naming file and key
(or a page that parses), never a traceback, never slow; and a real build that carries on past them."""

from __future__ import annotations

import itertools
import json
import random
import re
import signal
from pathlib import Path

import pytest
from conftest import write_site
from test_build import mkdocs_build

from mkdocs_aigen.drafting.cache import cache_key
from mkdocs_aigen.drafting.frontmatter import MAX_CHARS, MAX_SECTIONS
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import load_stub
from mkdocs_aigen.errors import FrontMatterError, SettingsError
from mkdocs_aigen.settings import PACKAGED_MODEL, Settings

KINDS = KindLibrary()
SECONDS_PER_CASE = 5
KEYS = ("topic", "kind", "code", "notes")
ERROR_LINE = re.compile(r"docs/case\.md: (?P<key>[^:\s]+): \S")


def alias_bomb(levels: int, width: int, key: str) -> str:
    """``levels`` anchors each listing the previous one ``width`` times; ``key`` uses the last."""
    names = [f"l{i}" for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['x'] * width)}]"]
    lines += [f"{name}: &{name} [{', '.join(['*' + prev] * width)}]" for prev, name in itertools.pairwise(names)]
    body = f"  {key}: *{names[-1]}" if key != "sections" else f"  sections: *{names[-1]}"
    if key == "title":
        return "\n".join(lines) + f"\ntitle: *{names[-1]}\naigen:\n  topic: T\n"
    topic = "" if key == "topic" else "  topic: T\n"
    return "\n".join(lines) + f"\naigen:\n{topic}{body}\n"


def stub(key: str, value: str) -> str:
    """An ``aigen`` block with ``key`` set to the YAML ``value`` (and a topic unless that is the key)."""
    if key.startswith("sections"):
        return f"aigen:\n  topic: T\n  sections: {value}\n"
    topic = "" if key == "topic" else "  topic: T\n"
    return f"aigen:\n{topic}  {key}: {value}\n"


def random_value(rng: random.Random, depth: int = 0) -> str:
    """A random YAML flow value: scalars of many kinds, nested lists and mappings."""
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return json.dumps("".join(rng.choice("ab <>&\"'#{}[]:-|*!%@`\\\x00\x1b\u00e9\u4e2d")
                                  for _ in range(rng.randrange(12))))
    if choice == 1:
        return str(rng.randrange(-10**6, 10**6))
    if choice == 2:
        return rng.choice(["true", "null", "~", "1.5e3", ".nan", "2026-02-30", "2026-01-05", "0x1F", "''"])
    if choice == 3:
        return rng.choice(["how-to", "tutorial", "reference", "explanation", "blog-post", "none", "python"])
    if choice == 4:
        return json.dumps(rng.choice(["Overview", "A-B", "A B", "## x", "x ##", "<!-- -->", "\ud800", "é"]))
    if choice == 5:
        return rng.choice(["!!binary aGk=", "!!python/object:os.system x", "&a x", "*nope", "[", "{a: 1"])
    if choice in (6, 7):
        return "[" + ", ".join(random_value(rng, depth + 1) for _ in range(rng.randrange(4))) + "]"
    return "{" + ", ".join(f"{rng.choice(KEYS + ('sections', 'x'))}: {random_value(rng, depth + 1)}"
                           for _ in range(rng.randrange(4))) + "}"


def random_front_matter(rng: random.Random) -> str:
    keys = rng.sample(KEYS + ("sections", "extra", "title"), rng.randrange(1, 6))
    block = "".join(f"  {key}: {random_value(rng)}\n" for key in keys)
    return f"aigen:\n{block}" if rng.random() < 0.9 else f"aigen: {random_value(rng)}\n"


def corpus() -> list[tuple[str, str, str | None]]:
    """``(id, front-matter YAML, key the error must name or None when any outcome will do)``."""
    cases = []
    for levels in (3, 6, 9):
        for width in (9, 30):
            for key in ("topic", "kind", "code", "notes", "sections", "title"):
                cases.append((f"bomb-{levels}x{width}-{key}", alias_bomb(levels, width, key),
                              None if levels == 3 and width == 9 else ("title" if key == "title" else f"aigen.{key}")))
    controls = ["\\0", "\\x01", "\\a", "\\b", "\\v", "\\f", "\\r", "\\e[31m", "\\e]0;pwned\\a", "\\x7f", "\\x85",
                "\\x9b"]
    for key in (*KEYS, "sections"):
        for char in controls:
            value = f'"a{char}b"' if key != "sections" else f'["a{char}b"]'
            expected = "aigen.sections[0]" if key == "sections" else f"aigen.{key}"
            cases.append((f"control-{key}-{char}", stub(key, value), expected))
    for key in (*KEYS, "sections", "title"):
        for surrogate in ("\\ud800", "\\udfff", "\\udc00x"):
            value = f'"a{surrogate}b"'
            if key == "title":
                cases.append((f"surrogate-title-{surrogate}", f"title: {value}\naigen:\n  topic: T\n", "title"))
            else:
                cases.append((f"surrogate-{key}-{surrogate}", stub(key, value if key != "sections" else f"[{value}]"),
                              "aigen.sections" if key == "sections" else f"aigen.{key}"))
    for key in KEYS:
        for empty in ('""', "''", '" "', '"\\t"'):
            cases.append((f"empty-{key}-{empty}", stub(key, empty), f"aigen.{key}"))
        for wrong in ("3", "1.5", "true", "[a, b]", "{a: 1}", "2026-01-05", "!!binary aGk="):
            cases.append((f"type-{key}-{wrong}", stub(key, wrong), f"aigen.{key}"))
    for key in KEYS:
        for size in (MAX_CHARS[key] + 1, 100_000):
            cases.append((f"long-{key}-{size}", stub(key, "x" * size), f"aigen.{key}"))
    cases.append(("long-front-matter", stub("kind", "k" * 1_000_000), "front-matter"))
    cases.append(("long-sections", stub("sections", json.dumps([f"S{i}" for i in range(MAX_SECTIONS + 1)])),
                  "aigen.sections"))
    for sections in (["Overview", "Overview"], ["A-B", "A B"], ["Overview", "overview"], ["Set up", "Set-up"],
                     ["A_B", "A B"], ["Ünïcode", "Ünïcode"], ["x!", "x?"], ["Overview", " Overview "],
                     ["FAQ", "F.A.Q"], ["Step 1", "Step-1", "Step 2"], ["a", "b", "a"], ["C#", "C"]):
        cases.append((f"duplicate-{sections}", stub("sections", json.dumps(sections)), "aigen.sections"))
    for heading in ("Overview ##", "Overview #", "#", "##", "A\nB", "A\r\nB", "A\tB", "A <!-- /aigen:draft -->",
                    "<!-- aigen:draft -->", "x" * 201):
        cases.append((f"heading-{heading[:30]!r}", stub("sections", json.dumps([heading])), "aigen.sections"))
    for heading in ("C# basics", "#tags", "## Nested", "===", "---", "-", "* item", "> quote", "1. first", "    code",
                    "<img src=x onerror=alert(1)>", "a -->"):  # odd, but ``## heading`` reads back as it
        cases.append((f"heading-ok-{heading!r}", stub("sections", json.dumps([heading])), None))
    for broken in ("aigen: [", "aigen:\n  topic: 'unclosed\n", "aigen:\n\ttopic: T\n", "- aigen\n- topic\n",
                   "just text\n", "aigen:\n  topic: T\n  topic: U\n", "aigen: {topic: " + "[" * 3000 + "\n",
                   "aigen:\n  topic: " + "9" * 5000 + "\n", "date: 2026-13-45\naigen:\n  topic: T\n",
                   "aigen:\n  topic: !!python/object/apply:os.system [echo]\n", "aigen:\n  ? [a, b]\n  : c\n",
                   "aigen:\n  topic: *undefined\n", "aigen: &a\n  topic: T\n  self: *a\n", "aigen:\n  1: T\n",
                   "aigen:\n  topic: T\n  " + "k" * 300 + ": 1\n", "aigen:\n  topic: T\n  \"\\ud800\": 1\n",
                   "aigen: null\n", "aigen: 3\n", "aigen: []\n", "aigen: {}\n"):
        cases.append((f"yaml-{broken[:30]!r}", broken, None))
    rng = random.Random(12)
    cases += [(f"random-{i}", random_front_matter(rng), None) for i in range(130)]
    return cases


CORPUS = corpus()


class CaseTimeout(Exception):
    pass


def _expire(signum, frame):
    raise CaseTimeout(f"over {SECONDS_PER_CASE}s")


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 300 and len({case_id for case_id, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("case_id", "yaml_text", "key"), CORPUS, ids=[c[0] for c in CORPUS])
def test_front_matter_gives_one_line_or_parses(case_id, yaml_text, key):
    text = f"---\n{yaml_text}---\n# Page\n\nBody.\n"
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_CASE)
    try:
        page = load_stub(Path("docs/case.md"), "docs/case.md", KINDS, text=text)
        outcome = None
    except FrontMatterError as error:
        page, outcome = None, str(error)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if outcome is None:
        assert key is None, f"{case_id}: accepted, expected an error naming {key}"
        if page is not None:  # a page that parses can be drafted: its fields encode and key a cache entry
            spec = page.spec
            cache_key({"topic": spec.topic, "kind": spec.kind, "notes": spec.notes, "sections": page.outline,
                       "title": page.title})
            assert page.missing() == list(page.outline)
        return
    outcome.encode("utf-8")  # no lone surrogate reaches a log line
    assert "\n" not in outcome and "\r" not in outcome and len(outcome) <= 300, outcome
    match = ERROR_LINE.match(outcome)
    assert match, outcome
    if key is not None:
        assert match["key"].startswith(key), outcome


def test_unknown_templates_dir_is_one_line(tmp_path):
    with pytest.raises(SettingsError) as caught:
        Settings.load({"templates_dir": "no/such/kinds"}, tmp_path, tmp_path / "docs", source="mkdocs.yml")
    message = str(caught.value)
    assert message.startswith("mkdocs.yml: plugins.aigen.templates_dir: ") and "\n" not in message


BAD_PAGES = {
    "bomb": alias_bomb(9, 9, "topic"),
    "bomb-code": alias_bomb(9, 9, "code"),
    "surrogate": 'aigen:\n  topic: "a\\ud800b"\n',
    "ansi": 'aigen:\n  topic: "a\\e[31mb"\n',
    "nul-section": 'aigen:\n  topic: T\n  sections: ["a\\0b"]\n',
    "empty-kind": 'aigen:\n  topic: T\n  kind: ""\n',
    "empty-code": 'aigen:\n  topic: T\n  code: ""\n',
    "duplicate": "aigen:\n  topic: T\n  sections: [Overview, Overview]\n",
    "slug-collision": 'aigen:\n  topic: T\n  sections: ["A-B", "A B"]\n',
    "hashes": 'aigen:\n  topic: T\n  sections: ["Overview ##"]\n',
    "newline": 'aigen:\n  topic: T\n  sections: ["A\\nB"]\n',
    "long-kind": "aigen:\n  topic: T\n  kind: " + "k" * 1_000_000 + "\n",
}


@pytest.mark.build
def test_build_reports_each_bad_page_in_one_line_and_builds_the_rest(tmp_path):
    config = write_site(tmp_path, PACKAGED_MODEL, aigen="      generate: off\n")
    for name, yaml_text in BAD_PAGES.items():
        (tmp_path / "docs" / f"bad-{name}.md").write_text(f"---\n{yaml_text}---\n# Bad {name}\n", encoding="utf-8")
    result = mkdocs_build(config)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in BAD_PAGES:
        lines = [line for line in result.stderr.splitlines() if f"bad-{name}.md: " in line]
        assert len(lines) == 1 and lines[0].startswith("ERROR") and len(lines[0]) <= 300, (name, lines)
        assert (tmp_path / "site" / f"bad-{name}" / "index.html").is_file()  # MkDocs still builds the page
    assert (tmp_path / "site" / "index.html").is_file()
    assert "Authored steps" in (tmp_path / "site" / "guide" / "index.html").read_text()  # the good stub
    assert mkdocs_build(config, "--strict").returncode == 1
