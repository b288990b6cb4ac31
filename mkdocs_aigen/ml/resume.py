"""Resumable training checkpoints of the training loop.

``checkpoint_dir/step-NNNNNNN/`` holds ``model.safetensors``, ``optimizer.pt`` and ``rng.pt``
(plain tensors and numbers, loaded with ``weights_only=True``), ``state.json`` (the loop's counters
and histories, and the settings a resume must share) and, with ``keep_best``, ``best.safetensors``;
``checkpoint_dir/latest`` names the newest. Only the newest is kept.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mkdocs_aigen.ml.loop_config import TrainConfig, TrainingError
from mkdocs_aigen.safeio import atomic_write_text

LATEST = "latest"
# Fields that must match for a checkpoint to be resumed: they decide which batch a step sees
# and what the optimiser state means.
RESUME_FINGERPRINT = ("seq_len", "batch_tokens", "optimizer", "seed")


def _fingerprint(config: TrainConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in RESUME_FINGERPRINT}


def save_checkpoint(
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


def load_checkpoint(path: Path, model, optimizers, config: TrainConfig) -> tuple[dict[str, Any], dict | None]:
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
