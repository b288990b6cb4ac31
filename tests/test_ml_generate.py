"""Stop rules (pure) and the batched transformers generator on the tiny local model."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mkdocs_aigen.ml.backends.local import TransformersGenerator
from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationRequest
from mkdocs_aigen.ml.stops import (
    close_open_fences,
    is_degenerate,
    open_fence,
    truncate_at_closing_fence,
    truncate_at_heading,
)

pytestmark = pytest.mark.build

# ---------------------------------------------------------------- stops.py


def test_truncate_at_heading_cuts_before_first_heading_up_to_level():
    text = "Intro.\n\n### Detail\n\nMore.\n## Next\n\nTail\n# Top\n"
    assert truncate_at_heading(text, 2) == "Intro.\n\n### Detail\n\nMore.\n"
    assert truncate_at_heading(text, 3) == "Intro.\n\n"
    assert truncate_at_heading(text, 1) == "Intro.\n\n### Detail\n\nMore.\n## Next\n\nTail\n"
    assert truncate_at_heading("## At start\nx", 2) == ""
    assert truncate_at_heading("Body\n   ## Indented three\n", 2) == "Body\n"
    assert truncate_at_heading("Body\n##\n", 2) == "Body\n"  # an empty heading is a heading


def test_truncate_at_heading_ignores_non_headings_and_fenced_lines():
    assert truncate_at_heading("#hashtag\n##nospace\n####### seven\n    ## code\n", 6) is None
    assert truncate_at_heading("Text ## inline\n", 2) is None
    fenced = "Run:\n```python\n# comment\n## not a heading\n```\nAfter\n## Real\n"
    assert truncate_at_heading(fenced, 2) == fenced[: fenced.index("## Real")]
    tilde = "~~~\n## inside\n```\n## still inside\n~~~\n# out\n"
    assert truncate_at_heading(tilde, 1) == "~~~\n## inside\n```\n## still inside\n~~~\n"
    assert truncate_at_heading("```\n# never closed\n", 1) is None
    assert truncate_at_heading("# in code\n```\n# out\n", 1, opener="```") == "# in code\n```\n"


def test_truncate_at_closing_fence():
    assert truncate_at_closing_fence("x = 1\n```\nafter\n") == "x = 1\n"
    assert truncate_at_closing_fence("x = 1\n  `````  \n") == "x = 1\n"  # longer, indented
    assert truncate_at_closing_fence("x\n~~~\n```\n") == "x\n~~~\n"  # tildes do not close ```
    assert truncate_at_closing_fence("x\n```python\n") is None  # info string: not a closer
    assert truncate_at_closing_fence("a\n~~~\nb\n~~~~\n", opener="~~~") == "a\n"
    assert truncate_at_closing_fence("a\n```\n", opener="````") is None  # too short
    assert truncate_at_closing_fence("no fence") is None


def test_close_open_fences():
    assert close_open_fences("Text\n") == "Text\n"
    assert close_open_fences("```py\nx = 1") == "```py\nx = 1\n```\n"
    assert close_open_fences("~~~~\ncode\n") == "~~~~\ncode\n~~~~\n"
    assert close_open_fences("```\na\n```\n````\nb\n") == "```\na\n```\n````\nb\n````\n"
    assert close_open_fences("```\na\n```\n") == "```\na\n```\n"
    assert close_open_fences("x = 1\n", opener="~~~") == "x = 1\n~~~\n"
    assert open_fence("``` has`tick\n") is None  # backtick info string may not hold backticks


MARKDOWN_PIECES = ["```", "~~~", "`", "#", "## ", " ", "\n", "a", "py"]


@given(st.lists(st.sampled_from(MARKDOWN_PIECES)).map("".join))
def test_stop_helpers_properties(text: str):
    closed = close_open_fences(text)
    assert closed.startswith(text) and open_fence(closed) is None
    cut = truncate_at_heading(text, 2)
    assert cut is None or (text.startswith(cut) and truncate_at_heading(cut, 2) is None)


@pytest.mark.parametrize(
    ("text", "degenerate"),
    [
        ("", True),
        ("  \n\n ...  \n", True),
        ("ok ok", True),
        ("the the the the the the the the the the the the the the the the the the", True),
        ("Run it now.\n" * 6, True),
        ("abcabcabcabcabcabcabcabcabcabcabcabcabcabc end", True),
        ("Install the package with pip, then run `mkdocs build` to draft every stub page.", False),
        (
            "## Usage\n\nCall `read_config(path)`.\n\n```python\nconfig = read_config(p)\n"
            "print(config)\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            False,
        ),
    ],
)
def test_is_degenerate(text: str, degenerate: bool):
    assert is_degenerate(text) is degenerate


# ---------------------------------------------------------------- generator

SAMPLED = DecodingSettings(temperature=0.8, max_new_tokens=60)
PROMPTS = [
    "# Reading files\n\n",
    "# Command line\n\nThe command line tool has two sub-commands.\n\n## train\n\n",
    "Run",
    "# Writing a plugin\n\nA plugin is a class with event methods.\n\n",
    "## Tips\n\n- Keep stub pages short",
]


@pytest.fixture(scope="module")
def sampler(tiny_model_dir: Path) -> TransformersGenerator:
    return TransformersGenerator(tiny_model_dir, SAMPLED, batch_size=2, device="cpu")


def _requests(seed_offset: int = 0, **options) -> list[GenerationRequest]:
    return [GenerationRequest(p, seed=seed_offset + i, **options) for i, p in enumerate(PROMPTS)]


def _for_seeds(generator, prompt: str, seeds: range, **options):
    return generator.generate([GenerationRequest(prompt, seed, **options) for seed in seeds])


def test_batched_results_match_solo_runs_in_request_order(sampler, tiny_model_dir: Path):
    requests = _requests(stop_heading_level=None)
    calls: list[tuple[int, int]] = []
    batched = sampler.generate(requests, progress=lambda done, tokens: calls.append((done, tokens)))
    # Each row has its own seeded sampler and processors, and its text does not depend on its
    # batch neighbours: on CPU the padded batched forward pass is bitwise equal here, so this
    # holds for sampling, not only greedy decoding.
    assert batched == [sampler.generate([request])[0] for request in requests]
    repeated = sampler.generate([requests[3], requests[3], requests[0]])
    assert repeated == [batched[3], batched[3], batched[0]]
    assert len({result.text for result in batched}) == len(requests)
    assert calls == sorted(calls) and calls[-1] == (5, sum(r.new_tokens for r in batched))
    assert [done for done, _ in calls] == [1, 2, 3, 4, 5]  # a call as each request ends


def _record_forward_passes(monkeypatch) -> list[tuple[int, list[int]]]:
    """``(first slot, each running row's start)`` of every forward pass through a slot cache from now on."""
    from mkdocs_aigen.ml.backends.slots import SlotCache

    steps: list[tuple[int, list[int]]] = []
    prepare = SlotCache.prepare

    def recording(cache, first, starts, *rest):
        steps.append((first, list(starts)))
        prepare(cache, first, starts, *rest)

    monkeypatch.setattr(SlotCache, "prepare", recording)
    return steps


def test_a_finished_rows_slot_goes_to_the_next_waiting_request(sampler, monkeypatch):
    lengths = [1, 30, 3, 12, 1, 25, 7]  # 1: the request ends on the token its prefill picked
    requests = [GenerationRequest(f"# Part {i}\n\n{PROMPTS[i % len(PROMPTS)]}", seed=i, stop_heading_level=None,
                                  max_new_tokens=n) for i, n in enumerate(lengths)]
    solo = [sampler.generate([request])[0] for request in requests]
    generator = TransformersGenerator(sampler.model_dir, SAMPLED, batch_size=2, device="cpu")  # no prompt run yet
    steps = _record_forward_passes(monkeypatch)
    assert generator.generate(requests) == solo
    assert all(result.new_tokens <= n for result, n in zip(solo, lengths))
    prefills = [i for i, (_, starts) in enumerate(steps) if starts == [0]]
    assert len(prefills) == len(requests)
    # Until the last request enters, every decoding pass runs both slots: a row that ends is replaced at once,
    # into slot 1 while the row in slot 0 goes on decoding.
    assert all(len(starts) == 2 for _, starts in steps[: prefills[-1]] if starts != [0])
    assert any(steps[i][0] == 1 and any(starts != [0] for _, starts in steps[:i]) for i in prefills)
    assert generator.generate([]) == []


def test_a_resampled_prompt_reuses_its_prefill(tiny_model_dir: Path, monkeypatch):
    requests = [GenerationRequest(PROMPTS[1], seed, stop_heading_level=None) for seed in range(3)]
    fresh = [TransformersGenerator(tiny_model_dir, SAMPLED, device="cpu").generate([r])[0] for r in requests]
    steps = _record_forward_passes(monkeypatch)
    generator = TransformersGenerator(tiny_model_dir, SAMPLED, batch_size=2, device="cpu")
    assert generator.generate(requests[:1]) == fresh[:1]
    assert generator.generate(requests) == fresh  # a later call, and rows of the same call, reuse the prompt's run
    assert [starts for _, starts in steps].count([0]) == 1  # one forward pass over the prompt


def test_greedy_is_deterministic_across_batches(tiny_model_dir: Path):
    greedy = TransformersGenerator(
        tiny_model_dir, DecodingSettings(temperature=0, max_new_tokens=40), batch_size=4
    )
    requests = _requests(stop_heading_level=None)
    together = greedy.generate(requests)
    assert together == [greedy.generate([request])[0] for request in requests]
    reseeded = _requests(stop_heading_level=None, seed_offset=100)
    assert [r.text for r in greedy.generate(reseeded)] == [r.text for r in together]


def test_heading_stop_returns_the_text_before_the_heading(sampler):
    seeds = range(8)
    prompt = "# Reading files\n\n"
    free = _for_seeds(sampler, prompt, seeds, stop_heading_level=None)
    stopped = _for_seeds(sampler, prompt, seeds, stop_heading_level=2)
    with_heading = [i for i in seeds if truncate_at_heading(free[i].text, 2) is not None]
    assert with_heading, "the tiny model should write a level-2 heading for some seed"
    for i in seeds:
        expected = truncate_at_heading(free[i].text, 2)
        assert truncate_at_heading(stopped[i].text, 2) is None
        assert open_fence(stopped[i].text) is None
        if expected is not None:
            assert (stopped[i].text, stopped[i].stopped) == (expected, "heading")
            assert stopped[i].new_tokens < free[i].new_tokens or free[i].stopped == "length"


def test_fence_stop_drops_the_closing_fence(sampler):
    prompt = "```python\nfrom pathlib import Path\n"
    seeds = range(8)
    free = _for_seeds(sampler, prompt, seeds, stop_heading_level=None)
    fenced = _for_seeds(sampler, prompt, seeds, stop_at_fence=True)
    closed = [i for i in seeds if fenced[i].stopped == "fence"]
    assert closed, "the tiny model should close the code block for some seed"
    for i in seeds:
        assert truncate_at_closing_fence(fenced[i].text) is None  # no closing fence returned
        assert free[i].text.startswith(fenced[i].text)  # same tokens, only the stop differs
        if i in closed:
            assert fenced[i].text == truncate_at_closing_fence(free[i].text)
        else:  # unclosed: outside fence mode the generator closes the prompt's fence itself
            assert open_fence(free[i].text, "```") is None


def test_length_limits_and_min_new_tokens(tiny_model_dir: Path, sampler):
    short = sampler.generate([GenerationRequest("# Reading files\n\n", 0, max_new_tokens=5)])[0]
    assert short.new_tokens <= 5
    settings = DecodingSettings(temperature=0.8, max_new_tokens=30, min_new_tokens=30)
    forced = TransformersGenerator(tiny_model_dir, settings, batch_size=8)
    requests = [GenerationRequest(f"# Page {i}\n\n", i, stop_heading_level=None) for i in range(8)]
    early = [r for r in sampler.generate(requests) if r.stopped == "eos"]
    assert early, "the tiny model should end some texts early with EOS"
    assert all(r.new_tokens == 30 and r.stopped == "length" for r in forced.generate(requests))


def test_long_prompt_is_truncated_from_the_left(sampler):
    prompt = "Some words about pages. " * 400
    full_ids = sampler.tokenizer(prompt)["input_ids"]
    assert len(full_ids) > sampler.context_length
    row = sampler._make_row(0, GenerationRequest(prompt, seed=0))
    assert row.prompt_ids == full_ids[-(sampler.context_length - SAMPLED.max_new_tokens) :]
    result = sampler.generate([GenerationRequest(prompt, seed=0, max_new_tokens=8)])[0]
    assert 0 < result.new_tokens <= 8


def test_int8_quantized_model_generates_text(tiny_model_dir: Path):
    import torch

    quantized = TransformersGenerator(
        tiny_model_dir, DecodingSettings(temperature=0, max_new_tokens=20), quantize="int8"
    )
    int8_linear = torch.ao.nn.quantized.dynamic.Linear
    assert any(isinstance(module, int8_linear) for module in quantized.model.modules())
    request = GenerationRequest("# Reading files\n\n", 0, stop_heading_level=None)
    (result,) = quantized.generate([request])
    assert result.new_tokens > 0 and result.text.strip()
