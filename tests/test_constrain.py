"""Constrained decoding of package names (mkdocs_aigen.ml.constrain), on the shipped base's tokenizer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mkdocs_aigen.ml.constrain import NameConstraint, inside_code_span, name_guard

BASE = Path(__file__).resolve().parents[1] / "mkdocs_aigen" / "ml" / "base"
NAMES = frozenset({
    "tidyconf", "tidyconf.load", "tidyconf.loads", "tidyconf.dump", "tidyconf.Config", "tidyconf.Config.get",
    "tidyconf.errors", "tidyconf.errors.ConfigError", "tidyconf.loader", "tidyconf.loader.read_text",
})
_CHAIN = re.compile(r"(?<![\w.])tidyconf\.[\w.]*")
_FROM_IMPORT = re.compile(r"[ \t]*from\s+(tidyconf[\w.]*)\s+import\b(.*)")
_IMPORT_ITEM = re.compile(r"\s*\(?\s*(\w+)(\s+as\s+\w+)?\s*(,|\Z)")


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(BASE)


def unknown_names(text: str, code_everywhere: bool = True) -> list[str]:
    """Package references in ``text`` that are no name: chains after ``tidyconf.`` and imported names.
    A chain or import item still being written at the very end may be a prefix of a name."""
    bad = []

    def judge(candidate: str, at_end: bool) -> None:
        ok = candidate in NAMES or (at_end and any(name.startswith(candidate) for name in NAMES))
        if not ok:
            bad.append(candidate)

    for line_start, line in _lines(text):
        spans = [(0, len(line))] if code_everywhere else _code_spans(line)
        for match in _CHAIN.finditer(line):
            if any(a <= match.start() and match.end() <= b for a, b in spans):
                judge(match.group(), line_start + match.end() == len(text))
        imported = _FROM_IMPORT.match(line) if code_everywhere else None
        if imported and imported[1] + "." in {n[: len(imported[1]) + 1] for n in NAMES}:
            rest, offset = imported[2], line_start + imported.start(2)
            while rest:
                item = _IMPORT_ITEM.match(rest)
                if not item:
                    break
                judge(f"{imported[1]}.{item[1]}", offset + item.end(1) == len(text) and not item[2] and not item[3])
                offset += item.end()
                rest = rest[item.end():]
    return bad


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, line
        start += len(line) + 1


def _code_spans(line: str) -> list[tuple[int, int]]:
    return [(m.start(1), m.end(1)) for m in re.finditer(r"`([^`]*)(`|\Z)", line)]


def random_decode(tokenizer, prompt: str, names, all_code: bool, seed: int, steps: int = 80) -> str:
    """Decode ``steps`` tokens from random logits that now and then push towards a package reference
    (the pieces of ``tidyconf.``, ``from tidyconf import`` or a next import item) and leave the rest,
    such as the name after the dot, to chance."""
    import random

    import torch

    torch_random, chance = torch.Generator().manual_seed(seed), random.Random(seed)
    starts = [tokenizer(piece)["input_ids"] for piece in REFERENCE_STARTS]
    guard = name_guard(prompt, names, all_code, tokenizer)
    new_ids: list[int] = []
    pushed: list[int] = []
    for _ in range(steps):
        if not pushed and chance.random() < 0.15:
            pushed = list(chance.choice(starts))
        scores = torch.randn(len(tokenizer), generator=torch_random) * 2
        if pushed:
            scores[pushed[0]] += 30
        if guard is not None:
            guard.restrict(scores, new_ids)
        new_ids.append(int(torch.multinomial(torch.softmax(scores, -1), 1, generator=torch_random)))
        pushed = pushed[1:] if pushed and new_ids[-1] == pushed[0] else []
    return prompt + tokenizer.decode(new_ids, skip_special_tokens=True)


REFERENCE_STARTS = (" tidyconf.", "\nx = tidyconf.", "\nfrom tidyconf import ", "\nfrom tidyconf.", ", ", " `tidyconf.")
CODE_PROMPTS = ("```python\nimport tidyconf\ncfg = tidyconf.", "```python\nfrom tidyconf import ",
                "```python\nfrom tidyconf.", "```python\n")


@pytest.mark.parametrize("prompt", CODE_PROMPTS)
def test_random_logits_write_only_known_names_in_code(tokenizer, prompt):
    for seed in range(25):
        text = random_decode(tokenizer, prompt, NAMES, all_code=True, seed=seed)
        body = text[text.index("\n") + 1:]
        assert unknown_names(body) == [], (seed, text)


def test_random_logits_write_only_known_names_in_inline_code(tokenizer):
    for seed in range(25):
        text = random_decode(tokenizer, "Load it with `tidyconf.", NAMES, all_code=False, seed=seed)
        assert unknown_names(text, code_everywhere=False) == [], (seed, text)


def test_without_names_the_same_decoding_invents_names(tokenizer):
    """The fuzzing above would catch an unconstrained decode: it writes unknown names."""
    invented = [bad for prompt in CODE_PROMPTS[:2] for seed in range(10)
                for bad in unknown_names(random_decode(tokenizer, prompt, None, True, seed).split("\n", 1)[1])]
    assert len(invented) >= 5


VALID_SAMPLE = """import tidyconf
from tidyconf.errors import ConfigError
from tidyconf import load as load_config, Config

