r"""Pretraining: the small base model, trained from the installed packages' documentation.

``mkdocs-aigen pretrain`` (:mod:`mkdocs_aigen.cli.pretrain`) runs :func:`pretrain`. Steps, all
offline and resumable (re-running the same command continues where it stopped):

1. build the corpus (:mod:`mkdocs_aigen.ml.package_corpus`) into ``WORK/corpus``;
2. train a byte-level BPE tokenizer (special token ``<|endoftext|>``) on the training split;
3. encode the documents, joined with ``<|endoftext|>``, into token streams;
4. train a Qwen3 decoder (:mod:`mkdocs_aigen.ml.model`; Muon for hidden matrices) with
   :mod:`mkdocs_aigen.ml.loop`;
5. write a self-describing model dir (safetensors shards, tokenizer, ``aigen-model.json``,
   ``README.md``) with :func:`mkdocs_aigen.ml.checkpoint.save_model_dir`.

The corpus mixes plain text (package docs, docstrings, source; Chinese manuals) with grounded-shape
documents (:mod:`mkdocs_aigen.ml.grounded_corpus`: a section or a docstring written from passages in
the prompt shape the templates render), about half each by tokens. Installed packages include the
base interpreter's when run from a venv. The Chinese manuals are Debian packages
(``apt-get install debian-reference-zh-cn manpages-zh``).

Recipes. The grounded corpus with Chinese manuals and an 8192-token tokenizer that covers Chinese
(a from-scratch run; on 2 shared CPU cores it reached too few tokens, see the README's choices)::

    RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 mkdocs-aigen pretrain --out OUT --work-dir WORK_DIR \
        --max-bytes 30000000 \
        --source-weights docs=0.12,docstrings=0.18,source=0.08,sections=0.25,api=0.2,manuals=0.07,manual-sections=0.1 \
        --lang-dir zh=/usr/share/debian-reference --lang-dir zh=/usr/share/man/zh_CN \
        --tokenizer-bytes 12000000 --vocab-size 8192 --layers 4 --hidden 192 --heads 6 \
        --seq-len 1024 --batch-tokens 8192 --max-minutes 52 --eval-every 25 --eval-tokens 32768 \
        --warmup-steps 50 --seed 0 --threads 1 --device cpu

The shipped base: the previous base (``INIT_DIR``: ``--vocab-size 4096 --seq-len 256``, plain text only,
75 minutes, its command in the card's ``continued_from``) continued on that corpus (``CORPUS_DIR``, built
by the command above) for 62 minutes on one thread::

    RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 mkdocs-aigen pretrain --out OUT --work-dir WORK_DIR \
        --corpus CORPUS_DIR --init-from INIT_DIR --seq-len 1024 --batch-tokens 8192 --max-minutes 62 \
        --lr 0.0015 --muon-lr 0.01 --warmup-steps 20 --eval-every 25 --eval-tokens 32768 --seed 0 \
        --threads 1 --device cpu

GPU recipe (one H200: bf16 autocast, ``torch.compile``, 256k-token batches; 17M parameters,
saved in bf16 so the dir stays under the 40 MB budget of ``mkdocs_aigen/ml/base``). Corpus
building and encoding take about 3 minutes of the 10 a device command may run::

    mkdocs-aigen pretrain --out OUT --work-dir WORK_DIR --device cuda \
        --compile --max-bytes 400000000 --vocab-size 8192 --layers 8 --hidden 384 --heads 6 \
        --seq-len 1024 --batch-tokens 262144 --micro-batch-tokens 65536 --lr 0.006 --muon-lr 0.03 \
        --warmup-steps 30 --eval-every 100 --eval-tokens 1048576 --max-minutes 5 --threads 16 \
        --save-dtype bfloat16 --no-progress
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.ml.corpus import MANIFEST, PACKAGES, SPLITS, read_manifest
from mkdocs_aigen.ml.loop import evaluate, train
from mkdocs_aigen.ml.loop_config import TrainConfig, TrainResult, result_to_dict
from mkdocs_aigen.ml.model import ARCHITECTURE, ModelShape, build_model, train_tokenizer
from mkdocs_aigen.ml.package_corpus import (
    CorpusRecipe,
    build_package_corpus,
    read_documents,
)
from mkdocs_aigen.safeio import atomic_write_text

if TYPE_CHECKING:
    import torch

TOKEN_STREAMS = "tokens.safetensors"
SAVE_DTYPES = ("float32", "bfloat16")


class PretrainError(AigenError):
    """Pretraining settings are invalid."""


@dataclass
class PretrainConfig:
    """Everything :func:`pretrain` needs."""

    out: Path
    work_dir: Path | None = None  # default: OUT.work next to OUT
    recipe: CorpusRecipe = field(default_factory=CorpusRecipe)
    corpus_dir: Path | None = None
    shape: ModelShape = field(default_factory=ModelShape)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_minutes=1.0))
    tokenizer_bytes: int = 20_000_000
    threads: int | None = None
    save_dtype: str = "float32"
    init_from: Path | None = None  # continue pretraining this model dir (its tokenizer and shape) instead
    command_line: str = ""

    @property
    def default_work_dir(self) -> Path:
        return self.out.with_name(self.out.name + ".work")

    @property
    def corpus_path(self) -> Path:
        """The given corpus dir, or the one built from ``recipe`` in the work dir."""
        return self.corpus_dir or self.work_dir / "corpus"

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.work_dir = Path(self.work_dir) if self.work_dir else self.default_work_dir
        self.corpus_dir = Path(self.corpus_dir) if self.corpus_dir else None
        if self.tokenizer_bytes < 1:
            raise PretrainError("--tokenizer-bytes must be >= 1")
        if self.save_dtype not in SAVE_DTYPES:
            raise PretrainError(f"--save-dtype must be one of {SAVE_DTYPES}")
        if self.threads is not None and self.threads < 1:
            raise PretrainError("--threads must be >= 1")


def _limited_texts(documents, budget: int):
    used = 0
    for document in documents:
        if used >= budget:
            return
        used += len(document.text.encode("utf-8"))
        yield document.text


def _tokenizer_dir(config: PretrainConfig) -> Path:
    """Where the run's tokenizer and its token streams are kept in the work dir."""
    return config.work_dir / ("tokenizer-init" if config.init_from else f"tokenizer-{config.shape.vocab_size}")


