"""A general causal-LM training loop: pretraining and site fine-tuning both use it.

Data is a 1-D token stream (documents joined with an end-of-text token), cut into windows of
``seq_len + 1`` tokens that overlap by one token; an optional boolean ``loss_mask`` of the same
length marks which tokens are predicted (e.g. only the answer part when fine-tuning). The window
order is a seeded permutation per epoch, so step ``n`` always sees the same batch: a run is
deterministic given its seed and step count, and resuming needs nothing but the step.

Optimisers: ``adamw``, or ``muon`` (``torch.optim.Muon`` for the 2-D hidden weight matrices,
AdamW for embeddings, the output head, norms and biases). Schedule: linear warm-up, then
``wsd`` (constant, then a linear cool-down over the last ``cooldown_fraction``), ``cosine`` or
``constant``, all driven by progress = max(step / max_steps, elapsed / max_minutes), so runs bounded
by wall time still cool down on time. On CUDA the forward pass runs under bf16 autocast.

Checkpoints (``checkpoint_dir/step-NNNNNNN/``, the newest named in ``checkpoint_dir/latest``):
``model.safetensors``, ``optimizer.pt`` and ``rng.pt`` (plain tensors and numbers, loaded with
``weights_only=True``) and ``state.json``. :func:`train` resumes from the latest one.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.safeio import atomic_write_text

if TYPE_CHECKING:
    import torch

OPTIMIZERS = ("adamw", "muon")
SCHEDULES = ("wsd", "cosine", "constant")
LATEST = "latest"
# Fields that must match for a checkpoint to be resumed: they decide which batch a step sees
# and what the optimiser state means.
RESUME_FINGERPRINT = ("seq_len", "batch_tokens", "optimizer", "seed")


class TrainingError(AigenError):
    """Training cannot start or resume."""


@dataclass
class TrainConfig:
    """How to train. ``batch_tokens`` counts predicted tokens per optimiser step."""

    lr: float = 3e-3
    muon_lr: float = 0.02
    weight_decay: float = 0.0
    warmup_steps: int = 50
    schedule: str = "wsd"
    cooldown_fraction: float = 0.3
    min_lr_ratio: float = 0.05
    batch_tokens: int = 8192
    micro_batch_tokens: int | None = None
    seq_len: int = 256
    max_steps: int | None = None
    max_minutes: float | None = None
    eval_every: int = 100
    eval_tokens: int = 32768
    checkpoint_every: int | None = None
    patience: int | None = None
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    compile: bool = False
    optimizer: str = "muon"
    grad_clip: float | None = 1.0
    checkpoint_dir: Path | None = None
    keep_best: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        def need(condition: bool, message: str) -> None:
            if not condition:
                raise TrainingError(f"training setting {message}")

        need(self.lr > 0 and self.muon_lr > 0, "lr / muon_lr must be > 0")
        need(self.weight_decay >= 0, "weight_decay must be >= 0")
        need(self.warmup_steps >= 0, "warmup_steps must be >= 0")
        need(self.schedule in SCHEDULES, f"schedule must be one of {SCHEDULES}, not {self.schedule!r}")
        need(0 <= self.cooldown_fraction <= 1, "cooldown_fraction must be in [0, 1]")
        need(0 <= self.min_lr_ratio <= 1, "min_lr_ratio must be in [0, 1]")
        need(self.seq_len >= 2, "seq_len must be >= 2")
        need(self.batch_tokens >= self.seq_len, "batch_tokens must be >= seq_len")
        micro = self.micro_batch_tokens or self.batch_tokens
        need(self.seq_len <= micro <= self.batch_tokens, "micro_batch_tokens must be in [seq_len, batch_tokens]")
        need(self.max_steps is None or self.max_steps >= 1, "max_steps must be >= 1")
        need(self.max_minutes is None or self.max_minutes > 0, "max_minutes must be > 0")
        need(self.max_steps is not None or self.max_minutes is not None, "needs max_steps or max_minutes")
        need(self.eval_every >= 1 and self.eval_tokens >= self.seq_len, "eval_every >= 1, eval_tokens >= seq_len")
        need(self.checkpoint_every is None or self.checkpoint_every >= 1, "checkpoint_every must be >= 1")
        need(self.patience is None or self.patience >= 1, "patience must be >= 1")
        need(self.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")
        need(self.grad_clip is None or self.grad_clip > 0, "grad_clip must be > 0")
        if self.checkpoint_dir is not None:
            self.checkpoint_dir = Path(self.checkpoint_dir)

    @property
    def sequences_per_step(self) -> int:
        return max(1, self.batch_tokens // self.seq_len)

    @property
    def sequences_per_micro_batch(self) -> int:
        return max(1, min(self.sequences_per_step, (self.micro_batch_tokens or self.batch_tokens) // self.seq_len))


@dataclass
class TrainResult:
    """What a :func:`train` call did; histories are ``[step, loss]`` pairs.

    ``wall_seconds`` is training time (evaluations included) summed over resumed sessions.
    """

    steps: int
    tokens_seen: int
    wall_seconds: float
    train_loss_history: list[list[float]] = field(default_factory=list)
    val_loss_history: list[list[float]] = field(default_factory=list)
    best_val_loss: float | None = None
    best_step: int | None = None
    final_val_loss: float | None = None
    stopped_because: str = ""
    resumed_from_step: int = 0
    device: str = "cpu"

    @property
    def final_val_perplexity(self) -> float | None:
        return None if self.final_val_loss is None else math.exp(min(self.final_val_loss, 50.0))


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"device {device!r}: CUDA is not available here; use --device cpu")
    return device


def windows(tokens: "torch.Tensor", seq_len: int) -> int:
    """How many ``seq_len + 1`` windows (overlapping by one token) fit in a stream."""
    return max(0, (int(tokens.numel()) - 1) // seq_len)


def _window_batch(
    tokens: "torch.Tensor", loss_mask: "torch.Tensor | None", indices: "torch.Tensor", seq_len: int
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Inputs and labels (``-100`` where not predicted) for the given window indices."""
    import torch

    offsets = indices[:, None] * seq_len + torch.arange(seq_len + 1)[None, :]
    chunk = tokens[offsets].long()
    labels = chunk[:, 1:].clone()
    if loss_mask is not None:
        labels[~loss_mask[offsets][:, 1:]] = -100
    return chunk[:, :-1], labels


