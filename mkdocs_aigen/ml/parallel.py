"""Data parallelism of the training loop: one process, or several under ``accelerate launch``.

:func:`processes` is :data:`SINGLE` (nothing shared, accelerate not imported) unless a launcher
started this process with ``WORLD_SIZE`` > 1; then it is a :class:`Group` around an
``accelerate.Accelerator`` (gloo on CPU, NCCL on GPUs, one GPU per process). The loop gives each
process every ``world``-th window of a step (:meth:`Single.shard`), sums the gradients across
processes (DDP, see :meth:`Group.wrap`) and sums losses and counters (:meth:`Single.sum`), so every
process holds the same weights and takes the same decisions (stopping, the learning rate).
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import TYPE_CHECKING, Any, ContextManager, Sequence

from mkdocs_aigen.progress import set_enabled

if TYPE_CHECKING:
    import torch


class Single:
    """One process: every method is the identity."""

    rank = 0
    world = 1
    device: str | None = None  # the launcher's device for this process; None: the loop decides

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, items: "torch.Tensor") -> "torch.Tensor":
        """This process's share of ``items``: every ``world``-th, from ``rank``."""
        return items[self.rank :: self.world]

    def wrap(self, model: "torch.nn.Module") -> "torch.nn.Module":
        """The module to run forward/backward through (gradients summed across processes)."""
        return model

    def no_sync(self, wrapped: "torch.nn.Module") -> ContextManager[None]:
        """Accumulate gradients locally (every micro-batch of a step but its last)."""
        return contextlib.nullcontext()

    def sum(self, values: Sequence[float]) -> list[float]:
        """Each value summed over the processes (float64), the same on every process."""
        return list(values)

    def wait(self) -> None:
        """Return when every process got here."""


SINGLE = Single()


class Group(Single):
    """Several processes started by ``accelerate launch`` (or torchrun)."""

    def __init__(self) -> None:
        import torch
        from accelerate import Accelerator

        self.accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision="no")
        self.rank = self.accelerator.process_index
        self.world = self.accelerator.num_processes
        self.device = str(self.accelerator.device)
        if not self.is_main:
            set_enabled(False)

    def wrap(self, model: "torch.nn.Module") -> "torch.nn.Module":
        return self.accelerator.prepare_model(model)

    def no_sync(self, wrapped: "torch.nn.Module") -> ContextManager[None]:
        return self.accelerator.no_sync(wrapped)

    def sum(self, values: Sequence[float]) -> list[float]:
        import torch
        import torch.distributed as dist

        totals = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        dist.all_reduce(totals)
        return totals.tolist()

    def wait(self) -> None:
        self.accelerator.wait_for_everyone()


@functools.lru_cache(maxsize=1)
def processes() -> Single:
    """This process's place in the run (created once: the first call joins the process group)."""
    return Group() if int(os.environ.get("WORLD_SIZE", "1")) > 1 else SINGLE


def main_only(action: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``action`` on the main process only (files, printing); the others wait for it."""
    group = processes()
    result = action(*args, **kwargs) if group.is_main else None
    group.wait()
    return result
