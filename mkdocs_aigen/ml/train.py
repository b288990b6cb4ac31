"""Fine-tune a local causal LM on a site corpus (:mod:`mkdocs_aigen.ml.corpus`) with :mod:`.loop`.

Each example is tokenised as the generator tokenises a prompt (``tokenizer(prompt)``), followed by
its completion and the end-of-text token; the loss is taken on the completion and end-of-text
tokens only (the prompt is masked), so the model learns to write a section for the prompt it will
be given. Examples are packed into one stream cut into ``seq_len`` windows (see :mod:`.loop`).

Full fine-tuning, or LoRA (``peft``): saved as a PEFT adapter dir (``adapter_config.json`` +
``adapter_model.safetensors``, whose ``base_model_name_or_path`` is the base's absolute path), or
with ``merge`` merged into the weights and saved as a full model dir. Validation loss and
perplexity are measured before and after; training stops early when validation loss stops
improving and keeps the best weights. Checkpoints in ``checkpoint_dir`` let an interrupted run
resume; they are discarded when the base, the corpus or the training settings change. Under
``accelerate launch`` every process trains its share (:mod:`.parallel`); only the main one writes.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from mkdocs_aigen.ml.checkpoint import (
    ModelDirError,
    adapter_base_dir,
    load_causal_lm,
    read_model_card,
    require_builtin_causal_lm,
    save_model_dir,
    weights_digest,
)
from mkdocs_aigen.ml.corpus import (
    SITE,
    CorpusError,
    Example,
    read_examples,
    read_manifest,
)
from mkdocs_aigen.ml.loop_config import TrainConfig, TrainingError, TrainResult
from mkdocs_aigen.ml.parallel import main_only, processes
from mkdocs_aigen.safeio import atomic_write_text

if TYPE_CHECKING:
    import torch

CARD_KIND = "site-fine-tune"
RUN_FILE = "run.json"
DEFAULT_EPOCHS = 3.0
LR_FULL = 1e-3
LR_LORA = 3e-3
MIN_SEQ_LEN = 16
ADAPTER_FORMAT = "peft-adapter"
MODEL_FORMAT = "model"


@dataclass(frozen=True)
class LoraSettings:
    """LoRA adapters on every linear layer but the output head."""

    rank: int = 8
    alpha: int = 16
    dropout: float = 0.0


@dataclass
class FineTuneSettings:
    """What to fine-tune, where to write it, and how long to train.

    Without ``max_steps`` the run lasts ``epochs`` passes over the training stream (default 3),
    unless only ``max_minutes`` bounds it.
    """

    base_dir: Path
    out_dir: Path
    checkpoint_dir: Path | None = None
    lora: LoraSettings | None = None
    merge: bool = False  # with lora: save a full model with the adapters merged, not the adapter dir
    lr: float | None = None
    seq_len: int = 512
    batch_tokens: int = 4096
    epochs: float | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    eval_every: int | None = None
    checkpoint_every: int | None = None
    patience: int | None = 3
    seed: int = 0
    device: str = "auto"
    digest_memo: Path | None = None  # weights_digest's memo file, so unchanged weights are not re-hashed

    @property
    def learning_rate(self) -> float:
        return self.lr or (LR_LORA if self.lora else LR_FULL)

    @property
    def output_format(self) -> str:
        """``peft-adapter`` (LoRA, not merged) or ``model`` (a full model dir)."""
        return ADAPTER_FORMAT if self.lora and not self.merge else MODEL_FORMAT


@dataclass
class FineTuneOutcome:
    """The written model dir and its card; ``reused`` when training was skipped (``reuse=True``)."""

    out_dir: Path
    card: dict
    reused: bool = False
    notes: list[str] = field(default_factory=list)


def fine_tune(corpus_dir: Path, settings: FineTuneSettings, *, reuse: bool = False,
              fresh: bool = False) -> FineTuneOutcome:
    """Fine-tune ``settings.base_dir`` on the corpus in ``corpus_dir`` and save ``settings.out_dir``.

    ``reuse``: skip training when ``out_dir``'s card records this corpus and base digest.
    ``fresh``: discard checkpoints instead of resuming from them.
    """
    started = time.monotonic()
    base_dir, out_dir = Path(settings.base_dir).resolve(), Path(settings.out_dir)
    if settings.merge and not settings.lora:
        raise TrainingError("merge needs lora: --merge merges LoRA adapters into the base (add --lora)")
    base_digest = check_base_dir(base_dir, memo_file=settings.digest_memo if processes().is_main else None)
    corpus_digest = read_manifest(corpus_dir, SITE)["digest"]
    if reuse:
        card = read_model_card(out_dir) if any(out_dir.glob("*.safetensors")) else {}
        if (card.get("corpus_digest"), card.get("base_digest"), card.get("format", MODEL_FORMAT)) == (
                corpus_digest, base_digest, settings.output_format):
            return FineTuneOutcome(out_dir, card, reused=True)
    if base_dir.resolve() == out_dir.resolve():
        raise TrainingError(f"{out_dir}: the base model and the output are the same directory; "
                            f"pass --base DIR (the model to start from) or --out DIR")
    import torch

    from mkdocs_aigen.ml.loop import evaluate, resolve_device, train

    train_examples = read_examples(corpus_dir, "train")
    val_examples = read_examples(corpus_dir, "validation")
    if not train_examples or not val_examples:
        raise CorpusError(f"{corpus_dir}: the corpus needs documents in both splits (it has "
                          f"{len(train_examples)} train and {len(val_examples)} validation examples); "
                          f"add pages to the site or corpus_extra")
    model, tokenizer = load_causal_lm(base_dir, device="cpu")
    saved_dtype = model.dtype
    device = torch.device(resolve_device(settings.device))
    if not (settings.lora and device.type == "cuda"):
        model.float()  # LoRA on a GPU: frozen base weights keep their dtype, the adapters are float32
    train_tokens, train_mask = encode_examples(tokenizer, train_examples)
    val_tokens, val_mask = encode_examples(tokenizer, val_examples)
    config = train_config(settings, len(train_tokens), len(val_tokens),
                          getattr(model.config, "max_position_embeddings", None))
    model.to(device)
    before = _metrics(*evaluate(model, val_tokens, config.seq_len, loss_mask=val_mask, bf16=config.bf16))
    if settings.lora:
        model = _with_lora(model, settings.lora, settings.seed)
    notes = []
    if config.checkpoint_dir is not None:
        identity = {"base_digest": base_digest, "corpus_digest": corpus_digest,
                    "lora": asdict(settings.lora) if settings.lora else None,
                    **{key: getattr(config, key) for key in ("lr", "seq_len", "batch_tokens", "optimizer", "seed")}}
        notes += main_only(_prepare_checkpoints, config.checkpoint_dir, identity, fresh) or []
    result = train(model, train_tokens, val_tokens, config, train_loss_mask=train_mask, val_loss_mask=val_mask)
    if result.resumed_from_step:
        notes.append(f"resumed from the checkpoint at step {result.resumed_from_step}")
    adapter_digest = _adapter_digest(model) if settings.lora else None
    if settings.merge:
        model = model.merge_and_unload()
    after = _metrics(*evaluate(model, val_tokens, config.seq_len, loss_mask=val_mask, bf16=config.bf16))
    model.to("cpu", dtype=saved_dtype)
    card = {
        "kind": CARD_KIND,
        "format": settings.output_format,
        "base": str(base_dir),
        "base_name": base_dir.name,
        "base_digest": base_digest,
        "adapter_digest": adapter_digest,
        "corpus_digest": corpus_digest,
        "corpus": {"train_examples": len(train_examples), "validation_examples": len(val_examples),
                   "train_tokens": len(train_tokens), "validation_tokens": len(val_tokens)},
        "method": "lora" if settings.lora else "full",
        "lora": asdict(settings.lora) if settings.lora else None,
        "loss": "completion tokens only (prompt masked), end-of-text included",
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "tokens_per_second": round(result.tokens_seen / max(result.wall_seconds, 1e-9), 1),
        "best_step": result.best_step,
        "stopped_because": result.stopped_because,
        "resumed_from_step": result.resumed_from_step,
        "metrics": {"before": before, "after": after},
        "seed": settings.seed,
        "train_config": {k: v for k, v in asdict(config).items() if k != "checkpoint_dir"},
        "train_seconds": round(result.wall_seconds, 2),
        "wall_seconds": round(time.monotonic() - started, 2),
        "hardware": hardware(result),
    }
    main_only(save_model_dir, model, tokenizer, out_dir, card)
    return FineTuneOutcome(out_dir, card, notes=notes)


def check_base_dir(base_dir: Path, memo_file: Path | None = None) -> str:
    """The weights digest of a model dir fine-tuning can start from; else ModelDirError naming the dir:
    a LoRA adapter dir, no config.json, no safetensors weights, or an architecture needing remote code."""
    if adapter_base_dir(base_dir) is not None:
        raise ModelDirError(f"{base_dir}: is a LoRA adapter dir, not a base model; pass its base, or a model "
                            f"written with --lora --merge, as --base")
    if not (base_dir / "config.json").is_file():
        raise ModelDirError(f"{base_dir}: no model to fine-tune (no config.json); pass --base DIR, a local "
                            f"Hugging Face model dir")
    digest = weights_digest(base_dir, memo_file=memo_file)
    require_builtin_causal_lm(base_dir)
    return digest


def train_config(settings: FineTuneSettings, train_tokens: int, val_tokens: int,
                 max_positions: int | None = None) -> TrainConfig:
    """The loop's settings for a corpus of this size (windows no longer than either split)."""
    seq_len = min(settings.seq_len, train_tokens - 1, val_tokens - 1, max_positions or settings.seq_len)
    if seq_len < MIN_SEQ_LEN:
        raise CorpusError(f"the corpus is too small to train on ({train_tokens} train and {val_tokens} "
                          f"validation tokens); add pages to the site or corpus_extra")
    windows = (train_tokens - 1) // seq_len
    sequences = max(1, min(settings.batch_tokens // seq_len, windows))
    steps_per_epoch = math.ceil(windows / sequences)
    max_steps = settings.max_steps
    if max_steps is None and (settings.epochs is not None or settings.max_minutes is None):
        max_steps = max(1, math.ceil((settings.epochs or DEFAULT_EPOCHS) * steps_per_epoch))
    eval_every = settings.eval_every or max(1, min(50, math.ceil(steps_per_epoch / 2)))
    return TrainConfig(
        lr=settings.learning_rate, optimizer="adamw", schedule="cosine", min_lr_ratio=0.1,
        warmup_steps=max(1, min(10, (max_steps or 100) // 10)),
        seq_len=seq_len, batch_tokens=sequences * seq_len, max_steps=max_steps, max_minutes=settings.max_minutes,
        eval_every=eval_every, eval_tokens=max(val_tokens, seq_len), patience=settings.patience, keep_best=True,
        checkpoint_every=settings.checkpoint_every or max(eval_every, 20), checkpoint_dir=settings.checkpoint_dir,
        seed=settings.seed, device=settings.device,
    )


def encode_examples(tokenizer: Any, examples: Sequence[Example]) -> tuple["torch.Tensor", "torch.Tensor"]:
    """One token stream of ``prompt + completion + eos`` per example, and the mask of predicted tokens."""
    import torch

    eos = tokenizer.eos_token_id
    if eos is None:
        raise TrainingError(f"{tokenizer.name_or_path}: the tokenizer has no end-of-text token; set eos_token")
    prompts = tokenizer([e.prompt for e in examples], verbose=False)["input_ids"]
    completions = tokenizer([e.completion for e in examples], add_special_tokens=False, verbose=False)["input_ids"]
    ids: list[int] = []
    mask: list[bool] = []
    for prompt, completion in zip(prompts, completions):
        ids += [*prompt, *completion, eos]
        mask += [False] * len(prompt) + [True] * (len(completion) + 1)
    return torch.tensor(ids, dtype=torch.long), torch.tensor(mask, dtype=torch.bool)


def _metrics(loss: float, perplexity: float) -> dict[str, float]:
    return {"val_loss": round(loss, 5), "val_perplexity": round(perplexity, 4)}


def _with_lora(model: Any, lora: LoraSettings, seed: int) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise TrainingError("--lora needs peft: pip install 'mkdocs-aigen[lora]'") from None
    import torch

    torch.manual_seed(seed)  # the adapters' initial weights
    config = LoraConfig(r=lora.rank, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules="all-linear", task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft calls a transformers API deprecated in v5
        warnings.simplefilter("ignore", FutureWarning)
        return get_peft_model(model, config)


def _adapter_digest(model: Any) -> str:
    """``sha256:`` of the LoRA adapters' tensors (names, dtypes, shapes, values) as safetensors bytes."""
    import hashlib

    from peft import get_peft_model_state_dict
    from safetensors.torch import save

    tensors = {name: tensor.contiguous() for name, tensor in get_peft_model_state_dict(model).items()}
    return "sha256:" + hashlib.sha256(save(tensors)).hexdigest()


def _prepare_checkpoints(checkpoint_dir: Path, identity: dict, fresh: bool) -> list[str]:
    """Discard checkpoints of another run (other base, corpus or settings) or all with ``fresh``."""
    run_file = checkpoint_dir / RUN_FILE
    notes = []
    try:
        recorded = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        recorded = None
    if checkpoint_dir.exists() and (fresh or recorded != identity):
        shutil.rmtree(checkpoint_dir)
        if recorded is not None:
            notes.append("started afresh: " + ("--fresh" if fresh else "base, corpus or settings changed"))
    atomic_write_text(run_file, json.dumps(identity, indent=1, sort_keys=True) + "\n")
    return notes


def hardware(result: TrainResult) -> dict[str, Any]:
    """Where the run trained: device, its name, torch's CPU threads and versions."""
    import torch

    info = {"device": result.device, "processes": processes().world, "threads": torch.get_num_threads(),
            "torch": torch.__version__, "platform": platform.platform(terse=True)}
    if result.device.startswith("cuda"):
        info["name"] = torch.cuda.get_device_name(torch.device(result.device))
    else:
        info["name"] = platform.processor() or platform.machine()
    return info


def summary_line(outcome: FineTuneOutcome) -> str:
    """``val perplexity A → B`` with how the model was made."""
    card = outcome.card
    before, after = card["metrics"]["before"], card["metrics"]["after"]
    head = (f"val perplexity {before['val_perplexity']:.2f} → {after['val_perplexity']:.2f} "
            f"(loss {before['val_loss']:.3f} → {after['val_loss']:.3f})")
    if outcome.reused:
        return f"{head}: reused {outcome.out_dir}, already trained on this corpus from this base (--reuse)"
    method = "LoRA adapter" if card.get("format") == ADAPTER_FORMAT else f"{card['method']} fine-tune"
    processes_note = f" on {card['hardware']['processes']} processes" if card["hardware"].get("processes", 1) > 1 else ""
    return (f"{head}: {method}{processes_note}, {card['steps']} steps, {card['tokens_seen']:,} tokens "
            f"({card['tokens_per_second']:,.0f} tok/s) in {card['train_seconds']:.0f}s, stopped by "
            f"{card['stopped_because'] or 'resume'}; saved {outcome.out_dir}")
