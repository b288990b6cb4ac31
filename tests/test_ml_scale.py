"""Scale-out training on the tiny model: two processes under ``accelerate launch`` match one, LoRA
adapter dirs load with peft and draft, ``--merge`` writes a full model, bad ``--base`` dirs are one line."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tiny_model import SAMPLE_TEXTS

from mkdocs_aigen.cli import main as cli_main
from mkdocs_aigen.ml.backends import BackendSettings
from mkdocs_aigen.ml.backends.local import LocalBackend, TransformersGenerator
from mkdocs_aigen.ml.checkpoint import read_model_card, weights_digest
from mkdocs_aigen.ml.decoding import DecodingSettings, GenerationRequest

pytestmark = [pytest.mark.build, pytest.mark.usefixtures("one_thread")]

REPO = Path(__file__).resolve().parents[1]
# Small enough to take seconds: 4 steps of 4 windows of 64 tokens, evaluated every 2 steps.
FAST = ["--seq-len", "64", "--batch-tokens", "256", "--eval-every", "2", "--lr", "3e-3", "--no-progress"]


def make_site(root: Path) -> Path:
    """The four sample pages and an ``aigen`` plugin entry; returns mkdocs.yml."""
    (root / "docs").mkdir(parents=True)
    for index, text in enumerate(SAMPLE_TEXTS):
        (root / "docs" / f"page{index}.md").write_text(text, encoding="utf-8")
    (root / "mkdocs.yml").write_text("site_name: t\nplugins:\n  - aigen\n", encoding="utf-8")
    return root / "mkdocs.yml"


def train(config: Path, base: Path, out: Path, *flags: str) -> dict:
    """``mkdocs-aigen train`` in this process; the written card."""
    argv = ["train", "-f", str(config), "--base", str(base), "--out", str(out), *FAST, *flags]
    assert cli_main(argv) == 0
    return read_model_card(out)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accelerate_config(path: Path, processes: int) -> Path:
    """A launch config for ``processes`` CPU processes on this machine (torchrun underneath, gloo):
    ``--cpu`` alone would start one process, and multi-CPU otherwise needs MPI."""
    path.write_text(
        "compute_environment: LOCAL_MACHINE\ndistributed_type: MULTI_GPU\nuse_cpu: true\n"
        f"num_machines: 1\nmachine_rank: 0\nnum_processes: {processes}\nmixed_precision: 'no'\n"
        "dynamo_config: {}\n", encoding="utf-8")
    return path


def max_difference(a: Path, b: Path) -> float:
    """The largest absolute difference between the tensors two safetensors files both name (a tied
    embedding is saved under either of its names)."""
    from safetensors.torch import load_file

    first, second = load_file(a), load_file(b)
    shared = first.keys() & second.keys()
    assert len(shared) >= len(first) - 1
    return max(float((first[k] - second[k]).abs().max()) for k in shared)


def test_two_processes_resume_and_match_one_process(tiny_model_dir, tmp_path, capsys):
    # Each run starts as 2 steps in one process, then resumes from its step-2 checkpoint for steps 3-4:
    # in this process, or in two processes.
    every = ("--checkpoint-every", "2")
    config = make_site(tmp_path / "one")
    train(config, tiny_model_dir, tmp_path / "one-model", "--max-steps", "2", *every)
    one = train(config, tiny_model_dir, tmp_path / "one-model", "--max-steps", "4", *every)
    config = make_site(tmp_path / "two")
    train(config, tiny_model_dir, tmp_path / "two-model", "--max-steps", "2", *every)
    capsys.readouterr()
    command = [sys.executable, "-m", "accelerate.commands.launch",
               "--config_file", str(accelerate_config(tmp_path / "accelerate.yaml", 2)),
               "--main_process_port", str(free_port()), "-m", "mkdocs_aigen.cli",
               "train", "-f", str(config), "--base", str(tiny_model_dir), "--out", str(tmp_path / "two-model"),
               *FAST, "--max-steps", "4", *every]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    two = read_model_card(tmp_path / "two-model")
    assert done.stdout.count("val perplexity") == 1  # only the main process reports
    assert "on 2 processes, 4 steps" in done.stdout
    assert (two["hardware"]["processes"], two["resumed_from_step"], two["steps"]) == (2, 2, 4)
    assert two["tokens_seen"] == one["tokens_seen"]
    assert two["metrics"]["after"]["val_loss"] == pytest.approx(one["metrics"]["after"]["val_loss"], abs=1e-4)
    # keep_best may hand back the step-2 weights (trained in one process in both runs): compare the
    # step-4 checkpoints, written by the main process.
    one_step4, two_step4 = (tmp_path / run / ".aigen" / "train-checkpoints" / "step-0000004" for run in ("one", "two"))
    one_val, two_val = (dict(json.loads((d / "state.json").read_text())["val_history"]) for d in (one_step4, two_step4))
    # Same windows and summed gradients: only the order of float32 sums differs (per process, then
    # across them); measured here: equal validation loss, weights 1.2e-7 apart. Without the gradient
    # sync (each process training on its half) they were 9e-3 and 4e-3 apart, and the weights moved
    # 7e-3 from the base.
    assert two_val[4] == pytest.approx(one_val[4], abs=1e-4)
    assert max_difference(one_step4 / "model.safetensors", two_step4 / "model.safetensors") < 1e-5
    assert max_difference(one_step4 / "model.safetensors", tiny_model_dir / "model.safetensors") > 1e-3


def test_lora_writes_an_adapter_that_peft_loads_and_the_plugin_drafts_with(tiny_model_dir, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    config = make_site(tmp_path / "site")
    card = train(config, tiny_model_dir, tmp_path / "adapter", "--lora", "--max-steps", "3", "--lr", "1e-2")
    merged_card = train(config, tiny_model_dir, tmp_path / "merged", "--lora", "--merge", "--max-steps", "3",
                        "--lr", "1e-2", "--fresh")
    adapter = tmp_path / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file() and not (adapter / "config.json").exists()
    adapter_config = json.loads((adapter / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == str(tiny_model_dir.resolve())
    assert (card["format"], card["method"], card["base_name"]) == ("peft-adapter", "lora", tiny_model_dir.name)
    assert card["base_digest"] == weights_digest(tiny_model_dir)
    assert card["corpus_digest"].startswith("sha256:")
    # the same seed trains the same adapters, merged or not
    assert card["adapter_digest"] == merged_card["adapter_digest"] and card["adapter_digest"].startswith("sha256:")
    assert merged_card["format"] == "model" and not list((tmp_path / "merged").glob("adapter_*"))

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, local_files_only=True)
    ids = torch.tensor([list(range(5, 40))])
    with torch.no_grad():
        base_logits = base(input_ids=ids).logits
        peft_logits = PeftModel.from_pretrained(base, adapter)(input_ids=ids).logits
        merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged", local_files_only=True)
        merged_logits = merged(input_ids=ids).logits
    assert (peft_logits - base_logits).abs().max() > 1e-3  # the adapter changes the model
    assert torch.allclose(peft_logits, merged_logits, atol=1e-4)  # --merge is the same model

    # The local backend drafts from the adapter dir (its base loaded, the adapters merged in) ...
    greedy = DecodingSettings(temperature=0, max_new_tokens=12, min_new_tokens=1)
    request = [GenerationRequest("# Getting started\n\n## Installation\n\n", seed=1, stop_heading_level=None)]
    from_adapter = TransformersGenerator(adapter, greedy, device="cpu").generate(request)
    from_merged = TransformersGenerator(tmp_path / "merged", greedy, device="cpu").generate(request)
    assert from_adapter == from_merged and from_adapter[0].new_tokens > 0
    # ... and its drafts are keyed by both the adapter and its base.
    identity = LocalBackend(BackendSettings(model_dir=adapter, decoding=greedy)).identity()
    assert identity["weights"] == weights_digest(adapter)
    assert identity["base_weights"] == weights_digest(tiny_model_dir)


def _first_error_line(argv: list[str], capsys) -> str:
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_base_dirs_that_cannot_be_loaded_safely_are_one_line_errors(tiny_model_dir, tmp_path, capsys):
    from safetensors.torch import load_file

    config = make_site(tmp_path / "site")
    argv = ["train", "-f", str(config), *FAST, "--max-steps", "1", "--base"]
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, pickled)
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    err = _first_error_line([*argv, str(pickled)], capsys)
    assert f"model dir {pickled} has no *.safetensors weights (found: pytorch_model.bin)" in err

    remote = tmp_path / "remote"
    shutil.copytree(tiny_model_dir, remote)
    model_config = json.loads((remote / "config.json").read_text())
    model_config.update(model_type="shiny", auto_map={"AutoModelForCausalLM": "modeling_shiny.Shiny"})
    (remote / "config.json").write_text(json.dumps(model_config))
    err = _first_error_line([*argv, str(remote)], capsys)
    assert f"model dir {remote}: model_type 'shiny' is not a causal LM built into transformers" in err

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": str(tiny_model_dir)}))
    assert f"{adapter}: is a LoRA adapter dir" in _first_error_line([*argv, str(adapter)], capsys)
    assert "--merge merges LoRA adapters" in _first_error_line([*argv, str(tiny_model_dir), "--merge"], capsys)
    assert not (tmp_path / "site" / ".aigen" / "model").exists()