cfg = tidyconf.load("settings.toml")
url = tidyconf.Config.get(cfg, "database.url")
try:
    tidyconf.loader.read_text(cfg.database.url)
except tidyconf.errors.ConfigError as error:
    print(f"failed: {error}", cfg.items())
"""


def test_valid_code_is_never_blocked(tokenizer):
    """Teacher-forced, a sample using only known names keeps every one of its tokens allowed."""
    import torch

    ids = tokenizer(VALID_SAMPLE)["input_ids"]
    guard = name_guard("```python\n", NAMES, True, tokenizer)
    for position, token in enumerate(ids):
        scores = torch.zeros(len(tokenizer))
        guard.restrict(scores, ids[:position])
        assert scores[token] == 0, tokenizer.decode(ids[: position + 1])


def test_states_follow_references_and_imports():
    constraint = NameConstraint(NAMES, ["x"])
    assert constraint.state("cfg = tidyconf.Con", code=True)[0] == "chain"
    assert constraint.state("cfg = tidyconf.Con", code=False) is None
    assert constraint.state("url = cfg.database.ur", code=True) == ("free",)  # attribute access, no reference
    assert constraint.state("from tidyconf import load, Con", code=True)[0] == "import"
    alias = constraint.state("from tidyconf import load as ", code=True)
    assert constraint.mask(alias) is None  # an alias is free
    assert constraint.state("from os import pa", code=True) is None


@pytest.mark.parametrize(("line", "inside"), [
    ("Call `tidyconf.", True), ("Call `load` or ", False), ("Use ``a ` b", True), ("```python", False),
    ("", False)])
def test_inline_code_spans(line, inside):
    assert inside_code_span(line) is inside


def test_masks_allow_continuations_and_name_ends(tokenizer):
    texts = ["load", "lo", "ad(", "x", "(", ".get", ".", " as", ",", "\n", ""]
    constraint = NameConstraint(NAMES, texts)

    def allowed(line: str) -> set[str]:
        mask = constraint.mask(constraint.state(line, code=True))
        return set(texts) if mask is None else {t for t, ok in zip(texts, mask.tolist()) if ok}

    assert allowed("x = tidyconf.") == {"load", "lo"}
    assert allowed("x = tidyconf.lo") == {"ad("}
    assert allowed("x = tidyconf.load") == {"(", " as", ",", "\n", ""}
    assert allowed("x = tidyconf.Config") == {"(", ".get", ".", " as", ",", "\n", ""}
    assert allowed("from tidyconf import ") == {"load", "lo", "("}
    assert allowed("from tidyconf import load") == {"(", " as", ",", "\n", ""}


@pytest.mark.build
def test_tiny_model_writes_only_known_names(tiny_model_dir):
    from mkdocs_aigen.ml.backends.local import TransformersGenerator
    from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationRequest

    settings = DecodingSettings(max_new_tokens=24, min_new_tokens=4, temperature=1.5, top_p=1.0,
                                repetition_penalty=1.0, no_repeat_ngram_size=0)
    generator = TransformersGenerator(tiny_model_dir, settings, batch_size=4, device="cpu")
    prompts = ["```python\ncfg = tidyconf.", "```python\nfrom tidyconf import "]
    requests = [GenerationRequest(prompt, seed, stop_heading_level=None, stop_at_fence=True, names=NAMES)
                for prompt in prompts for seed in range(6)]
    for request, result in zip(requests, generator.generate(requests)):
        body = (request.prompt + result.text).split("\n", 1)[1]
        assert unknown_names(body) == [], body
        if request.prompt.endswith("."):
            assert re.match(r"(load|loads|dump|Config|errors|loader)", result.text), result.text
