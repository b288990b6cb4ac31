"""``python -m benchmarks``: run the benchmarks, print the table, write ``benchmarks/results.json``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Callable, Sequence

from . import (
    b1_warm_rebuild,
    b2_throughput,
    b3_int8,
    b4_training,
    b5_scale,
    b6_cold_demo,
    b7_grounded,
    b8_serving,
)
from .common import Context, Result, environment, format_table, write_results
from .fixtures import resolve_model

BENCHMARKS: dict[str, tuple[str, Callable[[Context], Result]]] = {
    "B1": ("warm rebuild", b1_warm_rebuild.run),
    "B2": ("drafting throughput", b2_throughput.run),
    "B3": ("int8 drafting", b3_int8.run),
    "B4": ("training", b4_training.run),
    "B5": ("scale", b5_scale.run),
    "B7": ("grounded drafting", b7_grounded.run),
    "B8": ("serving", b8_serving.run),
    "B6": ("cold demo", b6_cold_demo.run),  # slow: last, and skipped by --quick
}
SLOW = ("B6",)
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Run the benchmarks: table on stdout, "
                                     "JSON results in a file.")
    parser.add_argument("--quick", action="store_true", help="smoke size: tiny model, few tokens, one run, no B6")
    parser.add_argument("--only", type=lambda text: [b.strip().upper() for b in text.split(",") if b.strip()],
                        help="comma-separated benchmarks to run, e.g. B2 or B1,B3")
    parser.add_argument("--model", type=Path, help="model dir (default: the shipped base when present, else a "
                                                   "locally built stand-in; --quick: the tests' tiny model)")
    parser.add_argument("--runs", type=int, help="runs per variant (default 5, --quick 1)")
    parser.add_argument("--threads", type=int, help="torch threads, here and in children via OMP_NUM_THREADS "
                                                    "(default: the plugin's own choice)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    return parser


def selected(only: Sequence[str] | None, quick: bool) -> list[str]:
    if only:
        unknown = [b for b in only if b not in BENCHMARKS]
        if unknown:
            raise SystemExit(f"--only: unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return [b for b in BENCHMARKS if b in only]
    return [b for b in BENCHMARKS if not (quick and b in SLOW)]


def run_one(bench_id: str, ctx: Context) -> Result:
    """Run one benchmark; an exception becomes a result with ``error`` set (the others still run)."""
    title, function = BENCHMARKS[bench_id]
    print(f"running {bench_id} {title} …", file=sys.stderr, flush=True)
    try:
        return function(ctx)
    except Exception as error:  # a broken benchmark must not hide the others' results
        traceback.print_exc()
        return Result(bench_id, title, "", error=f"{type(error).__name__}: {error}".splitlines()[0])


def main(argv: Sequence[str] | None = None) -> list[Result]:
    args = build_parser().parse_args(argv)
    if args.runs is not None and args.runs < 1:
        raise SystemExit("--runs must be >= 1")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch loads; children inherit it
    ids = selected(args.only, args.quick)
    warnings.filterwarnings("ignore")  # transformers' and torch's notices would bury the table
    logging.getLogger("transformers").setLevel(logging.ERROR)
    import torch

    threads = args.threads or torch.get_num_threads()
    model_dir, note = resolve_model(args.model, args.quick)
    with tempfile.TemporaryDirectory(prefix="mkdocs-aigen-bench-") as work:
        ctx = Context(quick=args.quick, runs=args.runs or (1 if args.quick else 5), model_dir=model_dir,
                      model_note=note, work=Path(work), threads=threads)
        env = environment(ctx)
        results = [run_one(bench_id, ctx) for bench_id in ids]
    env["load_average_end"] = environment(ctx)["load_average"]
    print(f"model: {note} ({model_dir})\nmachine: {env['usable_cpus']} usable CPUs, torch threads at start "
          f"{threads}{'' if args.threads else ' (the generator may lower them)'}, load average "
          f"{env['load_average']} → {env['load_average_end']}\n")
    print(format_table(results))
    write_results(args.out, env, results)
    print(f"\nwrote {args.out}")
    return results


if __name__ == "__main__":
    sys.exit(1 if any(r.error for r in main()) else 0)
