"""B7 grounded drafting: drafting example_site's stubs with context passages in the prompts vs without.

Both variants draft every missing section of a copy of example_site through the plugin's Drafter
(prose, code samples, their checks and re-sampling; no draft cache), with the same model and
settings; they differ only in the prompts' ``Context:`` passages. With the plugin's ``grounding``
option, each variant is a copy with ``grounding: true`` / ``false``. Without it (before grounding
exists), the grounded jobs are the ungrounded ones plus a stand-in context: example_site's own
authored sections from other pages, ranked by BM25 against the section and kept up to
:data:`STAND_IN_TOKENS` tokens, about what a retriever's token budget gives.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any

from .b2_throughput import plugin_default
from .common import EXAMPLE_SITE, Context, Result, Target, alternate, ratios, summary, timed
from .fixtures import copy_example_site, site_pages

STAND_IN_TOKENS = 600


def has_grounding_option() -> bool:
    try:
        plugin_default("grounding")
    except KeyError:
        return False
    return True


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


def authored_passages() -> list[tuple[str, Any]]:
    """``(src_path, Passage)`` for every authored section of example_site's pages."""
    from mkdocs_aigen.grounding import Passage
    from mkdocs_aigen.grounding.sections import authored_sections
    from mkdocs_aigen.markdown import body_start, slugify

    found = []
    for path in site_pages():
        text = path.read_text(encoding="utf-8")
        src_path = path.relative_to(EXAMPLE_SITE / "docs").as_posix()
        for section in authored_sections(text[body_start(text):]):
            found.append((src_path, Passage(f"{src_path}#{slugify(section.heading)}", section.heading, section.text)))
    return found


def stand_in_context(jobs: list, count_tokens) -> list:
    """``jobs`` with the stand-in context: the best-ranked authored sections of other pages, up to
    :data:`STAND_IN_TOKENS` tokens (at least one passage)."""
    from mkdocs_aigen.ranking import Ranker

    passages = authored_passages()
    ranker = Ranker([f"{p.title}\n{p.text}" for _, p in passages])
    grounded = []
    for job in jobs:
        query = f"{job.spec.topic} {job.heading} {job.spec.notes or ''}"
        chosen, spent = [], 0
        for i in ranker.top(query, len(passages), keep=lambda i, page=job.page: passages[i][0] != page):
            cost = count_tokens(passages[i][1].text)
            if chosen and spent + cost > STAND_IN_TOKENS:
                break
            chosen.append(passages[i][1])
            spent += cost
        grounded.append(dataclasses.replace(job, context=tuple(chosen)))
    return grounded


def variants(ctx: Context) -> tuple[dict[str, tuple[Any, list]], str]:
    """``{"grounded": (project, jobs), "ungrounded": …}`` and a note saying how context was made."""
    options: dict[str, Any] = {"model": str(ctx.model_dir), "cache": False}
    if ctx.quick:
        options["max_new_tokens"] = 8
    if has_grounding_option():
        made = {name: load_project(copy_example_site(ctx.scratch(f"b7-{name}") / "site", grounding=grounded, **options))
                for name, grounded in (("grounded", True), ("ungrounded", False))}
        return made, "the plugin's grounding option (true vs false)"
    project, jobs = load_project(copy_example_site(ctx.scratch("b7") / "site", **options))
    tokenizer = project.backend.generator.tokenizer
    grounded = stand_in_context(jobs, lambda text: len(tokenizer(text, verbose=False)["input_ids"]))
    return ({"grounded": (project, grounded), "ungrounded": (project, jobs)},
            f"STAND-IN: no grounding option yet, so grounded jobs carry example_site's authored sections "
            f"of other pages (BM25-ranked, ≤ {STAND_IN_TOKENS} tokens)")


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
    made, how = variants(ctx)
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
        f"drafting time of example_site's {sections} stub sections with context ÷ without (the Drafter, no cache)",
        samples=ratios(samples["grounded"], samples["ungrounded"]), target=Target("<=", 1.3),
        checks={"sections have context": with_context > 0},
        details={"context": how, "sections": sections, "sections_with_context": with_context,
                 "prompt_tokens": prompts, "seconds": seconds, "tokens": tokens,
                 "seconds_per_token_ratio": per_token, "runs": samples},
        lines=[f"context: {how}; {with_context}/{sections} sections have some",
               f"prose prompt tokens (medians): grounded {prompts['grounded']['written']:.0f} "
               f"(kept {prompts['grounded']['kept']:.0f}) vs ungrounded {prompts['ungrounded']['written']:.0f} "
               f"(kept {prompts['ungrounded']['kept']:.0f}); the model's context keeps the last "
               f"{made['grounded'][0].backend.generator.context_length} tokens of prompt and draft",
               f"grounded {seconds['grounded']['median']:.1f} s for {tokens['grounded']['median']:.0f} tokens vs "
               f"ungrounded {seconds['ungrounded']['median']:.1f} s for {tokens['ungrounded']['median']:.0f} tokens "
               f"(medians); per generated token {per_token:.2f}×"],
    )
