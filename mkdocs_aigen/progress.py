"""A small stderr progress bar for drafting: sections done, tokens/s, ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Redraws one ``\\r`` line; silent until ``delay`` seconds have passed (quick runs print nothing)."""

    def __init__(self, label: str, total: int, delay: float = 1.0, stream: TextIO | None = None) -> None:
        self.label, self.total, self.delay = label, total, delay
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, tokens: int) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed < self.delay and not self.shown:
            return
        rate = tokens / elapsed if elapsed > 0 else 0.0
        eta = elapsed / done * (self.total - done) if done else float("nan")
        eta_text = "?" if eta != eta else f"{int(eta) // 60}m{int(eta) % 60:02d}s"
        width = 24
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\raigen: {self.label} [{bar}] {done}/{self.total} sections · {rate:.0f} tok/s · ETA {eta_text} "
        )
        self.shown = True
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
