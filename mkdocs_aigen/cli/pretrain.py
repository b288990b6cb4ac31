"""``mkdocs-aigen pretrain``: train a base model from scratch on installed packages' documentation.

Flags map onto :class:`mkdocs_aigen.ml.pretrain.PretrainConfig`; :func:`command_line` maps a
config back to the one canonical command that reproduces it (recorded in the model card).
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from mkdocs_aigen.ml.corpus import CorpusError
from mkdocs_aigen.ml.loop_config import OPTIMIZERS, SCHEDULES, TrainConfig
from mkdocs_aigen.ml.model import ModelShape
from mkdocs_aigen.ml.package_corpus import CorpusRecipe
from mkdocs_aigen.ml.pretrain import SAVE_DTYPES, PretrainConfig, PretrainError

NAME = "pretrain"
HELP = "train a base model from scratch on offline text"
EXAMPLE = """example (a small base in 10 minutes of CPU time):
  mkdocs-aigen pretrain --out base --max-minutes 10 --vocab-size 4096 --layers 4 --hidden 192 --heads 6

Re-running the same command resumes from the checkpoints in OUT.work. The recipes of the shipped
base are in mkdocs_aigen/ml/pretrain.py."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``pretrain`` flags (the CLI framework adds ``--device`` and ``--no-progress``)."""
    parser.add_argument("--out", type=Path, required=True, help="model dir to write")
    parser.add_argument("--work-dir", type=Path, help="corpus, tokenizer and checkpoints (default: OUT.work)")
    parser.add_argument("--corpus", type=Path, help="an existing corpus dir to use (default: WORK/corpus)")
    parser.add_argument("--max-bytes", type=int, default=CorpusRecipe.max_bytes, help="text budget of the corpus")
    parser.add_argument("--source-weights", default=_weights_text(CorpusRecipe().source_weights),
                        help="share of the budget per source, e.g. docs=1,docstrings=1,source=0")
    parser.add_argument("--validation-fraction", type=float, default=CorpusRecipe.validation_fraction,
                        help="share of documents held out for validation")
    parser.add_argument("--extra-dir", type=Path, action="append", default=[],
                        help="another directory to scan (repeatable)")
    parser.add_argument("--lang-dir", action="append", default=[], metavar="LANG=DIR",
                        help="a manual in another language: HTML and man pages under DIR, e.g. "
                             "zh=/usr/share/man/zh_CN (repeatable)")
    parser.add_argument("--no-stdlib", action="store_true", help="leave the standard library out")
    parser.add_argument("--no-site-packages", action="store_true",
                        help="leave installed packages out (those of the environment and, in a venv, of its "
                             "base interpreter)")
    parser.add_argument("--tokenizer-bytes", type=int, default=PretrainConfig.tokenizer_bytes,
                        help="text used to train the tokenizer")
    parser.add_argument("--vocab-size", type=int, default=ModelShape.vocab_size, help="tokenizer vocabulary size")
    parser.add_argument("--layers", type=int, default=ModelShape.layers, help="transformer layers")
    parser.add_argument("--hidden", type=int, default=ModelShape.hidden, help="hidden size")
    parser.add_argument("--heads", type=int, default=ModelShape.heads, help="attention heads")
    parser.add_argument("--kv-heads", type=int, help="key/value heads (default: as many as --heads)")
    parser.add_argument("--intermediate", type=int, help="MLP width (default: 8/3 × hidden)")
    parser.add_argument("--seq-len", type=int, default=TrainConfig.seq_len, help="tokens per training window")
    parser.add_argument("--batch-tokens", type=int, default=TrainConfig.batch_tokens, help="tokens per optimiser step")
    parser.add_argument("--micro-batch-tokens", type=int,
                        help="tokens per forward pass (gradient accumulation below --batch-tokens)")
    parser.add_argument("--max-minutes", type=float, help="stop after this much training time")
    parser.add_argument("--max-tokens", type=int, help="stop after this many training tokens")
    parser.add_argument("--lr", type=float, default=TrainConfig.lr, help="AdamW learning rate")
    parser.add_argument("--muon-lr", type=float, default=TrainConfig.muon_lr, help="Muon learning rate (matrices)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=TrainConfig.optimizer,
                        help="optimizer of the weight matrices")
    parser.add_argument("--schedule", choices=SCHEDULES, default=TrainConfig.schedule, help="learning-rate schedule")
    parser.add_argument("--warmup-steps", type=int, default=TrainConfig.warmup_steps, help="steps of linear warm-up")
    parser.add_argument("--eval-every", type=int, default=TrainConfig.eval_every, help="steps between validation runs")
    parser.add_argument("--eval-tokens", type=int, default=TrainConfig.eval_tokens, help="validation tokens per run")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed, help="seed: the same seed gives the same model")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (GPU runs)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--init-from", type=Path, metavar="MODEL_DIR",
                        help="continue pretraining this model dir (its tokenizer and shape; the window "
                             "widens to --seq-len) instead of starting from scratch")
    parser.add_argument("--save-dtype", choices=SAVE_DTYPES, default="float32", help="dtype of the saved weights")


