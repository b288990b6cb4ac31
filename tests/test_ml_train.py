"""Site fine-tuning on the tiny model: loss goes down, model dirs reload, LoRA merges, resume, --reuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from tiny_model import SAMPLE_TEXTS

from mkdocs_aigen.cli import main as cli_main
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.ml.checkpoint import read_model_card, weights_digest
from mkdocs_aigen.ml.corpus import Example, build_corpus, read_examples
from mkdocs_aigen.ml.loop import evaluate
from mkdocs_aigen.ml.train import (
    FineTuneSettings,
    LoraSettings,
    encode_examples,
    fine_tune,
    train_config,
)

TOPICS = ("Install the tool", "Configure the plugin", "Read a file", "Write a plugin", "Run the tests",
          "Build the site", "Cache drafts", "Review drafts")


pytestmark = [pytest.mark.build, pytest.mark.usefixtures("one_thread")]


THINGS = ("cache", "config", "layer", "schema", "secret", "plugin", "server", "theme", "index", "draft")


def section(verb: str, thing: str) -> str:
    """A patterned how-to section the tiny model has not seen: learnable, and shared by both splits."""
    return (f"To {verb} the {thing}, call `{verb}_{thing}()` and pass the path of the {thing} file.\n\n"
            f"```python\nfrom tidy import {verb}_{thing}\n\n{verb}_{thing}(\"{thing}.toml\")\n```\n\n"
            f"The {thing} is {verb}ed in place; nothing else changes.\n")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """A small corpus in the shape of the plugin's prompts: 10 pages of 4 sections."""
    examples = [
        Example(f"page:{thing}.md", "page", f"# Working with the {thing}\n\n*How-to guide*\n\n## {verb.title()} it\n\n",
                section(verb, thing))
        for thing in THINGS for verb in ("load", "save", "check", "clear")
    ]
    out = tmp_path_factory.mktemp("corpus")
    build_corpus(examples, out, validation_fraction=0.25)
    return out


def settings(base: Path, out: Path, **changes) -> FineTuneSettings:
    fast = dict(base_dir=base, out_dir=out, seq_len=64, batch_tokens=256, max_steps=6, lr=3e-3, eval_every=3)
    return FineTuneSettings(**{**fast, **changes})


def test_train_config_fits_the_corpus_and_the_bounds(tmp_path):
    base = FineTuneSettings(base_dir=tmp_path, out_dir=tmp_path / "out", seq_len=512, batch_tokens=4096)
    config = train_config(base, train_tokens=20_001, val_tokens=300)
    assert config.seq_len == 299 and config.batch_tokens == 13 * 299  # windows no longer than validation
    assert config.max_steps == 3 * 6 and config.max_minutes is None  # 66 windows, 13 a step: 3 epochs
    timed = train_config(dataclasses.replace(base, max_minutes=3), 20_001, 300)
    assert timed.max_steps is None and timed.max_minutes == 3
    both = train_config(dataclasses.replace(base, max_minutes=3, epochs=1), 20_001, 300)
    assert (both.max_steps, both.max_minutes) == (6, 3)
    assert train_config(base, 20_001, 300, max_positions=128).seq_len == 128
    with pytest.raises(AigenError, match="too small"):
        train_config(base, 20_001, 10)


def test_prompt_tokens_are_masked(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir, local_files_only=True)
    examples = [Example("d", "page", "# T\n\n*How-to guide*\n\n## Steps\n\n", "Run `pip install`.\n")] * 2
    tokens, mask = encode_examples(tokenizer, examples)
    prompt = tokenizer(examples[0].prompt)["input_ids"]
    completion = tokenizer(examples[0].completion, add_special_tokens=False)["input_ids"]
    one = len(prompt) + len(completion) + 1
    assert tokens.tolist() == (prompt + completion + [tokenizer.eos_token_id]) * 2
    assert mask.tolist() == ([False] * len(prompt) + [True] * (len(completion) + 1)) * 2
    assert len(tokens) == 2 * one