@functools.lru_cache(maxsize=2)
def _epoch_order(n_windows: int, seed: int, epoch: int) -> "torch.Tensor":
    import torch

    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n_windows, generator=generator)


def _step_indices(step: int, config: TrainConfig, n_windows: int) -> "torch.Tensor":
    """Window indices of optimiser step ``step`` (0-based): a pure function of step and seed."""
    import torch

    per_step = config.sequences_per_step
    positions = range(step * per_step, (step + 1) * per_step)
    orders: dict[int, torch.Tensor] = {}
    picked = []
    for position in positions:
        epoch, index = divmod(position, n_windows)
        if epoch not in orders:
            orders[epoch] = _epoch_order(n_windows, config.seed, epoch)
        picked.append(orders[epoch][index])
    return torch.stack(picked)


def lr_factor(step: int, progress: float, config: TrainConfig) -> float:
    """Multiplier of the base learning rates at a step, given progress in [0, 1]."""
    if config.warmup_steps and step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = min(max(progress, 0.0), 1.0)
    floor = config.min_lr_ratio
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "cosine":
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    cooldown_start = 1 - config.cooldown_fraction
    if progress <= cooldown_start or config.cooldown_fraction == 0:
        return 1.0
    return 1 - (1 - floor) * (progress - cooldown_start) / config.cooldown_fraction


