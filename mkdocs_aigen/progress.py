"""Progress bars for drafting and training, through tqdm: one look, one on/off rule.

A bar shows only when stderr is a terminal and the ``mkdocs`` logger lets INFO through (so
``mkdocs build -q`` and CI logs stay quiet); :func:`set_enabled` lets a command force it off
(``--no-progress``). Rates are shown in tokens/s, with an ETA from the items done.
"""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Iterator

_forced_off = False


def set_enabled(enabled: bool) -> None:
    """Turn every progress bar of this process off (``--no-progress``) or back to automatic."""
    global _forced_off
    _forced_off = not enabled


def enabled() -> bool:
    """Whether a bar may show now: not forced off, stderr a terminal, INFO logging on."""
    if _forced_off or not sys.stderr.isatty():
        return False
    return logging.getLogger("mkdocs").getEffectiveLevel() <= logging.INFO


@contextmanager
def progress_bar(label: str, total: int, unit: str = "section") -> Iterator["Progress"]:
    """A bar for ``total`` items; call the yielded object as ``update(done, tokens)``."""
    bar = Progress(label, total, unit)
    try:
        yield bar
    finally:
        bar.close()


class Progress:
    """``update(done, tokens, **fields)`` moves the bar to ``done`` items and shows tokens/s and the
    ``fields`` (e.g. ``in_flight`` requests)."""

    def __init__(self, label: str, total: int, unit: str = "section") -> None:
        self.started = time.monotonic()
        self.bar = None
        if enabled():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=f"aigen: {label}", unit=unit, file=sys.stderr, leave=False,
                            dynamic_ncols=True)

    def __call__(self, done: int, tokens: int, **fields: object) -> None:
        self.update(done, tokens, **fields)

    def update(self, done: int, tokens: int, **fields: object) -> None:
        if self.bar is None:
            return
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.bar.set_postfix({"tok/s": f"{tokens / elapsed:.0f}", **fields}, refresh=False)
        self.bar.update(done - self.bar.n)
        if self.bar.total is not None and done >= self.bar.total:
            self.bar.refresh()  # the last state, whatever tqdm's redraw interval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
