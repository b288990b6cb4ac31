"""B1 warm rebuild: ``mkdocs build`` with every draft cached ÷ the same site with the plugin disabled.

Each build is a fresh ``mkdocs build`` process (what a user runs), timed from outside; the enabled
variant also reports whether torch or transformers were imported and how many sections it drafted.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .common import (
    Context,
    Result,
    Target,
    alternate,
    child_env,
    python_child,
    ratios,
    summary,
)
from .fixtures import copy_example_site

# `mkdocs build` as its console script runs it; at exit, write which heavy modules were imported.
BUILD_CHILD = """
import atexit, json, os, runpy, sys
def report():
    with open(os.environ["BENCH_MODULES_FILE"], "w") as handle:
        json.dump({name: name in sys.modules for name in ("torch", "transformers")}, handle)
atexit.register(report)
sys.argv = ["mkdocs", "build", "-f", sys.argv[1]]
runpy.run_module("mkdocs", run_name="__main__")
"""
DRAFTED_RE = re.compile(r"drafted (\d+) sections, (\d+) from cache, (\d+) stated from the API")
RUNS_FACTOR = 3  # a build takes about a second: three times the runs (not at the smoke size) steady the median


def fill_cache(config: Path) -> int:
    """Draft every missing section of the site into its cache, as the plugin would; return the count."""
    from mkdocs_aigen.cli.config_file import load_settings
    from mkdocs_aigen.drafting.stubs import discover
    from mkdocs_aigen.project import Project

    project = Project(load_settings(config))
    pages, _ = discover(project.settings.docs_dir, project.kinds)
    return len(project.draft(pages, "auto"))


def build(config: Path) -> dict:
    """One timed ``mkdocs build`` of ``config``."""
    modules_file = config.parent / "modules.json"
    measured = python_child(BUILD_CHILD, str(config), env=child_env(BENCH_MODULES_FILE=str(modules_file)))
    measured.check(f"mkdocs build -f {config}")
    modules = json.loads(modules_file.read_text())
    os.unlink(modules_file)
    drafted = DRAFTED_RE.search(measured.stderr)
    report = config.parent / ".aigen" / "report.json"  # the plugin's own timing of its on_files
    on_files = json.loads(report.read_text())["timings"].get("on_files") if drafted else None
    return {"seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb, **modules, "on_files_seconds": on_files,
            "generated": int(drafted[1]) if drafted else None,
            "cached": int(drafted[2]) + int(drafted[3]) if drafted else None}  # stated sections need no model either


def run(ctx: Context) -> Result:
    enabled = copy_example_site(ctx.scratch("b1-enabled") / "site", model=str(ctx.model_dir))
    disabled = copy_example_site(ctx.scratch("b1-disabled") / "site", model=str(ctx.model_dir), enabled=False)
    sections = fill_cache(enabled)
    samples = alternate({"cached": lambda: build(enabled), "disabled": lambda: build(disabled)},
                        runs=ctx.runs if ctx.quick else ctx.runs * RUNS_FACTOR, warmup=ctx.warmup)
    cached, plain = samples["cached"], samples["disabled"]
    torch_imported = any(s["torch"] or s["transformers"] for s in cached)
    generated = sorted({s["generated"] for s in cached}, key=str)
    times = {name: summary([s["seconds"] for s in runs]) for name, runs in samples.items()}
    on_files = summary([s["on_files_seconds"] for s in cached])["median"]
    return Result(
        "B1", "warm rebuild", "wall time of `mkdocs build` (example_site, all drafts cached) ÷ plugin disabled",
        samples=ratios(cached, plain), target=Target("<=", 1.10),
        checks={"torch not imported": not torch_imported, "nothing drafted": generated == [0]},
        details={"stub_sections": sections, "seconds": times, "on_files_seconds": on_files, "runs": samples},
        lines=[f"cached build {times['cached']['median']:.2f} s vs plugin disabled "
               f"{times['disabled']['median']:.2f} s (medians; {sections} sections served from the cache)",
               f"the plugin's on_files (stub parsing, cache look-ups, composing) took {on_files * 1000:.0f} ms "
               f"(median, from .aigen/report.json)",
               f"torch imported in the cached build: {'yes' if torch_imported else 'no'}; "
               f"sections drafted in it: {generated}"],
    )