def build_optimizers(model: "torch.nn.Module", config: TrainConfig) -> list["torch.optim.Optimizer"]:
    """AdamW for everything, or Muon for 2-D hidden matrices plus AdamW for the rest."""
    import torch

    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise TrainingError("the model has no trainable parameters")
    output_embeddings = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    excluded = {id(model.get_input_embeddings().weight)} if hasattr(model, "get_input_embeddings") else set()
    if output_embeddings is not None:
        excluded.add(id(output_embeddings.weight))
    matrices = [p for _, p in named if config.optimizer == "muon" and p.ndim == 2 and id(p) not in excluded]
    matrix_ids = {id(p) for p in matrices}
    others = [p for _, p in named if id(p) not in matrix_ids]
    fused = {"fused": True} if next(model.parameters()).is_cuda else {}
    optimizers: list[torch.optim.Optimizer] = []
    if others:
        decay = [p for p in others if p.ndim >= 2]
        no_decay = [p for p in others if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
        for group in groups:
            group["base_lr"] = config.lr
        optimizers.append(torch.optim.AdamW(groups, lr=config.lr, betas=(0.9, 0.95), eps=1e-8, **fused))
    if matrices:
        muon = torch.optim.Muon(
            matrices, lr=config.muon_lr, weight_decay=config.weight_decay, adjust_lr_fn="original"
        )
        for group in muon.param_groups:
            group["base_lr"] = config.muon_lr
        optimizers.append(muon)
    return optimizers


def evaluate(
    model: "torch.nn.Module",
    tokens: "torch.Tensor",
    seq_len: int,
    *,
    max_tokens: int | None = None,
    batch_sequences: int = 16,
    loss_mask: "torch.Tensor | None" = None,
    bf16: bool = True,
) -> tuple[float, float]:
    """Mean next-token loss and perplexity over the first ``max_tokens`` of a token stream."""
    import torch

    n_windows = windows(tokens, seq_len)
    if max_tokens is not None:
        n_windows = min(n_windows, max(1, max_tokens // seq_len))
    if n_windows == 0:
        raise TrainingError(f"validation stream has {tokens.numel()} tokens, fewer than seq_len + 1 = {seq_len + 1}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss = 0.0
    total_count = 0
    with torch.no_grad(), _autocast(device, bf16):
        for start in range(0, n_windows, batch_sequences):
            indices = torch.arange(start, min(start + batch_sequences, n_windows))
            inputs, labels = _window_batch(tokens, loss_mask, indices, seq_len)
            loss_sum, count = _loss_sum(model, inputs.to(device), labels.to(device))
            total_loss += float(loss_sum)
            total_count += int(count)
    model.train(was_training)
    if total_count == 0:
        raise TrainingError("validation stream has no predicted tokens (loss_mask is all False)")
    mean = total_loss / total_count
    return mean, math.exp(min(mean, 50.0))


def _autocast(device: "torch.device", bf16: bool):
    import contextlib

    import torch

    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _loss_sum(model, inputs, labels) -> tuple["torch.Tensor", "torch.Tensor"]:
    import torch.nn.functional as F

    logits = model(input_ids=inputs).logits
    loss = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum"
    )
    return loss, (labels != -100).sum()


class _Progress:
    """One status line on stderr: ``\\r``-rewritten on a terminal, a line every 30 s otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        self.last = 0.0

    def show(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if force or now - self.last > 0.2:
                sys.stderr.write("\r" + text.ljust(100)[:160])
                sys.stderr.flush()
                self.last = now
        elif force or now - self.last > 30:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
            self.last = now

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _format_eta(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _fingerprint(config: TrainConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in RESUME_FINGERPRINT}


def _save_checkpoint(
    model, optimizers, config: TrainConfig, state: dict[str, Any], best_weights: dict | None
) -> None:
    import torch
    from safetensors.torch import save_file, save_model

    root = config.checkpoint_dir
    name = f"step-{state['step']:07d}"
    tmp = root / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_model(model, str(tmp / "model.safetensors"))
    if best_weights is not None:
        save_file(best_weights, str(tmp / "best.safetensors"))
    torch.save([opt.state_dict() for opt in optimizers], tmp / "optimizer.pt")
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    atomic_write_text(tmp / "state.json", json.dumps({**state, "config": _fingerprint(config)}, indent=1))
    final = root / name
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    atomic_write_text(root / LATEST, name + "\n")
    for old in root.glob("step-*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def latest_checkpoint(checkpoint_dir: Path | None) -> Path | None:
    """The newest complete checkpoint directory, or ``None``."""
    if checkpoint_dir is None:
        return None
    pointer = Path(checkpoint_dir) / LATEST
    if not pointer.is_file():
        return None
    path = Path(checkpoint_dir) / pointer.read_text(encoding="utf-8").strip()
    return path if (path / "state.json").is_file() else None


def _load_checkpoint(path: Path, model, optimizers, config: TrainConfig) -> tuple[dict[str, Any], dict | None]:
    import torch
    from safetensors.torch import load_file, load_model

    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if state.get("config") != _fingerprint(config):
        raise TrainingError(
            f"{path / 'state.json'}: checkpoint was made with {state.get('config')}, not {_fingerprint(config)}; "
            "use the same settings or another checkpoint dir"
        )
    device = next(model.parameters()).device
    try:
        load_model(model, str(path / "model.safetensors"), device=str(device))
    except (RuntimeError, KeyError) as exc:
        raise TrainingError(
            f"{path / 'model.safetensors'}: checkpoint does not fit this model ({str(exc).splitlines()[0]}); "
            "use the same model size or another checkpoint dir"
        ) from None
    saved = torch.load(path / "optimizer.pt", map_location=device, weights_only=True)
    if len(saved) != len(optimizers):
        raise TrainingError(f"{path / 'optimizer.pt'}: optimiser layout differs; use another checkpoint dir")
    for optimizer, optimizer_state in zip(optimizers, saved):
        optimizer.load_state_dict(optimizer_state)
    rng = torch.load(path / "rng.pt", weights_only=True)
    torch.set_rng_state(rng["cpu"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    best = path / "best.safetensors"
    return state, (load_file(str(best)) if best.is_file() else None)


def train(
    model: "torch.nn.Module",
    train_tokens: "torch.Tensor",
    val_tokens: "torch.Tensor | None",
    config: TrainConfig,
    *,
    train_loss_mask: "torch.Tensor | None" = None,
    val_loss_mask: "torch.Tensor | None" = None,
) -> TrainResult:
    """Train ``model`` in place (moved to the configured device) and return what happened.

    Resumes from ``config.checkpoint_dir`` when it holds a checkpoint. Early stopping
    (``patience``) counts evaluations without a new best validation loss; with ``keep_best``
    the best weights are restored at the end.
    """
    import torch

    n_windows = windows(train_tokens, config.seq_len)
    if n_windows == 0:
        raise TrainingError(f"training stream has {train_tokens.numel()} tokens, fewer than seq_len + 1")
    if train_loss_mask is not None and train_loss_mask.shape != train_tokens.shape:
        raise TrainingError("train_loss_mask must have the shape of train_tokens")
    if (config.patience or config.keep_best) and val_tokens is None:
        raise TrainingError("patience / keep_best need validation tokens")
    device = torch.device(resolve_device(config.device))
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model.to(device)
    model.train()
    optimizers = build_optimizers(model, config)
    forward_model = torch.compile(model) if config.compile else model

    state: dict[str, Any] = {
        "step": 0, "tokens_seen": 0, "elapsed": 0.0, "train_history": [], "val_history": [],
        "best_val": None, "best_step": None, "bad_evals": 0,
    }
    best_weights: dict | None = None
    checkpoint = latest_checkpoint(config.checkpoint_dir)
    if checkpoint is not None:
        state, best_weights = _load_checkpoint(checkpoint, model, optimizers, config)
        state.pop("config", None)
    resumed_from = state["step"]

    def progress_fraction() -> float:
        fractions = [0.0]
        if config.max_steps:
            fractions.append(state["step"] / config.max_steps)
        if config.max_minutes:
            fractions.append(state["elapsed"] / (config.max_minutes * 60))
        return max(fractions)

    def run_eval() -> float:
        loss, _ = evaluate(
            forward_model, val_tokens, config.seq_len, max_tokens=config.eval_tokens,
            batch_sequences=config.sequences_per_micro_batch, loss_mask=val_loss_mask, bf16=config.bf16,
        )
        state["val_history"].append([state["step"], loss])
        return loss

    progress = _Progress(config.progress)
    per_micro = config.sequences_per_micro_batch
    stopped = ""
    session_start = time.monotonic()
    session_tokens = 0
    smoothed: float | None = None
    while True:
        if config.max_steps is not None and state["step"] >= config.max_steps:
            stopped = "max_steps"
            break
        if config.max_minutes is not None and state["elapsed"] >= config.max_minutes * 60:
            stopped = "max_minutes"
            break
        step_start = time.monotonic()
        factor = lr_factor(state["step"], progress_fraction(), config)
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
        indices = _step_indices(state["step"], config, n_windows)
        inputs, labels = _window_batch(train_tokens, train_loss_mask, indices, config.seq_len)
        predicted = int((labels != -100).sum())
        step_loss = 0.0
        for start in range(0, len(indices), per_micro):
            micro_inputs = inputs[start : start + per_micro].to(device, non_blocking=True)
            micro_labels = labels[start : start + per_micro].to(device, non_blocking=True)
            with _autocast(device, config.bf16):
                loss_sum, _ = _loss_sum(forward_model, micro_inputs, micro_labels)
            (loss_sum / max(predicted, 1)).backward()
            step_loss += float(loss_sum.detach())
        if config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        step_loss /= max(predicted, 1)
        if not math.isfinite(step_loss):
            raise TrainingError(f"training loss became {step_loss} at step {state['step']}; lower the learning rate")
        state["step"] += 1
        state["tokens_seen"] += predicted
        session_tokens += predicted
        state["elapsed"] += time.monotonic() - step_start
        state["train_history"].append([state["step"], step_loss])
        smoothed = step_loss if smoothed is None else 0.9 * smoothed + 0.1 * step_loss

        evaluated = False
        if val_tokens is not None and state["step"] % config.eval_every == 0:
            eval_start = time.monotonic()
            loss = run_eval()
            state["elapsed"] += time.monotonic() - eval_start
            evaluated = True
            if state["best_val"] is None or loss < state["best_val"]:
                state["best_val"], state["best_step"], state["bad_evals"] = loss, state["step"], 0
                if config.keep_best:
                    best_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            else:
                state["bad_evals"] += 1
            progress.show(f"step {state['step']}: val loss {loss:.4f} (best {state['best_val']:.4f})", force=True)
        every = config.checkpoint_every or config.eval_every
        if config.checkpoint_dir is not None and state["step"] % every == 0:
            _save_checkpoint(model, optimizers, config, state, best_weights)
        session_seconds = time.monotonic() - session_start
        rate = session_tokens / max(session_seconds, 1e-9)
        eta = _eta(state, config, rate)
        progress.show(
            f"step {state['step']} loss {smoothed:.4f} lr×{factor:.2f} {rate:,.0f} tok/s ETA {_format_eta(eta)}"
        )
        if evaluated and config.patience is not None and state["bad_evals"] >= config.patience:
            stopped = "early_stopping"
            break
    progress.close()

    final_val = None
    if val_tokens is not None:
        if not state["val_history"] or state["val_history"][-1][0] != state["step"]:
            loss = run_eval()
            if state["best_val"] is None or loss < state["best_val"]:
                state["best_val"], state["best_step"] = loss, state["step"]
                best_weights = None
        final_val = state["val_history"][-1][1]
    if config.checkpoint_dir is not None and state["step"] > resumed_from:
        _save_checkpoint(model, optimizers, config, state, best_weights)
    if config.keep_best and best_weights is not None and state["best_step"] != state["step"]:
        model.load_state_dict(best_weights)
        final_val = state["best_val"]
    return TrainResult(
        steps=state["step"],
        tokens_seen=state["tokens_seen"],
        wall_seconds=state["elapsed"],
        train_loss_history=state["train_history"],
        val_loss_history=state["val_history"],
        best_val_loss=state["best_val"],
        best_step=state["best_step"],
        final_val_loss=final_val,
        stopped_because=stopped,
        resumed_from_step=resumed_from,
        device=str(device),
    )


def _eta(state: dict[str, Any], config: TrainConfig, tokens_per_second: float) -> float:
    remaining = []
    if config.max_steps is not None:
        steps_left = config.max_steps - state["step"]
        remaining.append(steps_left * config.batch_tokens / max(tokens_per_second, 1e-9))
    if config.max_minutes is not None:
        remaining.append(config.max_minutes * 60 - state["elapsed"])
    return min(remaining)


def result_to_dict(result: TrainResult) -> dict[str, Any]:
    """A JSON-ready summary without the per-step train history."""
    summary = asdict(result)
    summary.pop("train_loss_history")
    summary["final_val_perplexity"] = result.final_val_perplexity
    return summary
