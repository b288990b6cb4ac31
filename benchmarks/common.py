"""Shared pieces of the benchmarks: the run context, results, alternating timing, measured subprocesses."""

from __future__ import annotations

import json
import operator
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_SITE = REPO / "example_site"
MB = 1024 * 1024


@dataclass
class Context:
    """What every benchmark gets: size, repetitions, the model, a scratch dir, torch threads."""

    quick: bool
    runs: int
    model_dir: Path
    model_note: str
    work: Path
    threads: int  # torch's intra-op threads at the start of each benchmark: --threads, else torch's default

    @property
    def warmup(self) -> int:
        """Untimed rounds before the timed ones (none at the smoke size)."""
        return 0 if self.quick else 1

    def scratch(self, name: str) -> Path:
        """A fresh, empty dir under the run's scratch dir."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.work))

    def reset_torch_threads(self) -> None:
        """Undo what an earlier benchmark's generator did to torch's threads in this process.

        The plugin's generator may lower them when it loads a model; children get ``--threads``
        through ``OMP_NUM_THREADS``, which the plugin respects.
        """
        import torch

        torch.set_num_threads(self.threads)


@dataclass(frozen=True)
class Target:
    """A bound a headline value should meet, e.g. ``Target("<=", 1.10)``."""

    op: str  # "<=" or ">="
    value: float
    unit: str = "×"

    def met(self, value: float) -> bool:
        return {"<=": operator.le, ">=": operator.ge}[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{'≤' if self.op == '<=' else '≥'} {self.value:g}{self.unit}"


@dataclass
class Result:
    """One benchmark's outcome: per-run headline samples, its target and what else it measured.

    ``checks``: further named conditions of the target (e.g. torch not imported); ``met`` needs all.
    """

    bench_id: str
    title: str
    metric: str
    samples: list[float] = field(default_factory=list)
    unit: str = "×"
    target: Target | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)  # printed under the table
    error: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def met(self) -> bool | None:
        if self.error or self.median is None:
            return False if self.error else None
        if self.target is None and not self.checks:
            return None
        return (self.target is None or self.target.met(self.median)) and all(self.checks.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.bench_id, "title": self.title, "metric": self.metric, "unit": self.unit,
            "median": self.median, "min": min(self.samples, default=None), "max": max(self.samples, default=None),
            "runs": len(self.samples), "samples": self.samples,
            "target": str(self.target) if self.target else None, "checks": self.checks, "met": self.met,
            "details": self.details, "error": self.error,
        }


def child_env(**extra: str) -> dict[str, str]:
    """Environment of child processes: this one's, with the repo importable and MkDocs' 2.0 banner off."""
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO), **extra}


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of a non-empty sequence."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def ratios(numerators: Sequence[dict], denominators: Sequence[dict], key: str = "seconds") -> list[float]:
    """Run-by-run ratios of one measurement of two alternated variants."""
    return [a[key] / b[key] for a, b in zip(numerators, denominators, strict=True)]


def alternate(variants: dict[str, Callable[[], dict[str, Any]]], runs: int, warmup: int = 0
              ) -> dict[str, list[dict[str, Any]]]:
    """Call each variant in turn, run by run (A B A B …), so drift hits all alike.

    Each call returns a dict of measurements; ``warmup`` rounds are run first and dropped.
    """
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for round_ in range(warmup + runs):
        for name, variant in variants.items():
            measured = variant()
            if round_ >= warmup:
                samples[name].append(measured)
    return samples


def timed(function: Callable[[], Any]) -> tuple[dict[str, float], Any]:
    """``({"seconds": wall, "cpu_seconds": this process's CPU time}, result)`` of one call.

    CPU time is reported next to wall time: on a shared machine it is the steadier of the two.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return {"seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}, result


@dataclass
class Measured:
    """A finished child process: wall seconds, peak RSS (its own and its waited-for children's)."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> Measured:
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"{what} failed with exit code {self.returncode}:\n{tail}")
        return self


# Runs the command and reports its time and peak RSS. A fresh, small launcher is needed: a child
# forked straight from this (large) process would count this process's RSS in its own ru_maxrss.
_LAUNCHER = """
import json, resource, subprocess, sys, time
report, shell, command = sys.argv[1], sys.argv[2] == "shell", sys.argv[3:]
started = time.perf_counter()
code = subprocess.call(command[0] if shell else command, shell=shell)
seconds = time.perf_counter() - started
with open(report, "w") as handle:
    json.dump({"seconds": seconds, "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, handle)
sys.exit(code)
"""


def run_measured(command: Sequence[str] | str, *, cwd: Path | None = None, env: dict | None = None,
                 shell: bool = False) -> Measured:
    """Run a child to completion; its wall time and peak RSS (``getrusage(RUSAGE_CHILDREN)`` in a
    launcher, so it covers the child and the descendants it waited for)."""
    argv = [command] if shell else list(command)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            code = subprocess.call([sys.executable, "-c", _LAUNCHER, str(report), "shell" if shell else "exec", *argv],
                                   cwd=cwd, env=env or child_env(), stdout=stdout, stderr=stderr)
        measured = json.loads(report.read_text())
        return Measured(measured["seconds"], measured["maxrss_kb"] * 1024 / MB, code,
                        out.read_text(errors="replace"), err.read_text(errors="replace"))


def python_child(code: str, *args: str, **kwargs) -> Measured:
    """:func:`run_measured` of ``python -c code args…`` with this interpreter."""
    return run_measured([sys.executable, "-c", code, *args], **kwargs)


def environment(ctx: Context) -> dict[str, Any]:
    """Where and how the run happened (recorded in the JSON and printed above the table)."""
    import platform

    from mkdocs_aigen.ml.backends.local import _usable_cpus

    return {
        "python": platform.python_version(), "platform": platform.platform(terse=True),
        "usable_cpus": _usable_cpus(), "torch_threads_at_start": ctx.threads,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "model": str(ctx.model_dir), "model_note": ctx.model_note, "quick": ctx.quick, "runs": ctx.runs,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}{unit}" if unit in ("×", "") else f"{value:.1f} {unit}"


def format_table(results: Sequence[Result]) -> str:
    """The results as a fixed-width table, then each benchmark's detail lines."""
    header = ("ID", "Benchmark", "Median", "Min–max", "Runs", "Target", "Met")
    rows = []
    for r in results:
        spread = "-" if not r.samples else (
            f"{format_value(min(r.samples), r.unit)}–{format_value(max(r.samples), r.unit)}")
        met = {True: "met", False: "MISSED", None: "-"}[r.met]
        if r.error:
            met = "ERROR"
        target = " & ".join(filter(None, [str(r.target) if r.target else "", *r.checks])) or "-"
        rows.append((r.bench_id, r.title, format_value(r.median, r.unit), spread, str(len(r.samples)), target, met))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *map(line, rows), ""]
    for r in results:
        out.append(f"{r.bench_id} {r.title}: {r.metric}")
        out += [f"    {text}" for text in r.lines]
        out += [f"    check {name}: {'ok' if ok else 'FAILED'}" for name, ok in r.checks.items()]
        if r.error:
            out.append(f"    error: {r.error}")
    return "\n".join(out)


def write_results(path: Path, env: dict[str, Any], results: Sequence[Result]) -> None:
    from mkdocs_aigen.safeio import atomic_write_text

    payload = {"environment": env, "benchmarks": {r.bench_id: r.to_json() for r in results}}
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
