r"""``mkdocs-aigen pretrain``: train the small base model from the installed packages' documentation.

Steps, all offline and resumable (re-running the same command continues where it stopped):

1. build the corpus (:mod:`mkdocs_aigen.ml.package_corpus`) into ``WORK/corpus``;
2. train a byte-level BPE tokenizer (special token ``<|endoftext|>``) on the training split;
3. encode the documents, joined with ``<|endoftext|>``, into token streams;
4. train a Qwen3 decoder (RoPE, QK-norm, RMSNorm, tied embeddings, zero-initialised attention and
   MLP output projections; Muon for hidden matrices) with :mod:`mkdocs_aigen.ml.loop`;
5. write a self-describing model dir (safetensors shards, tokenizer, ``aigen-model.json``,
   ``README.md``) with :func:`mkdocs_aigen.ml.checkpoint.save_model_dir`.

CPU recipe of the shipped ``mkdocs_aigen/ml/base`` (one thread, 75 minutes; the base
interpreter's site-packages added as an extra dir for more documentation)::

    RAYON_NUM_THREADS=1 mkdocs-aigen pretrain --out /tmp/aigen-pretrain/model \
        --work-dir /tmp/aigen-pretrain/work --max-bytes 60000000 \
        --source-weights docs=0.3,docstrings=0.5,source=0.2 \
        --extra-dir /root/.pyenv/versions/3.11.7/lib/python3.11/site-packages \
        --tokenizer-bytes 12000000 --vocab-size 4096 --layers 4 --hidden 192 --heads 6 \
        --seq-len 256 --batch-tokens 8192 --max-minutes 75 --eval-every 150 --eval-tokens 65536 \
        --seed 0 --threads 1 --device cpu

GPU recipe (one H200: bf16 autocast, ``torch.compile``, 256k-token batches; 17M parameters,
saved in bf16 so the dir stays under the 40 MB budget of ``mkdocs_aigen/ml/base``). Corpus
building and encoding take about 3 minutes of the 10 a device command may run::

    mkdocs-aigen pretrain --out /tmp/aigen-gpu/model --work-dir /tmp/aigen-gpu/work --device cuda \
        --compile --max-bytes 400000000 --vocab-size 8192 --layers 8 --hidden 384 --heads 6 \
        --seq-len 1024 --batch-tokens 262144 --micro-batch-tokens 65536 --lr 0.006 --muon-lr 0.03 \
        --warmup-steps 30 --eval-every 100 --eval-tokens 1048576 --max-minutes 5 --threads 16 \
        --save-dtype bfloat16 --no-progress
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.safeio import atomic_write_text
from mkdocs_aigen.ml import package_corpus
from mkdocs_aigen.ml.loop import OPTIMIZERS, SCHEDULES, TrainConfig, TrainResult, evaluate, result_to_dict, train

if TYPE_CHECKING:
    import torch

EOS = "<|endoftext|>"
TOKEN_STREAMS = "tokens.safetensors"
SAVE_DTYPES = ("float32", "bfloat16")


class PretrainError(AigenError):
    """Pretraining settings are invalid."""


@dataclass
class ModelShape:
    """Size of the Qwen3 decoder."""

    layers: int = 4
    hidden: int = 256
    heads: int = 4
    kv_heads: int | None = None
    intermediate: int | None = None
    vocab_size: int = 8192

    def __post_init__(self) -> None:
        if min(self.layers, self.hidden, self.heads) < 1:
            raise PretrainError("--layers, --hidden and --heads must be >= 1")
        if self.hidden % self.heads:
            raise PretrainError(f"--hidden {self.hidden} must be a multiple of --heads {self.heads}")
        if (self.hidden // self.heads) % 2:
            raise PretrainError("--hidden / --heads (the head size) must be even for RoPE")
        kv = self.kv_heads or self.heads
        if self.heads % kv:
            raise PretrainError(f"--heads {self.heads} must be a multiple of --kv-heads {kv}")
        if self.vocab_size < 260:
            raise PretrainError("--vocab-size must be >= 260 (256 bytes + special tokens)")

    @property
    def intermediate_size(self) -> int:
        """SwiGLU width: about 8/3 of hidden, rounded up to a multiple of 32."""
        return self.intermediate or -(-8 * self.hidden // 3 // 32) * 32


@dataclass
class PretrainConfig:
    """Everything :func:`pretrain` needs."""

    out: Path
    work_dir: Path
    recipe: package_corpus.CorpusRecipe = field(default_factory=package_corpus.CorpusRecipe)
    corpus_dir: Path | None = None
    shape: ModelShape = field(default_factory=ModelShape)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_minutes=1.0))
    tokenizer_bytes: int = 20_000_000
    threads: int | None = None
    save_dtype: str = "float32"
    command_line: str = ""

    @property
    def corpus_path(self) -> Path:
        """The given corpus dir, or the one built from ``recipe`` in the work dir."""
        return self.corpus_dir or self.work_dir / "corpus"

    def __post_init__(self) -> None:
        self.out, self.work_dir = Path(self.out), Path(self.work_dir)
        self.corpus_dir = Path(self.corpus_dir) if self.corpus_dir else None
        if self.tokenizer_bytes < 1:
            raise PretrainError("--tokenizer-bytes must be >= 1")
        if self.save_dtype not in SAVE_DTYPES:
            raise PretrainError(f"--save-dtype must be one of {SAVE_DTYPES}")
        if self.threads is not None and self.threads < 1:
            raise PretrainError("--threads must be >= 1")


def train_tokenizer(texts, vocab_size: int, max_length: int):
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core, eos_token=EOS, bos_token=EOS, pad_token=EOS, model_max_length=max_length
    )


def _limited_texts(documents, budget: int):
    used = 0
    for document in documents:
        if used >= budget:
            return
        used += len(document.text.encode("utf-8"))
        yield document.text


def _tokenizer(config: PretrainConfig):
    """The run's tokenizer: loaded from the work dir, or trained and saved there."""
    from transformers import PreTrainedTokenizerFast

    path = config.work_dir / f"tokenizer-{config.shape.vocab_size}"
    if (path / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    documents = package_corpus.read_documents(config.corpus_path, "train")
    tokenizer = train_tokenizer(
        _limited_texts(documents, config.tokenizer_bytes), config.shape.vocab_size, config.train.seq_len
    )
    tokenizer.save_pretrained(str(path))
    return tokenizer


def encode_split(tokenizer, documents) -> tuple["torch.Tensor", dict[str, dict[str, int]]]:
    """One int32 stream of the documents, each followed by ``<|endoftext|>``, and counts per source."""
    import torch

    eos = tokenizer.eos_token_id
    pieces: list[torch.Tensor] = []
    counts: dict[str, dict[str, int]] = {}
    batch: list = []

    def flush() -> None:
        encoded = tokenizer.backend_tokenizer.encode_batch([d.text for d in batch], add_special_tokens=False)
        for document, ids in zip(batch, (e.ids for e in encoded)):
            entry = counts.setdefault(document.source, {"documents": 0, "bytes": 0, "tokens": 0})
            entry["documents"] += 1
            entry["bytes"] += len(document.text.encode("utf-8"))
            entry["tokens"] += len(ids) + 1
            pieces.append(torch.tensor(ids + [eos], dtype=torch.int32))
        batch.clear()

    for document in documents:
        batch.append(document)
        if len(batch) == 256:
            flush()
    if batch:
        flush()
    if not pieces:
        return torch.zeros(0, dtype=torch.int32), counts
    return torch.cat(pieces), counts


def _token_streams(config: PretrainConfig, tokenizer) -> tuple[dict[str, "torch.Tensor"], dict]:
    """Train / validation token streams (cached in the work dir) and their per-source counts."""
    from safetensors.torch import load_file, save_file

    path = config.work_dir / f"tokenizer-{config.shape.vocab_size}" / TOKEN_STREAMS
    counts_path = path.with_suffix(".json")
    if path.is_file() and counts_path.is_file():
        return load_file(str(path)), json.loads(counts_path.read_text(encoding="utf-8"))
    streams, counts = {}, {}
    for split in package_corpus.SPLITS:
        streams[split], counts[split] = encode_split(
            tokenizer, package_corpus.read_documents(config.corpus_path, split)
        )
    tmp = path.with_suffix(".tmp")
    save_file(streams, str(tmp))
    tmp.replace(path)
    atomic_write_text(counts_path, json.dumps(counts, indent=1, sort_keys=True))
    return streams, counts


def build_model(shape: ModelShape, tokenizer, max_positions: int, seed: int):
    """A freshly initialised Qwen3 causal LM; attention and MLP output projections start at zero."""
    import torch
    from transformers import AutoModelForCausalLM, Qwen3Config

    model_config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads or shape.heads,
        head_dim=shape.hidden // shape.heads,
        max_position_embeddings=max_positions,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=True,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.eos_token_id,
        use_cache=True,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(model_config, attn_implementation="sdpa")
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
    return model


def _hardware(device: str) -> dict[str, object]:
    import torch

    info: dict[str, object] = {
        "device": device,
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _bits_per_byte(loss: float | None, counts: dict[str, dict[str, int]]) -> float | None:
    tokens = sum(c["tokens"] for c in counts.values())
    size = sum(c["bytes"] for c in counts.values())
    if loss is None or not size:
        return None
    return loss * tokens / size / math.log(2)


def model_card(
    config: PretrainConfig, result: TrainResult, params: int, manifest: dict, counts: dict, val_loss: float
) -> dict:
    """The ``aigen-model.json`` card; ``val_loss`` is over every held-out validation token."""
    return {
        "kind": "base",
        "architecture": "Qwen3ForCausalLM",
        "command_line": config.command_line,
        "seed": config.train.seed,
        "shape": asdict(config.shape) | {"intermediate": config.shape.intermediate_size},
        "parameters": params,
        "weights_dtype": config.save_dtype,
        "training": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config.train).items()},
        "corpus": {"recipe": manifest["recipe"], "documents_bytes": manifest["stats"], "tokens": counts},
        "licences": manifest["licences"],
        "result": result_to_dict(result),
        "validation": {
            "loss": val_loss,
            "perplexity": math.exp(val_loss),
            "bits_per_byte": _bits_per_byte(val_loss, counts["validation"]),
            "tokens": sum(c["tokens"] for c in counts["validation"].values()),
            "held_out": "every document of the corpus whose id hashes into the validation split",
        },
        "hardware": _hardware(result.device),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def readme(card: dict) -> str:
    """A human-readable model card."""
    val = card["validation"]
    result = card["result"]
    shape = card["shape"]
    return f"""# mkdocs-aigen base model

A small {card['architecture']} ({card['parameters']:,} parameters: {shape['layers']} layers, hidden
{shape['hidden']}, {shape['heads']} heads, vocabulary {shape['vocab_size']}) pretrained from scratch,
offline, on the documentation that ships with Python packages: Markdown/reST files and package
descriptions, docstrings laid out as Markdown, and Python source. `mkdocs-aigen train` fine-tunes
it on a site's own pages; on its own it only writes plausible-looking, unreliable text.

- Tokens seen: {result['tokens_seen']:,} in {result['steps']:,} steps, {result['wall_seconds'] / 60:.1f} minutes
  on {card['hardware']['device']} ({card['hardware']['torch_threads']} threads).
- Validation (held-out documents): loss {val['loss']:.4f}, perplexity {val['perplexity']:.2f},
  {val['bits_per_byte']:.3f} bits per byte.
- Seed {card['seed']}. Command line:

```
{card['command_line']}
```

Licences: {card['licences']} The weights are a statistical summary of that text.
`aigen-model.json` holds the full recipe, corpus statistics and loss history.
"""


def _corpus_manifest(config: PretrainConfig) -> dict:
    """The manifest of the run's corpus, building it first when the work dir has none."""
    if config.corpus_dir is not None:
        return package_corpus.read_manifest(config.corpus_dir)
    if not (config.corpus_path / package_corpus.MANIFEST).is_file():
        return package_corpus.build_corpus(config.corpus_path, config.recipe)
    manifest = package_corpus.read_manifest(config.corpus_path)
    if manifest["recipe"] != json.loads(json.dumps(asdict(config.recipe))):
        raise PretrainError(
            f"{config.corpus_path / package_corpus.MANIFEST}: the corpus there was built with other corpus "
            "flags; use another --work-dir, delete that corpus, or pass it as --corpus to reuse it"
        )
    return manifest


def pretrain(config: PretrainConfig) -> dict:
    """Run every step (resuming where possible) and write the model dir; return its card."""
    import torch

    from mkdocs_aigen.ml.checkpoint import save_model_dir

    if config.threads:
        torch.set_num_threads(config.threads)
    config.work_dir.mkdir(parents=True, exist_ok=True)
    manifest = _corpus_manifest(config)
    tokenizer = _tokenizer(config)
    streams, counts = _token_streams(config, tokenizer)
    model = build_model(config.shape, tokenizer, config.train.seq_len, config.train.seed)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"pretrain: {params:,} parameters; {streams['train'].numel():,} training tokens, "
        f"{streams['validation'].numel():,} validation tokens",
        file=sys.stderr,
    )
    if config.train.checkpoint_dir is None:
        config.train.checkpoint_dir = config.work_dir / "checkpoints"
    result = train(model, streams["train"], streams["validation"], config.train)
    full_loss, _ = evaluate(model, streams["validation"], config.train.seq_len, bf16=config.train.bf16)
    card = model_card(config, result, params, manifest, counts, full_loss)
    model.to("cpu", dtype=getattr(torch, config.save_dtype))
    save_model_dir(model, tokenizer, config.out, card)
    atomic_write_text(config.out / "README.md", readme(card))
    return card


