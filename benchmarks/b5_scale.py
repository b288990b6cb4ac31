"""B5 scale: drafting time and peak RSS at 5, 20 and 80 stub sections of a generated site.

Each drafting run is a fresh process (``python -m benchmarks.b5_scale CONFIG``) that drafts every
section into an empty cache the way the plugin does; the parent times it and reads its peak RSS.
"""

from __future__ import annotations

import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from .common import Context, Result, ratios, run_measured, summary
from .fixtures import generated_site


def section_counts(ctx: Context) -> tuple[int, ...]:
    return (2, 8) if ctx.quick else (5, 20, 80)  # quick: two sizes, each child costs seconds of imports


def draft_site(config: Path) -> dict:
    """Draft every missing section of the site at ``config`` (the plugin's path); what it took."""
    started = time.perf_counter()
    from mkdocs_aigen.cli.config_file import load_settings
    from mkdocs_aigen.drafting.stubs import discover
    from mkdocs_aigen.project import Project

    project = Project(load_settings(config))
    pages, _ = discover(project.settings.docs_dir, project.kinds)
    drafting = time.perf_counter()
    drafts = project.draft(pages, "auto")
    done = time.perf_counter()
    return {"sections": len(drafts), "tokens": sum(d.tokens for d in drafts.values()),
            "draft_seconds": done - drafting, "process_seconds": done - started,
            "model_load_seconds": project.drafter.timings.get("model_load", 0.0)}


def measure(config: Path) -> dict:
    """One drafting process on an empty cache: its own timings, wall time and peak RSS."""
    shutil.rmtree(config.parent / ".aigen", ignore_errors=True)
    measured = run_measured([sys.executable, "-m", "benchmarks.b5_scale", str(config)])
    measured.check(f"drafting {config}")
    return {**json.loads(measured.stdout.strip().splitlines()[-1]), "wall_seconds": measured.seconds,
            "peak_rss_mb": measured.peak_rss_mb}


def run(ctx: Context) -> Result:
    options = {"max_new_tokens": 8} if ctx.quick else {}
    configs = {n: generated_site(ctx.scratch(f"b5-{n}"), n, ctx.model_dir, **options) for n in section_counts(ctx)}
    runs = {n: [measure(config) for _ in range(ctx.runs)] for n, config in configs.items()}
    rows = {}
    for n, samples in runs.items():
        rows[n] = {key: summary([s[key] for s in samples])["median"]
                   for key in ("draft_seconds", "wall_seconds", "peak_rss_mb", "tokens", "model_load_seconds")}
        rows[n]["seconds_per_section"] = rows[n]["draft_seconds"] / n
    smallest, largest = min(runs), max(runs)
    growth = ratios(runs[largest], runs[smallest], "draft_seconds")
    lines = [f"{'sections':>8}  {'draft s':>8}  {'of it load':>10}  {'s/section':>9}  {'tokens':>7}  "
             f"{'process s':>9}  {'peak RSS':>9}"]
    lines += [f"{n:>8}  {r['draft_seconds']:>8.2f}  {r['model_load_seconds']:>10.2f}  "
              f"{r['seconds_per_section']:>9.3f}  {r['tokens']:>7.0f}  {r['wall_seconds']:>9.2f}  "
              f"{r['peak_rss_mb']:>6.0f} MB" for n, r in rows.items()]
    rss_growth = rows[largest]["peak_rss_mb"] - rows[smallest]["peak_rss_mb"]
    lines.append(f"{largest / smallest:.0f}× the sections cost {statistics.median(growth):.1f}× the drafting time "
                 f"and {rss_growth:+.0f} MB of peak RSS (medians; prose sections, plugin defaults)")
    return Result(
        "B5", "scale",
        f"drafting time at {largest} stub sections ÷ at {smallest} (fresh process per run, empty cache)",
        samples=growth, details={"by_sections": rows, "runs": runs}, lines=lines,
    )


if __name__ == "__main__":  # the child: draft the site at argv[1], print what it took as one JSON line
    print(json.dumps(draft_site(Path(sys.argv[1]))))