def run(args: argparse.Namespace) -> int:
    """Pretrain, write the model dir, print where and how well."""
    from mkdocs_aigen.ml.pretrain import pretrain

    card = pretrain(config_from_args(args))
    val = card["validation"]
    print(f"wrote {args.out}: {card['result']['tokens_seen']:,} tokens, "
          f"validation loss {val['loss']:.4f} (perplexity {val['perplexity']:.2f})")
    return 0


def config_from_args(args: argparse.Namespace) -> PretrainConfig:
    """A :class:`PretrainConfig` from parsed flags, its canonical command included."""
    if args.max_minutes is None and args.max_tokens is None:
        raise PretrainError("pretrain needs --max-minutes or --max-tokens (or both)")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise PretrainError("--max-tokens must be >= 1")
    config = PretrainConfig(
        out=args.out,
        work_dir=args.work_dir,
        corpus_dir=args.corpus,
        recipe=CorpusRecipe(
            max_bytes=args.max_bytes,
            source_weights=parse_source_weights(args.source_weights),
            validation_fraction=args.validation_fraction,
            include_stdlib=not args.no_stdlib,
            include_site_packages=not args.no_site_packages,
            extra_dirs=tuple(str(d.resolve()) for d in args.extra_dir),
            lang_dirs=tuple(parse_lang_dir(item) for item in args.lang_dir),
            kind_labels=packaged_kind_labels(),
        ),
        shape=ModelShape(layers=args.layers, hidden=args.hidden, heads=args.heads, kv_heads=args.kv_heads,
                         intermediate=args.intermediate, vocab_size=args.vocab_size),
        train=TrainConfig(
            lr=args.lr, muon_lr=args.muon_lr, optimizer=args.optimizer, schedule=args.schedule,
            warmup_steps=args.warmup_steps, batch_tokens=args.batch_tokens,
            micro_batch_tokens=args.micro_batch_tokens, seq_len=args.seq_len, max_minutes=args.max_minutes,
            max_steps=None if args.max_tokens is None else -(-args.max_tokens // args.batch_tokens),
            eval_every=args.eval_every, eval_tokens=args.eval_tokens, seed=args.seed, device=args.device,
            compile=args.compile,
        ),
        tokenizer_bytes=args.tokenizer_bytes,
        threads=args.threads,
        save_dtype=args.save_dtype,
        init_from=args.init_from,
    )
    config.command_line = command_line(config)
    return config


def parse_source_weights(text: str) -> dict[str, float]:
    """``docs=0.5,source=1`` → ``{"docs": 0.5, "source": 1.0}``; a bad item names the flag."""
    weights: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = None
        if not sep or weight is None:
            raise CorpusError(f"--source-weights item {item!r}: write NAME=NUMBER, e.g. docs=0.5")
        weights[name.strip()] = weight
    return weights


def parse_lang_dir(text: str) -> tuple[str, str]:
    """``zh=/usr/share/man/zh_CN`` → ``("zh", "/usr/share/man/zh_CN")`` (the dir resolved)."""
    language, sep, folder = text.partition("=")
    if not sep or not language.strip() or not folder.strip():
        raise CorpusError(f"--lang-dir {text!r}: write LANG=DIR, e.g. zh=/usr/share/man/zh_CN")
    return language.strip(), str(Path(folder).resolve())


def packaged_kind_labels() -> dict[str, str]:
    """The label of every packaged page kind (``label`` in its template), as prompts print it."""
    from mkdocs_aigen.drafting.kinds import KindLibrary

    kinds = KindLibrary()
    return {name: str(kinds.get(name).module.label) for name in kinds.names}


def _weights_text(weights: dict[str, float]) -> str:
    return ",".join(f"{name}={weight}" for name, weight in sorted(weights.items()))


RECIPE_FLAGS = ("--max-bytes", "--source-weights", "--validation-fraction", "--extra-dir", "--lang-dir", "--no-stdlib",
                "--no-site-packages")  # moot with --corpus (the corpus' manifest records how it was built)
SHAPE_FLAGS = ("--tokenizer-bytes", "--vocab-size", "--layers", "--hidden", "--heads", "--kv-heads",
               "--intermediate")  # moot with --init-from (the model brings its tokenizer and shape)


def command_line(config: PretrainConfig) -> str:
    """The canonical command reproducing ``config``: every setting spelled out in a fixed order, paths
    as placeholders (``OUT``, ``WORK_DIR``, ``CORPUS_DIR``, ``EXTRA_DIR_1``...), nothing of this machine."""
    recipe, shape, train = config.recipe, config.shape, config.train
    flags: list[tuple[str, object]] = [
        ("--out", "OUT"),
        ("--work-dir", "WORK_DIR" if config.work_dir != config.default_work_dir else None),
        ("--corpus", "CORPUS_DIR" if config.corpus_dir else None),
        ("--max-bytes", recipe.max_bytes),
        ("--source-weights", _weights_text(recipe.source_weights)),
        ("--validation-fraction", recipe.validation_fraction),
        *[("--extra-dir", f"EXTRA_DIR_{index}") for index in range(1, len(recipe.extra_dirs) + 1)],
        *[("--lang-dir", f"{language}={folder}") for language, folder in recipe.lang_dirs],
        ("--no-stdlib", not recipe.include_stdlib),
        ("--no-site-packages", not recipe.include_site_packages),
        ("--tokenizer-bytes", config.tokenizer_bytes),
        ("--vocab-size", shape.vocab_size), ("--layers", shape.layers), ("--hidden", shape.hidden),
        ("--heads", shape.heads), ("--kv-heads", shape.kv_heads), ("--intermediate", shape.intermediate),
        ("--seq-len", train.seq_len), ("--batch-tokens", train.batch_tokens),
        ("--micro-batch-tokens", train.micro_batch_tokens), ("--max-minutes", train.max_minutes),
        ("--max-tokens", train.max_steps and train.max_steps * train.batch_tokens),
        ("--lr", train.lr), ("--muon-lr", train.muon_lr), ("--optimizer", train.optimizer),
        ("--schedule", train.schedule), ("--warmup-steps", train.warmup_steps), ("--eval-every", train.eval_every),
        ("--eval-tokens", train.eval_tokens), ("--seed", train.seed), ("--device", train.device),
        ("--compile", train.compile), ("--threads", config.threads), ("--save-dtype", config.save_dtype),
        ("--init-from", "INIT_DIR" if config.init_from else None),
    ]
    ignored = (RECIPE_FLAGS if config.corpus_dir else ()) + (SHAPE_FLAGS if config.init_from else ())
    words = ["mkdocs-aigen", NAME]
    for flag, value in flags:
        if flag in ignored:
            continue
        if value is True:
            words.append(flag)
        elif value is not None and value is not False:
            words += [flag, str(value)]
    return shlex.join(words)
