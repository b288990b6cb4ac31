"""Generation backends: one protocol, chosen by name (the ``backend:`` option).

A backend gives the drafting engine an *identity* (everything besides the request that decides its
output, for the cache key; cheap to compute, never loads a model or contacts a server), a *generator*
(:class:`~mkdocs_aigen.ml.decoding.Generator`, loaded on first use) and a *chunk size* (how many
sections to draft and cache together). Nothing above this package knows which backend runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from mkdocs_aigen.ml.checkpoint import QUANTIZE_CHOICES as QUANTIZE_MODES
from mkdocs_aigen.ml.decoding import DecodingSettings, Generator

if TYPE_CHECKING:
    from mkdocs_aigen.ml.backends.openai import ServerSettings

DEVICES = ("cpu", "cuda")
BATCH_SIZE = 32
"""Sections generated together; larger batches use the CPU better (benchmark B2)."""


@dataclass(frozen=True)
class BackendSettings:
    """What a backend needs: where the model is, how to sample, and how to run it."""

    model_dir: Path
    decoding: DecodingSettings
    batch_size: int = BATCH_SIZE
    device: str | None = None
    quantize: str | None = None
    digest_memo: Path | None = None
    server: ServerSettings | None = None  # backend: openai

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size: must be >= 1")
        if self.device is not None and self.device not in DEVICES:
            raise ValueError(f"device: use one of {', '.join(DEVICES)}, not {self.device!r}")
        if self.quantize is not None and self.quantize not in QUANTIZE_MODES:
            raise ValueError(f"quantize: use one of {', '.join(QUANTIZE_MODES)}, not {self.quantize!r}")
        if self.quantize and self.device not in (None, "cpu"):
            raise ValueError(f"quantize: {self.quantize} needs device: cpu (got device: {self.device}); "
                             f"remove one of the two")


class Backend(Protocol):
    """A source of drafts: an identity for the cache key and a lazily loaded generator."""

    @property
    def chunk_size(self) -> int:
        """Sections drafted, checked and cached together: enough to keep the generator busy, few enough
        that a failure loses little drafted text."""

    def identity(self) -> dict[str, Any]:
        """What decides the backend's output besides the request; JSON-serialisable, no model load."""

    @property
    def generator(self) -> Generator:
        """The generator, loaded on first use and kept."""

    def describe(self) -> str:
        """What it drafts with, for one log line (e.g. the model directory)."""


def _local(settings: BackendSettings) -> Backend:
    from mkdocs_aigen.ml.backends.local import LocalBackend

    return LocalBackend(settings)


def _openai(settings: BackendSettings) -> Backend:
    from mkdocs_aigen.ml.backends.openai import OpenAIBackend

    if settings.server is None:
        raise ValueError("backend: openai needs base_url and served_model")
    return OpenAIBackend(settings.server, settings.decoding)


BACKENDS: dict[str, Callable[[BackendSettings], Backend]] = {"local": _local, "openai": _openai}
"""Backend factories by the name the ``backend:`` option takes."""


def create_backend(name: str, settings: BackendSettings) -> Backend:
    """The backend called ``name`` (one of :data:`BACKENDS`)."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"backend: use one of {', '.join(BACKENDS)}, not {name!r}") from None
    return factory(settings)