def add_arguments(parser: argparse.ArgumentParser, command: str = "pretrain") -> None:
    """Register the ``pretrain`` flags on an argparse (sub)parser."""
    parser.add_argument("--out", type=Path, required=True, help="model dir to write")
    parser.add_argument("--work-dir", type=Path, help="corpus, tokenizer and checkpoints (default: OUT.work)")
    parser.add_argument("--corpus", type=Path, help="an existing corpus dir to use (default: WORK/corpus)")
    package_corpus.add_arguments(parser)
    parser.add_argument("--tokenizer-bytes", type=int, default=20_000_000, help="text used to train the tokenizer")
    parser.add_argument("--vocab-size", type=int, default=8192)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int)
    parser.add_argument("--intermediate", type=int, help="MLP width (default: 8/3 × hidden)")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch-tokens", type=int, default=8192)
    parser.add_argument("--micro-batch-tokens", type=int)
    parser.add_argument("--max-minutes", type=float)
    parser.add_argument("--max-tokens", type=int, help="stop after this many training tokens")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW learning rate")
    parser.add_argument("--muon-lr", type=float, default=0.02)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="muon")
    parser.add_argument("--schedule", choices=SCHEDULES, default="wsd")
    parser.add_argument("--warmup-steps", type=int, default=50)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-tokens", type=int, default=32768)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (GPU runs)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--save-dtype", choices=SAVE_DTYPES, default="float32", help="dtype of the saved weights")
    parser.add_argument("--no-progress", action="store_true")


