"""B6 cold demo: wall time and peak RSS of ``make demo``'s steps on a fresh copy of example_site.

The steps are read from the Makefile (``make -n demo SITE=<copy>``, install step excluded), so the
benchmark follows the target as it changes; they run in the repo root, one after the other.
Without the shipped base, ``mkdocs-aigen train`` is given ``--base MODEL``.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from .common import MB, REPO, Context, Result, Target, run_measured
from .fixtures import copy_example_site

INSTALL_STAMP = ".venv/.installed"  # the Makefile's $(STAMP): treated as up to date (-o)
MAX_SECONDS = 300
MAX_RSS_MB = 1.5 * 1024


def demo_steps(site: Path, model_dir: Path) -> list[str]:
    """The shell commands of ``make demo`` for the site in ``site``, training from ``model_dir``."""
    from mkdocs_aigen.settings import PACKAGED_MODEL

    listed = subprocess.run(["make", "--no-print-directory", "-n", "-o", INSTALL_STAMP, "demo", f"SITE={site}"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout
    steps = [line for line in listed.splitlines() if line.strip()]
    if Path(model_dir).resolve() != PACKAGED_MODEL.resolve():
        steps = [f"{step} --base {shlex.quote(str(model_dir))}" if "mkdocs-aigen train" in step else step
                 for step in steps]
    return steps


def run(ctx: Context) -> Result:
    site = ctx.scratch("b6") / "example_site"
    copy_example_site(site)
    steps = demo_steps(site, ctx.model_dir)
    timings = []
    for step in steps:
        measured = run_measured(step, cwd=REPO, shell=True).check(step)
        timings.append({"step": step, "seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb})
    seconds = sum(t["seconds"] for t in timings)
    peak = max(t["peak_rss_mb"] for t in timings)
    return Result(
        "B6", "cold demo", "wall time of `make demo`'s steps on a fresh example_site copy (one run)",
        samples=[seconds], unit="s", target=Target("<=", MAX_SECONDS, " s"),
        checks={f"peak RSS ≤ {MAX_RSS_MB / 1024:g} GB": peak <= MAX_RSS_MB},
        details={"steps": timings, "seconds": seconds, "peak_rss_mb": peak, "peak_rss_bytes": int(peak * MB)},
        lines=[f"{t['seconds']:6.1f} s  {t['peak_rss_mb']:6.0f} MB  {t['step']}" for t in timings]
        + [f"total {seconds:.1f} s, peak RSS {peak:.0f} MB"],
    )
