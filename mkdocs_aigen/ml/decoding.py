"""Plain data types shared by every generation backend (no torch import)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence


@dataclass(frozen=True)
class DecodingSettings:
    """How tokens are sampled. Part of every draft's cache key."""

    max_new_tokens: int = 160
    min_new_tokens: int = 8
    temperature: float = 0.8
    top_p: float = 0.95
    repetition_penalty: float = 1.15
    no_repeat_ngram_size: int = 4

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be >= 1")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError("min_new_tokens must be between 0 and max_new_tokens")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0 means greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")
        if self.repetition_penalty < 1:
            raise ValueError("repetition_penalty must be >= 1")
        if self.no_repeat_ngram_size < 0:
            raise ValueError("no_repeat_ngram_size must be >= 0")


@dataclass(frozen=True)
class GenerationRequest:
    """One continuation to draft.

    ``stop_heading_level``: stop before a Markdown heading of this level or higher (fewer ``#``).
    ``stop_at_fence``: the prompt ends inside an opened code fence; stop at its closing fence.
    ``names``: dotted names (the first component is the package) that code may use after ``<package>.``
    and in ``from <package>… import``; None leaves names unconstrained (:mod:`mkdocs_aigen.ml.constrain`).
    """

    prompt: str
    seed: int
    stop_heading_level: int | None = 2
    stop_at_fence: bool = False
    max_new_tokens: int | None = None
    names: frozenset[str] | None = None


@dataclass(frozen=True)
class GenerationResult:
    text: str
    new_tokens: int
    stopped: str  # "heading" | "fence" | "eos" | "length"


ProgressCallback = Callable[..., None]
"""Called as ``progress(requests_done, tokens_generated_so_far, **fields)``; a generator may add fields to
show, such as ``in_flight`` requests."""


class Generator(Protocol):
    """A text generator the drafting engine can batch requests through."""

    settings: DecodingSettings

    def generate(
        self, requests: Sequence[GenerationRequest], progress: ProgressCallback | None = None
    ) -> list[GenerationResult]: ...
