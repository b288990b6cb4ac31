"""``mkdocs-aigen train``: build the corpus, fine-tune the base on it, save ``.aigen/model/``.

Reads the site's settings (mkdocs.yml) and hands plain paths and settings to :mod:`mkdocs_aigen.ml`,
which never imports mkdocs; torch and transformers load inside :func:`mkdocs_aigen.ml.train.fine_tune`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mkdocs_aigen.cli import corpus
from mkdocs_aigen.ml.train import (
    DEFAULT_EPOCHS,
    LR_FULL,
    LR_LORA,
    FineTuneSettings,
    LoraSettings,
)

NAME = "train"
HELP = "fine-tune the model on the site's corpus"
EXAMPLE = """\
examples:
  mkdocs-aigen train --max-minutes 10                 # full fine-tune of the base, from ./mkdocs.yml
  mkdocs-aigen train -f site/mkdocs.yml --lora --reuse   # a PEFT adapter dir (--merge: a full model)
  accelerate launch --multi_gpu --num_processes 4 -m mkdocs_aigen.cli train --lora   # data-parallel
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    corpus.add_arguments(parser)
    parser.add_argument("--base", type=Path, help="model to start from (default: plugins.aigen.model, "
                                                  "else the base shipped with mkdocs-aigen)")
    parser.add_argument("--out", type=Path, help="where to write the model (default: .aigen/model)")
    parser.add_argument("--lora", action="store_true", help="train LoRA adapters instead of every weight and "
                                                            "write a PEFT adapter dir")
    parser.add_argument("--merge", action="store_true", help="with --lora: write a full model with the "
                                                             "adapters merged in")
    parser.add_argument("--lora-rank", type=int, default=LoraSettings.rank,
                        help=f"rank of the LoRA adapters (default {LoraSettings.rank})")
    parser.add_argument("--lora-alpha", type=int, default=LoraSettings.alpha,
                        help=f"LoRA scaling alpha (default {LoraSettings.alpha})")
    parser.add_argument("--lr", type=float, help=f"peak learning rate (default {LR_FULL}, {LR_LORA} with --lora)")
    parser.add_argument("--seq-len", type=int, default=FineTuneSettings.seq_len,
                        help=f"tokens per window (default {FineTuneSettings.seq_len})")
    parser.add_argument("--batch-tokens", type=int, default=FineTuneSettings.batch_tokens,
                        help=f"tokens per optimiser step (default {FineTuneSettings.batch_tokens})")
    parser.add_argument("--epochs", type=float, help=f"passes over the corpus (default {DEFAULT_EPOCHS:g} unless "
                                                     "only --max-minutes is given)")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    parser.add_argument("--max-minutes", type=float, help="stop after this much training time")
    parser.add_argument("--eval-every", type=int, help="steps between validation runs (default: twice an epoch)")
    parser.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    parser.add_argument("--patience", type=int, default=FineTuneSettings.patience,
                        help=f"validation runs without improvement before stopping "
                             f"(default {FineTuneSettings.patience})")
    parser.add_argument("--seed", type=int, default=0, help="seed: the same seed gives the same model (default 0)")
    parser.add_argument("--reuse", action="store_true",
                        help="skip training when .aigen/model was trained on this corpus from this base")
    parser.add_argument("--fresh", action="store_true", help="ignore checkpoints of an earlier run")


def run(args: argparse.Namespace) -> int:
    from mkdocs_aigen.cli.config_file import settings_for
    from mkdocs_aigen.ml.corpus import format_stats
    from mkdocs_aigen.ml.loop_config import TrainingError
    from mkdocs_aigen.ml.parallel import main_only, processes
    from mkdocs_aigen.ml.train import check_base_dir, fine_tune, summary_line
    from mkdocs_aigen.site_corpus import base_model_dir, build_site_corpus, corpus_dir

    if args.merge and not args.lora:
        raise TrainingError("--merge merges LoRA adapters into the base: add --lora")
    settings = settings_for(args)
    base = args.base.resolve() if args.base else base_model_dir(settings)
    check_base_dir(base)
    stats = main_only(build_site_corpus, settings, tokenizer_dir=base, validation_fraction=args.validation_fraction,
                      context=corpus.context_provider(settings))
    main_only(print, format_stats(stats) if stats else "")
    options = FineTuneSettings(
        base_dir=base, out_dir=args.out.resolve() if args.out else settings.work_dir / "model",
        checkpoint_dir=settings.work_dir / "train-checkpoints",
        lora=LoraSettings(args.lora_rank, args.lora_alpha) if args.lora else None, merge=args.merge, lr=args.lr,
        seq_len=args.seq_len, batch_tokens=args.batch_tokens, epochs=args.epochs, max_steps=args.max_steps,
        max_minutes=args.max_minutes, eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
        patience=args.patience, seed=args.seed, device=settings.device or "auto",
        digest_memo=settings.work_dir / "weights-digest.json",
    )
    outcome = fine_tune(corpus_dir(settings), options, reuse=args.reuse, fresh=args.fresh)
    if processes().is_main:
        for note in outcome.notes:
            print(note)
        print(summary_line(outcome))
    return 0
