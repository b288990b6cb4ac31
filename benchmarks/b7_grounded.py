"""B7 grounded drafting: drafting example_site's stubs with ``grounding: true`` vs ``grounding: false``.

Both variants draft every missing section of a copy of example_site through the plugin's Drafter
(prose, code samples, their checks and re-sampling; no draft cache), with the same model and
settings; they differ only in the ``grounding`` option, so in the prompts' ``Context:`` passages
(retrieval itself happens before the timed drafting, when the jobs are made).
"""

from __future__ import annotations

import statistics
from typing import Any

from .common import Context, Result, Target, alternate, ratios, summary, timed
from .fixtures import copy_example_site


def load_project(config):
    """The plugin's project for the site at ``config`` and its missing-section jobs."""
    from mkdocs_aigen.cli.config_file import load_settings
    from mkdocs_aigen.drafting.stubs import discover
    from mkdocs_aigen.project import Project

    project = Project(load_settings(config))
    pages, errors = discover(project.settings.docs_dir, project.kinds)
    if errors:
        raise ValueError(f"{config}: bad stubs: {errors[0]}")
    return project, project.jobs(pages)


def variants(ctx: Context) -> dict[str, tuple[Any, list]]:
    """``{"grounded": (project, jobs), "ungrounded": …}``, each a copy of example_site."""
    options: dict[str, Any] = {"model": str(ctx.model_dir), "cache": False}
    if ctx.quick:
        options["max_new_tokens"] = 8
    return {name: load_project(copy_example_site(ctx.scratch(f"b7-{name}") / "site", grounding=grounded, **options))
            for name, grounded in (("grounded", True), ("ungrounded", False))}


def prompt_tokens(project, jobs: list) -> dict[str, float]:
    """Median prose-prompt tokens of ``jobs``, as written and as kept (left-truncated to fit the context)."""
    generator = project.backend.generator
    written = [len(generator.tokenizer(job.kind.section_prompt(job.spec, job.heading, job.context),
                                       verbose=False)["input_ids"]) for job in jobs]
    room = generator.context_length - generator.settings.max_new_tokens
    return {"written": statistics.median(written), "kept": statistics.median(min(n, room) for n in written)}


def draft(project, jobs: list) -> dict[str, Any]:
    times, drafts = timed(lambda: project.drafter.generate(jobs))
    return {**times, "sections": len(drafts), "tokens": sum(d.tokens for d in drafts.values())}


def run(ctx: Context) -> Result:
    ctx.reset_torch_threads()
    made = variants(ctx)
    samples = alternate({name: (lambda p=project, j=jobs: draft(p, j)) for name, (project, jobs) in made.items()},
                        runs=ctx.runs, warmup=ctx.warmup)
    prompts = {name: prompt_tokens(project, jobs) for name, (project, jobs) in made.items()}
    with_context = sum(1 for job in made["grounded"][1] if job.context)
    per_token = statistics.median(
        (g["seconds"] / g["tokens"]) / (u["seconds"] / u["tokens"])
        for g, u in zip(samples["grounded"], samples["ungrounded"], strict=True))
    seconds = {name: summary([s["seconds"] for s in runs]) for name, runs in samples.items()}
    tokens = {name: summary([s["tokens"] for s in runs]) for name, runs in samples.items()}
    sections = len(made["ungrounded"][1])
    return Result(
        "B7", "grounded drafting",
        f"drafting time of example_site's {sections} stub sections, grounding: true ÷ false (the Drafter, no cache)",
        samples=ratios(samples["grounded"], samples["ungrounded"]), target=Target("<=", 1.3),
        checks={"sections have context": with_context > 0},
        details={"sections": sections, "sections_with_context": with_context,
                 "prompt_tokens": prompts, "seconds": seconds, "tokens": tokens,
                 "seconds_per_token_ratio": per_token, "runs": samples},
        lines=[f"{with_context}/{sections} sections have context passages with grounding on",
               f"prose prompt tokens (medians): grounded {prompts['grounded']['written']:.0f} "
               f"(kept {prompts['grounded']['kept']:.0f}) vs ungrounded {prompts['ungrounded']['written']:.0f} "
               f"(kept {prompts['ungrounded']['kept']:.0f}); the model's context keeps the last "
               f"{made['grounded'][0].backend.generator.context_length} tokens of prompt and draft",
               f"grounded {seconds['grounded']['median']:.1f} s for {tokens['grounded']['median']:.0f} tokens vs "
               f"ungrounded {seconds['ungrounded']['median']:.1f} s for {tokens['ungrounded']['median']:.0f} tokens "
               f"(medians); per generated token {per_token:.2f}×"],
    )