def config_from_args(args: argparse.Namespace, command_line: str) -> PretrainConfig:
    """A :class:`PretrainConfig` from parsed :func:`add_arguments` flags."""
    if args.max_minutes is None and args.max_tokens is None:
        raise PretrainError("pretrain needs --max-minutes or --max-tokens (or both)")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise PretrainError("--max-tokens must be >= 1")
    train_config = TrainConfig(
        lr=args.lr,
        muon_lr=args.muon_lr,
        optimizer=args.optimizer,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        batch_tokens=args.batch_tokens,
        micro_batch_tokens=args.micro_batch_tokens,
        seq_len=args.seq_len,
        max_minutes=args.max_minutes,
        max_steps=None if args.max_tokens is None else -(-args.max_tokens // args.batch_tokens),
        eval_every=args.eval_every,
        eval_tokens=args.eval_tokens,
        seed=args.seed,
        device=args.device,
        compile=args.compile,
        progress=not args.no_progress,
    )
    work_dir = args.work_dir or args.out.with_name(args.out.name + ".work")
    return PretrainConfig(
        out=args.out,
        work_dir=work_dir,
        corpus_dir=args.corpus,
        recipe=package_corpus.recipe_from_args(args),
        shape=ModelShape(
            layers=args.layers,
            hidden=args.hidden,
            heads=args.heads,
            kv_heads=args.kv_heads,
            intermediate=args.intermediate,
            vocab_size=args.vocab_size,
        ),
        train=train_config,
        tokenizer_bytes=args.tokenizer_bytes,
        threads=args.threads,
        save_dtype=args.save_dtype,
        command_line=command_line,
    )


def run(args: argparse.Namespace, command_line: str | None = None) -> int:
    """Run the subcommand; ``AigenError`` becomes a one-line message and exit status 2."""
    command = command_line or shlex.join(["mkdocs-aigen", "pretrain", *sys.argv[2:]])
    try:
        card = pretrain(config_from_args(args, command))
    except AigenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    val = card["validation"]
    print(
        f"wrote {args.out}: {card['result']['tokens_seen']:,} tokens, "
        f"validation loss {val['loss']:.4f} (perplexity {val['perplexity']:.2f})"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mkdocs_aigen.ml.pretrain [flags]``."""
    parser = argparse.ArgumentParser(
        prog="mkdocs-aigen pretrain", description="Pretrain the base model on installed packages' documentation."
    )
    add_arguments(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    return run(parser.parse_args(argv), shlex.join(["mkdocs-aigen", "pretrain", *argv]))


if __name__ == "__main__":
    raise SystemExit(main())
