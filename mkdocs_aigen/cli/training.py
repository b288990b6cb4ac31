"""``mkdocs-aigen corpus`` and ``mkdocs-aigen train``: the site side of fine-tuning.

Reads the site's settings (mkdocs.yml) and hands plain paths and settings to :mod:`mkdocs_aigen.ml`,
which never imports mkdocs. Heavy imports stay inside the ``ml`` functions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mkdocs_aigen import progress
from mkdocs_aigen.ml.checkpoint import ModelDirError
from mkdocs_aigen.ml.corpus import VALIDATION_FRACTION, format_stats
from mkdocs_aigen.ml.train import DEFAULT_EPOCHS, LR_FULL, LR_LORA, FineTuneSettings, LoraSettings, fine_tune, summary_line
from mkdocs_aigen.cli.config_file import load_settings
from mkdocs_aigen.site_corpus import base_model_dir, build_site_corpus, corpus_dir


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    (add_train_arguments if command == "train" else add_corpus_arguments)(parser)


def run(args: argparse.Namespace) -> int:
    return run_train(args) if args.command == "train" else run_corpus(args)


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mkdocs-aigen corpus`` (also taken by ``train``, which builds the corpus first)."""
    parser.add_argument("-f", "--config-file", type=Path, default=Path("mkdocs.yml"),
                        help="the site's mkdocs.yml (default: ./mkdocs.yml)")
    parser.add_argument("--validation-fraction", type=float, default=None,
                        help=f"share of documents held out for validation (default: the existing corpus', "
                             f"else {VALIDATION_FRACTION})")


def run_corpus(args: argparse.Namespace) -> int:
    """``mkdocs-aigen corpus``: build ``.aigen/corpus/`` and print its stats."""
    settings = load_settings(args.config_file)
    stats = build_site_corpus(settings, tokenizer_dir=base_model_dir(settings),
                              validation_fraction=args.validation_fraction)
    print(format_stats(stats))
    print(f"wrote {corpus_dir(settings)} ({stats['digest'][:19]})")
    return 0


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``mkdocs-aigen train`` (and the corpus flags: it builds the corpus first)."""
    add_corpus_arguments(parser)
    parser.add_argument("--base", type=Path, help="model to start from (default: plugins.aigen.model, "
                                                  "else the base shipped with mkdocs-aigen)")
    parser.add_argument("--out", type=Path, help="where to write the model (default: .aigen/model)")
    parser.add_argument("--lora", action="store_true", help="train LoRA adapters (merged on save) instead of "
                                                            "every weight")
    parser.add_argument("--lora-rank", type=int, default=LoraSettings.rank)
    parser.add_argument("--lora-alpha", type=int, default=LoraSettings.alpha)
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {LR_FULL}, {LR_LORA} with --lora)")
    parser.add_argument("--seq-len", type=int, default=FineTuneSettings.seq_len, help="tokens per window")
    parser.add_argument("--batch-tokens", type=int, default=FineTuneSettings.batch_tokens,
                        help="tokens per optimiser step")
    parser.add_argument("--epochs", type=float, help=f"passes over the corpus (default {DEFAULT_EPOCHS:g} unless "
                                                     "only --max-minutes is given)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument("--max-minutes", type=float, help="stop after this much training time")
    parser.add_argument("--eval-every", type=int, help="steps between validation runs (default: twice an epoch)")
    parser.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    parser.add_argument("--patience", type=int, default=FineTuneSettings.patience,
                        help="validation runs without improvement before stopping")
    parser.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same model")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--reuse", action="store_true",
                        help="skip training when .aigen/model was trained on this corpus from this base")
    parser.add_argument("--fresh", action="store_true", help="ignore checkpoints of an earlier run")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress line")


def run_train(args: argparse.Namespace) -> int:
    """``mkdocs-aigen train``: build the corpus, fine-tune, save ``.aigen/model``, print the summary."""
    progress.set_enabled(args.progress)  # until the CLI framework does it for every command
    settings = load_settings(args.config_file)
    base = args.base.resolve() if args.base else base_model_dir(settings)
    if not (base / "config.json").is_file():
        raise ModelDirError(f"{base}: no model to fine-tune; pass --base DIR or set plugins.aigen.model in "
                            f"{args.config_file}")
    stats = build_site_corpus(settings, tokenizer_dir=base, validation_fraction=args.validation_fraction)
    print(format_stats(stats))
    options = FineTuneSettings(
        base_dir=base, out_dir=args.out.resolve() if args.out else settings.work_dir / "model",
        checkpoint_dir=settings.work_dir / "train-checkpoints",
        lora=LoraSettings(args.lora_rank, args.lora_alpha) if args.lora else None, lr=args.lr,
        seq_len=args.seq_len, batch_tokens=args.batch_tokens, epochs=args.epochs, max_steps=args.max_steps,
        max_minutes=args.max_minutes, eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
        patience=args.patience, seed=args.seed, device=args.device,
        digest_memo=settings.work_dir / "weights-digest.json",
    )
    outcome = fine_tune(corpus_dir(settings), options, reuse=args.reuse, fresh=args.fresh)
    for note in outcome.notes:
        print(note)
    print(summary_line(outcome))
    return 0
