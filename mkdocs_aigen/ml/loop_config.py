"""What the training loop (:mod:`mkdocs_aigen.ml.loop`) is told and what it reports."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mkdocs_aigen.errors import AigenError

OPTIMIZERS = ("adamw", "muon")
SCHEDULES = ("wsd", "cosine", "constant")


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


def result_to_dict(result: TrainResult) -> dict[str, Any]:
    """A JSON-ready summary without the per-step train history."""
    summary = asdict(result)
    summary.pop("train_loss_history")
    summary["final_val_perplexity"] = result.final_val_perplexity
    return summary
