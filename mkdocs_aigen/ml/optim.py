"""Optimisers and learning-rate schedule of the training loop (see :mod:`mkdocs_aigen.ml.loop`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mkdocs_aigen.ml.loop_config import TrainConfig, TrainingError

if TYPE_CHECKING:
    import torch


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
