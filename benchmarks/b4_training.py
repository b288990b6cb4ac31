"""B4 training: tokens/s of ``fine_tune`` (what ``mkdocs-aigen train`` runs) ÷ a plain transformers ``Trainer``.

Same base model, same corpus (example_site's, grounded when the project has a retriever: examples
are mostly context, whose tokens are masked out of the loss, so ``fine_tune`` runs the output layer
on the completion tokens only), same window length, sequences per step, step count, learning rate
and schedule. Both rates count input tokens
over the optimiser steps only: ``fine_tune``'s recorded ``train_seconds`` (its evaluations are
switched off) and the Trainer's summed step times (from ``on_step_begin`` to ``on_step_end``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .common import Context, Result, Target, alternate, ratios, summary
from .fixtures import copy_example_site


def sizes(ctx: Context) -> dict[str, int]:
    if ctx.quick:
        return {"seq_len": 32, "sequences": 2, "steps": 2}
    return {"seq_len": 256, "sequences": 8, "steps": 8}


def fine_tune_settings(ctx: Context, out_dir: Path):
    """``mkdocs-aigen train``'s settings at the benchmark's size: no evaluations inside the steps."""
    from mkdocs_aigen.ml.train import FineTuneSettings

    size = sizes(ctx)
    return FineTuneSettings(
        base_dir=ctx.model_dir, out_dir=out_dir, seq_len=size["seq_len"],
        batch_tokens=size["seq_len"] * size["sequences"], max_steps=size["steps"], eval_every=size["steps"] + 1,
        patience=None, device="cpu",
    )


def ours(ctx: Context, corpus: Path, out_dir: Path) -> dict[str, Any]:
    from mkdocs_aigen.ml.train import fine_tune

    outcome = fine_tune(corpus, fine_tune_settings(ctx, out_dir))
    card = outcome.card
    return _rate(card["train_seconds"], card["steps"] * card["train_config"]["batch_tokens"], card["steps"])


def _rate(seconds: float, tokens: int, steps: int) -> dict[str, Any]:
    return {"seconds": seconds, "tokens": tokens, "steps": steps, "tokens_per_second": tokens / seconds}


def _step_timer():
    """A Trainer callback summing the wall time of each optimiser step."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds, self.steps, self.started = 0.0, 0, 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds += time.perf_counter() - self.started
            self.steps += 1

    return StepTimer()


def trainer(ctx: Context, corpus: Path, work: Path) -> dict[str, Any]:
    """``transformers.Trainer`` on the same windows: ``use_cpu``, no reporting, evaluation or saving."""
    import torch
    from transformers import PrinterCallback, Trainer, TrainingArguments

    from mkdocs_aigen.ml.checkpoint import load_causal_lm
    from mkdocs_aigen.ml.corpus import read_examples
    from mkdocs_aigen.ml.train import encode_examples, train_config

    model, tokenizer = load_causal_lm(ctx.model_dir, device="cpu")
    model.float()
    tokens, mask = encode_examples(tokenizer, read_examples(corpus, "train"))
    val_tokens, _ = encode_examples(tokenizer, read_examples(corpus, "validation"))
    config = train_config(fine_tune_settings(ctx, work / "unused"), len(tokens), len(val_tokens),
                          getattr(model.config, "max_position_embeddings", None))
    seq_len = config.seq_len
    windows = []
    for start in range(0, len(tokens) - seq_len, seq_len):
        ids = tokens[start : start + seq_len]
        labels = torch.where(mask[start : start + seq_len], ids, -100)  # the model shifts labels itself
        windows.append({"input_ids": ids, "labels": labels})
    timer = _step_timer()
    args = TrainingArguments(
        output_dir=str(work / "trainer"), per_device_train_batch_size=config.sequences_per_step,
        max_steps=config.max_steps, learning_rate=config.lr, lr_scheduler_type="cosine",
        warmup_steps=config.warmup_steps, weight_decay=0.0, adam_beta2=0.95, max_grad_norm=config.grad_clip,
        use_cpu=True, report_to=[], eval_strategy="no", save_strategy="no", logging_strategy="no",
        disable_tqdm=True, dataloader_pin_memory=False, seed=config.seed,
    )
    run = Trainer(model=model, args=args, train_dataset=windows, callbacks=[timer])
    run.remove_callback(PrinterCallback)  # it would print the final metrics into the table's output
    run.train()
    return _rate(timer.seconds, timer.steps * config.sequences_per_step * seq_len, timer.steps)


def run(ctx: Context) -> Result:
    from mkdocs_aigen import progress
    from mkdocs_aigen.cli.config_file import load_settings
    from mkdocs_aigen.cli.corpus import context_provider
    from mkdocs_aigen.site_corpus import build_site_corpus, corpus_dir

    progress.set_enabled(False)  # no bar in the timed steps, as the Trainer runs with disable_tqdm
    ctx.reset_torch_threads()
    work = ctx.scratch("b4")
    settings = load_settings(copy_example_site(work / "site", model=str(ctx.model_dir)))
    build_site_corpus(settings, tokenizer_dir=ctx.model_dir, context=context_provider(settings))
    corpus = corpus_dir(settings)
    samples = alternate({"fine_tune": lambda: ours(ctx, corpus, work / "out"),
                         "trainer": lambda: trainer(ctx, corpus, work)}, runs=ctx.runs, warmup=ctx.warmup)
    rates = {name: summary([s["tokens_per_second"] for s in runs]) for name, runs in samples.items()}
    same_work = all(a["tokens"] == b["tokens"] for a, b in zip(samples["fine_tune"], samples["trainer"], strict=True))
    size = sizes(ctx)
    return Result(
        "B4", "training",
        f"fine_tune tokens/s ÷ transformers Trainer tokens/s ({size['steps']} steps × {size['sequences']} × "
        f"{size['seq_len']} tokens, full fine-tune, {ctx.threads} torch thread(s))",
        samples=ratios(samples["fine_tune"], samples["trainer"], "tokens_per_second"), target=Target(">=", 1.3),
        checks={"same tokens per run": same_work},
        details={"tokens_per_second": rates, "threads": ctx.threads, "runs": samples},
        lines=[f"fine_tune {rates['fine_tune']['median']:.0f} tok/s vs Trainer {rates['trainer']['median']:.0f} "
               f"tok/s (medians)"],
    )
