"""A general causal-LM training loop: pretraining and site fine-tuning both use it.

Data is a 1-D token stream (documents joined with an end-of-text token), cut into windows of
``seq_len + 1`` tokens that overlap by one token; an optional boolean ``loss_mask`` of the same
length marks which tokens are predicted (e.g. only the answer part when fine-tuning). The window
order is a seeded permutation per epoch, so step ``n`` always sees the same batch: a run is
deterministic given its seed and step count, and resuming needs nothing but the step.

Settings and results: :mod:`.loop_config`; optimisers (``adamw``, or ``muon`` for the 2-D hidden
matrices) and the warm-up + ``wsd`` / ``cosine`` / ``constant`` schedule: :mod:`.optim`;
checkpoints, from which :func:`train` resumes: :mod:`.resume`. On CUDA the forward pass runs under
bf16 autocast. Progress (tokens/s, loss, ETA) goes through :mod:`mkdocs_aigen.progress`.

Under ``accelerate launch`` (:mod:`.parallel`) each process takes its share of every step's windows
and of the validation windows; gradients, losses and the elapsed time are summed across processes,
so all of them stop at the same step, and only the main process writes checkpoints.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from typing import TYPE_CHECKING, Any

from mkdocs_aigen.ml.loop_config import TrainConfig, TrainingError, TrainResult
from mkdocs_aigen.ml.optim import build_optimizers, lr_factor
from mkdocs_aigen.ml.parallel import processes
from mkdocs_aigen.ml.resume import latest_checkpoint, load_checkpoint, save_checkpoint
from mkdocs_aigen.progress import progress_bar

if TYPE_CHECKING:
    import torch


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``; anything else is checked. Under
    ``accelerate launch``: the device the launcher gave this process."""
    import torch

    if processes().device is not None:
        return processes().device
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
    mine = processes().shard(torch.arange(n_windows))
    with torch.no_grad(), _autocast(device, bf16):
        for start in range(0, len(mine), batch_sequences):
            inputs, labels = _window_batch(tokens, loss_mask, mine[start : start + batch_sequences], seq_len)
            loss_sum, count = _loss_sum(model, inputs.to(device), labels.to(device))
            total_loss += float(loss_sum)
            total_count += int(count)
    model.train(was_training)
    if processes().world > 1:
        total_loss, total_count = processes().sum([total_loss, total_count])
    if total_count == 0:
        raise TrainingError("validation stream has no predicted tokens (loss_mask is all False)")
    mean = total_loss / total_count
    return mean, math.exp(min(mean, 50.0))


