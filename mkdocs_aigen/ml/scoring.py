"""Scoring completions: a causal LM's negative log-likelihood of a completion given its prompt.

``mkdocs-aigen eval`` compares it for the same section with and without grounding passages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass
class Score:
    """Summed negative log-likelihood (nats) over ``tokens`` predicted completion tokens."""

    nll: float = 0.0
    tokens: int = 0

    def add(self, other: Score) -> None:
        self.nll += other.nll
        self.tokens += other.tokens

    @property
    def perplexity(self) -> float:
        import math

        return math.exp(min(self.nll / self.tokens, 50.0)) if self.tokens else float("nan")


def completion_score(model: Any, tokenizer: Any, prompt: str, completion: str, *,
                     max_completion_tokens: int = 256) -> Score:
    """NLL of ``completion`` (its first ``max_completion_tokens`` tokens) after ``prompt``.

    The prompt is cut from the left to fit the model's window, as the local backend does when drafting.
    """
    import torch
    import torch.nn.functional as F

    window = getattr(model.config, "max_position_embeddings", None) or 2048
    target = tokenizer(completion, add_special_tokens=False, verbose=False)["input_ids"][:max_completion_tokens]
    if not target:
        return Score()
    target = target[: window - 1]
    context = tokenizer(prompt, verbose=False)["input_ids"][-(window - len(target)):] or [tokenizer.eos_token_id]
    device = model.get_input_embeddings().weight.device
    ids = torch.tensor([context + target], device=device)
    with torch.inference_mode():
        logits = model(input_ids=ids, logits_to_keep=len(target) + 1).logits[0, :-1].float()
    nll = F.cross_entropy(logits, torch.tensor(target, device=device), reduction="sum")
    return Score(float(nll), len(target))


def total_score(model: Any, tokenizer: Any, pairs: Iterable[tuple[str, str]]) -> Score:
    """The summed score of ``(prompt, completion)`` pairs."""
    total = Score()
    for prompt, completion in pairs:
        total.add(completion_score(model, tokenizer, prompt, completion))
    return total