def test_fine_tune_lowers_validation_loss_and_saves_a_reloadable_model(tiny_model_dir, corpus_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    outcome = fine_tune(corpus_dir, settings(tiny_model_dir, tmp_path / "model"))
    card = read_model_card(tmp_path / "model")
    before, after = card["metrics"]["before"], card["metrics"]["after"]
    assert after["val_loss"] < before["val_loss"] - 0.1
    assert after["val_perplexity"] < before["val_perplexity"]
    assert card == outcome.card and not outcome.reused
    assert card["base_digest"] == weights_digest(tiny_model_dir)
    assert card["corpus_digest"].startswith("sha256:") and card["steps"] == 6 and card["tokens_seen"] > 0
    assert card["method"] == "full" and card["seed"] == 0 and card["hardware"]["device"] == "cpu"
    assert weights_digest(tmp_path / "model") != weights_digest(tiny_model_dir)

    model = AutoModelForCausalLM.from_pretrained(tmp_path / "model", local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "model", local_files_only=True)
    tokens, mask = encode_examples(tokenizer, read_examples(corpus_dir, "validation"))
    loss, _ = evaluate(model, tokens, card["train_config"]["seq_len"], loss_mask=mask)
    assert loss == pytest.approx(after["val_loss"], abs=1e-3)


def test_same_seed_gives_the_same_weights(tiny_model_dir, corpus_dir, tmp_path):
    first = fine_tune(corpus_dir, settings(tiny_model_dir, tmp_path / "a", max_steps=3, seed=5))
    second = fine_tune(corpus_dir, settings(tiny_model_dir, tmp_path / "b", max_steps=3, seed=5))
    assert weights_digest(first.out_dir) == weights_digest(second.out_dir)


def test_lora_with_merge_is_merged_into_plain_weights(tiny_model_dir, corpus_dir, tmp_path):
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    outcome = fine_tune(corpus_dir, settings(tiny_model_dir, tmp_path / "lora", lora=LoraSettings(rank=4), lr=1e-2,
                                             merge=True))
    assert (outcome.card["method"], outcome.card["format"]) == ("lora", "model")
    assert outcome.card["adapter_digest"].startswith("sha256:")
    assert outcome.card["metrics"]["after"]["val_loss"] < outcome.card["metrics"]["before"]["val_loss"]
    for weights in (tmp_path / "lora").glob("*.safetensors"):
        with safe_open(weights, "pt") as handle:
            assert not [key for key in handle.keys() if "lora" in key]
    assert not list((tmp_path / "lora").glob("adapter_*"))
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "lora", local_files_only=True)
    assert type(model).__name__ == "Qwen3ForCausalLM"
    assert not [name for name, _ in model.named_modules() if "lora" in name]
    assert weights_digest(tmp_path / "lora") != weights_digest(tiny_model_dir)


def test_training_resumes_from_its_last_checkpoint(tiny_model_dir, corpus_dir, tmp_path):
    options = settings(tiny_model_dir, tmp_path / "model", checkpoint_dir=tmp_path / "checkpoints",
                       checkpoint_every=2, max_steps=4)
    assert fine_tune(corpus_dir, options).card["resumed_from_step"] == 0
    longer = dataclasses.replace(options, max_steps=6)
    resumed = fine_tune(corpus_dir, longer)
    assert (resumed.card["resumed_from_step"], resumed.card["steps"]) == (4, 6)
    assert fine_tune(corpus_dir, longer, fresh=True).card["resumed_from_step"] == 0
    other_lr = fine_tune(corpus_dir, dataclasses.replace(longer, lr=1e-3))
    assert other_lr.card["resumed_from_step"] == 0 and other_lr.notes


def test_train_command_reuses_a_model_trained_on_the_same_corpus(tiny_model_dir, tmp_path, capsys):
    for index, text in enumerate(SAMPLE_TEXTS):
        (tmp_path / "docs" / f"page{index}.md").parent.mkdir(exist_ok=True)
        (tmp_path / "docs" / f"page{index}.md").write_text(text, encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nplugins:\n  - aigen\n", encoding="utf-8")
    argv = ["train", "-f", str(tmp_path / "mkdocs.yml"), "--base", str(tiny_model_dir), "--max-steps", "2", "--seq-len", "64",
            "--batch-tokens", "128", "--no-progress", "--reuse"]
    assert cli_main(argv) == 0
    first = capsys.readouterr().out
    assert "val perplexity" in first and "full fine-tune, 2 steps" in first
    weights = sorted((tmp_path / ".aigen" / "model").glob("*.safetensors"))
    stamps = [w.stat().st_mtime_ns for w in weights]
    assert cli_main(argv) == 0
    second = capsys.readouterr().out
    assert "reused" in second and "already trained on this corpus" in second
    assert [w.stat().st_mtime_ns for w in weights] == stamps
    (tmp_path / "docs" / "new.md").write_text("# New\n\n## Usage\n\nA new page changes the corpus.\n", encoding="utf-8")
    assert cli_main(argv) == 0
    assert "reused" not in capsys.readouterr().out