def _autocast(device: "torch.device", bf16: bool):
    import torch

    if device.type == "cuda" and bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _loss_sum(model, inputs, labels) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Summed next-token loss over the labelled positions, and their count.

    On a plain causal LM the output layer runs on the labelled positions only (hidden states →
    those positions → output layer → cross-entropy): fine-tuning examples are mostly prompt, whose
    logits would be thrown away. Compiled or distributed wrappers get the full forward pass.
    """
    import torch.nn.functional as F

    targets = labels != -100
    parts = _decoder_and_head(model)
    if parts is None:
        logits = model(input_ids=inputs).logits
        loss = F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="sum"
        )
        return loss, targets.sum()
    decoder, head = parts
    hidden = decoder(input_ids=inputs, use_cache=False).last_hidden_state
    if bool(targets.all()):
        hidden, picked = hidden.reshape(-1, hidden.shape[-1]), labels.reshape(-1)
    else:
        hidden, picked = hidden[targets], labels[targets]
    return F.cross_entropy(head(hidden).float(), picked, reduction="sum"), targets.sum()


def _decoder_and_head(model) -> tuple[Any, Any] | None:
    """The decoder stack and output layer of a plain transformers causal LM (LoRA-wrapped too) whose
    logits are just the output layer of the last hidden state; None for anything else."""
    if hasattr(type(model), "get_base_model"):  # a PEFT model: its adapters live inside the base
        model = model.get_base_model()
    if not (hasattr(type(model), "get_decoder") and hasattr(type(model), "get_output_embeddings")):
        return None
    config = getattr(model, "config", None)
    if any(getattr(config, name, None) for name in ("final_logit_softcapping", "logit_scale", "output_multiplier")):
        return None
    decoder, head = model.get_decoder(), model.get_output_embeddings()
    return (decoder, head) if decoder is not None and head is not None and decoder is not model else None


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
    group = processes()
    if config.sequences_per_step < group.world:
        raise TrainingError(f"a step holds {config.sequences_per_step} sequences, fewer than the {group.world} "
                            f"processes; raise the batch tokens to at least {group.world * config.seq_len}")
    device = torch.device(resolve_device(config.device))
    torch.manual_seed(config.seed)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    model.to(device)
    model.train()
    optimizers = build_optimizers(model, config)
    compiled = torch.compile(model) if config.compile else model
    forward_model = group.wrap(compiled)

    state: dict[str, Any] = {
        "step": 0, "tokens_seen": 0, "elapsed": 0.0, "train_history": [], "val_history": [],
        "best_val": None, "best_step": None, "bad_evals": 0,
    }
    best_weights: dict | None = None
    checkpoint = latest_checkpoint(config.checkpoint_dir)
    if checkpoint is not None:
        state, best_weights = load_checkpoint(checkpoint, model, optimizers, config)
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
            compiled, val_tokens, config.seq_len, max_tokens=config.eval_tokens,
            batch_sequences=config.sequences_per_micro_batch, loss_mask=val_loss_mask, bf16=config.bf16,
        )
        state["val_history"].append([state["step"], loss])
        return loss

    stopped = ""
    smoothed: float | None = None
    session_tokens = 0
    with progress_bar("training", _steps_left(state, config), unit="step") as bar:
        while True:
            if config.max_steps is not None and state["step"] >= config.max_steps:
                stopped = "max_steps"
                break
            if config.max_minutes is not None and state["elapsed"] >= config.max_minutes * 60:
                stopped = "max_minutes"
                break
            step_start = time.monotonic()
            factor = lr_factor(state["step"], progress_fraction(), config)
            step_loss, predicted = _optimizer_step(
                forward_model, model, optimizers, factor, train_tokens, train_loss_mask,
                _step_indices(state["step"], config, n_windows), config, device,
            )
            if group.world > 1:
                step_loss = group.sum([step_loss])[0]
            if not math.isfinite(step_loss):
                raise TrainingError(f"training loss became {step_loss} at step {state['step']}; "
                                    "lower the learning rate")
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
            if group.world > 1:  # every process then stops at the same step
                state["elapsed"] = group.sum([state["elapsed"]])[0] / group.world
            every = config.checkpoint_every or config.eval_every
            if config.checkpoint_dir is not None and state["step"] % every == 0 and group.is_main:
                save_checkpoint(model, optimizers, config, state, best_weights)
            bar.update(state["step"] - resumed_from, session_tokens, **_bar_fields(state, config, smoothed, factor))
            if evaluated and config.patience is not None and state["bad_evals"] >= config.patience:
                stopped = "early_stopping"
                break

    final_val = None
    if val_tokens is not None:
        if not state["val_history"] or state["val_history"][-1][0] != state["step"]:
            loss = run_eval()
            if state["best_val"] is None or loss < state["best_val"]:
                state["best_val"], state["best_step"] = loss, state["step"]
                best_weights = None
        final_val = state["val_history"][-1][1]
    if config.checkpoint_dir is not None and state["step"] > resumed_from and group.is_main:
        save_checkpoint(model, optimizers, config, state, best_weights)
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


def _optimizer_step(forward_model, model, optimizers, lr_factor_now: float, tokens, loss_mask, indices,
                    config: TrainConfig, device) -> tuple[float, int]:
    """One optimiser step over this process's share of the windows ``indices`` (in micro-batches); its
    share of the step's mean loss, and the step's predicted tokens."""
    import torch

    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * lr_factor_now
    group = processes()
    inputs, labels = _window_batch(tokens, loss_mask, indices, config.seq_len)
    predicted = int((labels != -100).sum())  # over all processes: the gradients are summed, not averaged
    mine = group.shard(torch.arange(len(indices)))
    inputs, labels = inputs[mine], labels[mine]
    per_micro = config.sequences_per_micro_batch
    step_loss = 0.0
    for start in range(0, len(mine), per_micro):
        micro_inputs = inputs[start : start + per_micro].to(device, non_blocking=True)
        micro_labels = labels[start : start + per_micro].to(device, non_blocking=True)
        last = start + per_micro >= len(mine)
        with contextlib.nullcontext() if last else group.no_sync(forward_model):
            with _autocast(device, config.bf16):
                loss_sum, _ = _loss_sum(forward_model, micro_inputs, micro_labels)
            # DDP averages the processes' gradients: scaled by their number, it sums them
            (loss_sum / max(predicted, 1) * group.world).backward()
        step_loss += float(loss_sum.detach())
    if config.grad_clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    for optimizer in optimizers:
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return step_loss / max(predicted, 1), predicted


def _steps_left(state: dict[str, Any], config: TrainConfig) -> int | None:
    """The bar's total: steps this session will run when a step count bounds it."""
    return None if config.max_steps is None else max(0, config.max_steps - state["step"])


def _bar_fields(state: dict[str, Any], config: TrainConfig, smoothed: float, factor: float) -> dict[str, str]:
    """Smoothed loss, learning-rate factor, last validation loss and, under a time limit, the time left."""
    fields = {"loss": f"{smoothed:.4f}", "lr": f"×{factor:.2f}"}
    if state["val_history"]:
        fields["val"] = f"{state['val_history'][-1][1]:.4f}"
    if config.max_minutes is not None:
        left = max(0, int(config.max_minutes * 60 - state["elapsed"]))
        fields["left"] = f"{left // 60}:{left % 60:02d}"
    return fields