def _tokenizer(config: PretrainConfig):
    """The run's tokenizer: the ``init_from`` model's, else loaded from the work dir, else trained and
    saved there."""
    from transformers import PreTrainedTokenizerFast

    path = _tokenizer_dir(config)
    if (path / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    if config.init_from:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(config.init_from), local_files_only=True)
        tokenizer.save_pretrained(str(path))
        return tokenizer
    documents = read_documents(config.corpus_path, "train")
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

    path = _tokenizer_dir(config) / TOKEN_STREAMS
    counts_path = path.with_suffix(".json")
    if path.is_file() and counts_path.is_file():
        return load_file(str(path)), json.loads(counts_path.read_text(encoding="utf-8"))
    streams, counts = {}, {}
    for split in SPLITS:
        streams[split], counts[split] = encode_split(
            tokenizer, read_documents(config.corpus_path, split)
        )
    tmp = path.with_suffix(".tmp")
    save_file(streams, str(tmp))
    tmp.replace(path)
    atomic_write_text(counts_path, json.dumps(counts, indent=1, sort_keys=True))
    return streams, counts


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
    """The ``aigen-model.json`` card; ``val_loss`` is over every held-out validation token.

    It names no path of this machine: the command line has placeholders, extra dirs their names.
    """
    return {
        "kind": "base",
        "architecture": ARCHITECTURE,
        "command_line": config.command_line,
        "seed": config.train.seed,
        "continued_from": _origin(config.init_from),
        "shape": asdict(config.shape) | {"intermediate": config.shape.intermediate_size},
        "parameters": params,
        "weights_dtype": config.save_dtype,
        "training": {k: v for k, v in asdict(config.train).items() if k != "checkpoint_dir"},
        "corpus": {"recipe": manifest["recipe"] | {"extra_dirs": [Path(d).name for d in config.recipe.extra_dirs]},
                   "documents_bytes": manifest["stats"], "tokens": counts},
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
    origin = card.get("continued_from")
    how = (f"pretrained from scratch and then (this run) on {result['tokens_seen']:,} more tokens" if origin
           else "pretrained from scratch")
    return f"""# mkdocs-aigen base model

A small {card['architecture']} ({card['parameters']:,} parameters: {shape['layers']} layers, hidden
{shape['hidden']}, {shape['heads']} heads, vocabulary {shape['vocab_size']}) {how},
offline, on the documentation that ships with Python packages: Markdown/reST files and package
descriptions, docstrings laid out as Markdown, Python source, manuals in other languages where given,
and sections written from passages put before them in the prompt shape the drafting templates
render (so that it learns to copy facts from its context). `mkdocs-aigen train` fine-tunes
it on a site's own pages; on its own it only writes plausible-looking, unreliable text.

- Tokens seen: {result['tokens_seen']:,} in {result['steps']:,} steps, {result['wall_seconds'] / 60:.1f} minutes
  on {card['hardware']['device']} ({card['hardware']['torch_threads']} threads).
- Validation (held-out documents): loss {val['loss']:.4f}, perplexity {val['perplexity']:.2f},
  {val['bits_per_byte']:.3f} bits per byte.
- Seed {card['seed']}. Command line (paths as placeholders):

```
{card['command_line']}
```

Licences: {card['licences']} The weights are a statistical summary of that text.
`aigen-model.json` holds the full recipe, corpus statistics and loss history.
"""


def _corpus_manifest(config: PretrainConfig) -> dict:
    """The manifest of the run's corpus, building it first when the work dir has none."""
    if config.corpus_dir is not None:
        return read_manifest(config.corpus_dir, PACKAGES)
    if not (config.corpus_path / MANIFEST).is_file():
        return build_package_corpus(config.corpus_path, config.recipe)
    manifest = read_manifest(config.corpus_path, PACKAGES)
    if manifest["recipe"] != json.loads(json.dumps(asdict(config.recipe))):
        raise PretrainError(
            f"{config.corpus_path / MANIFEST}: the corpus there was built with other corpus "
            "flags; use another --work-dir, delete that corpus, or pass it as --corpus to reuse it"
        )
    return manifest


def _initial_model(config: PretrainConfig, tokenizer):
    """A fresh model of ``config.shape``, or the ``init_from`` model (fp32) with its window widened to
    the run's ``seq_len`` (rotary positions need no new weights); ``config.shape`` then becomes its shape."""
    import torch
    from transformers import AutoModelForCausalLM

    if config.init_from is None:
        return build_model(config.shape, tokenizer, config.train.seq_len, config.train.seed)
    model = AutoModelForCausalLM.from_pretrained(str(config.init_from), use_safetensors=True, trust_remote_code=False,
                                                 local_files_only=True, dtype=torch.float32)
    c = model.config
    c.max_position_embeddings = max(c.max_position_embeddings, config.train.seq_len)
    config.shape = ModelShape(layers=c.num_hidden_layers, hidden=c.hidden_size, heads=c.num_attention_heads,
                              kv_heads=None if c.num_key_value_heads == c.num_attention_heads else c.num_key_value_heads,
                              intermediate=c.intermediate_size,
                              vocab_size=c.vocab_size)
    model.train()
    return model


def _origin(init_from: Path | None) -> dict | None:
    """What a continued run started from: the model's weights digest, tokens and validation loss."""
    if init_from is None:
        return None
    from mkdocs_aigen.ml.checkpoint import read_model_card, weights_digest

    card = read_model_card(init_from)
    return {"weights": weights_digest(init_from), "tokens_seen": card.get("result", {}).get("tokens_seen"),
            "validation_loss": card.get("validation", {}).get("loss"), "command_line": card.get("command_line")}


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
    model = _initial_model(config, tokenizer)
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
