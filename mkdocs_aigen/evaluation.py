"""Draft quality on the user's own site, leave-one-page-out (``mkdocs-aigen eval``).

Each authored page in turn is held out: its sections are scored and drafted from the page's topic and
headings, with passages retrieved from the rest of the site and the package (the page's own text is
never retrieved) or with none. Measured, grounded against ungrounded:

- held-out perplexity of the authored sections (the model reads the prompt, the section is scored);
- package references in the drafts that resolve in the inventory;
- python samples valid on the first try (``verify_code`` decides what valid means);
- distinct-4 (unique word 4-grams over all 4-grams of the drafts: low means repetitive);
- sections citing at least one source.

The model is the one the site drafts with unless ``--model`` names another. A model fine-tuned on this
site has seen the held-out pages, so its perplexity flatters it; compare bases, or retrain without them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mkdocs_aigen.drafting.engine import Drafter, SectionDraft, SectionJob
from mkdocs_aigen.drafting.frontmatter import StubSpec
from mkdocs_aigen.grounding.index import markdown_files
from mkdocs_aigen.ml.scoring import Score
from mkdocs_aigen.project import Project
from mkdocs_aigen.site_corpus import page_sections

MIN_SECTION_CHARS = 80  # shorter sections say too little to score
MODES = ("grounded", "ungrounded")


@dataclass(frozen=True)
class HeldOut:
    """One authored section of a held-out page."""

    page: str
    spec: StubSpec
    heading: str
    text: str


@dataclass
class ModeResult:
    """What one mode (grounded or ungrounded) measured."""

    score: Score = field(default_factory=Score)
    drafts: list[SectionDraft] = field(default_factory=list)

    def summary(self) -> dict:
        facts = [d.facts for d in self.drafts]
        python = [c for d in self.drafts for c in d.code if c.get("language") == "python"]
        return {
            "perplexity": round(self.score.perplexity, 3),
            "references": {"total": sum(f.get("references", 0) for f in facts),
                           "resolved": sum(f.get("resolved", 0) for f in facts)},
            "code": {"total": len(python),
                     "valid_first_try": sum(c.get("attempts") == 1 and c.get("status") != "invalid" for c in python)},
            "links_dropped": sum(f.get("links_dropped", 0) for f in facts),
            "distinct4": round(distinct_n([d.text for d in self.drafts], 4), 4),
            "cited": sum(bool(d.job.context) for d in self.drafts),
            "sections": len(self.drafts),
        }


def held_out_pages(project: Project, max_pages: int) -> list[list[HeldOut]]:
    """Authored pages (not stubs) with their scorable sections, at most ``max_pages``, spread evenly
    over the site in path order."""
    pages = [sections for sections in _authored_pages(project) if sections]
    if len(pages) <= max_pages:
        return pages
    step = len(pages) / max_pages
    return [pages[int(i * step)] for i in range(max_pages)]


def _authored_pages(project: Project) -> Iterator[list[HeldOut]]:
    docs_dir = project.settings.docs_dir
    for path in markdown_files(docs_dir):
        src = path.relative_to(docs_dir).as_posix()
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        read = page_sections(text, src, project.kinds, project.settings.language)
        if read is None or read[1] or read[0].kind not in project.kinds.names:
            continue  # bad front-matter, a stub, or a kind this site does not have
        spec, _, sections = read
        yield [HeldOut(src, spec, s.heading, s.text) for s in sections if len(s.text) >= MIN_SECTION_CHARS]


def evaluate(project: Project, *, max_pages: int = 12, max_minutes: float = 4.5) -> dict:
    """Leave-one-page-out scores and drafts over ``project``'s authored pages; returns the report dict."""
    from mkdocs_aigen.ml.scoring import completion_score

    started = time.monotonic()
    deadline = started + max_minutes * 60
    grounding = project.grounding
    pages = held_out_pages(project, max_pages)
    model, tokenizer = _scoring_model(project)
    results = {mode: ModeResult() for mode in MODES}
    jobs: dict[str, list[SectionJob]] = {mode: [] for mode in MODES}
    scored_pages = []
    for sections in pages:
        if time.monotonic() > started + 0.4 * (deadline - started) and scored_pages:
            break  # keep the rest of the budget for drafting
        scored_pages.append(sections[0].page)
        for section in sections:
            kind = project.kinds.get(section.spec.kind)
            context = tuple(grounding.retriever.passages(section.page, section.spec.topic, section.heading,
                                                         section.spec.notes)) if grounding else ()
            for mode, passages in (("grounded", context), ("ungrounded", ())):
                prompt = kind.section_prompt(section.spec, section.heading, passages)
                results[mode].score.add(completion_score(model, tokenizer, prompt, section.text))
                jobs[mode].append(SectionJob(section.page, section.spec, kind, section.heading, passages))
    drafter = Drafter(None, project.settings.draft, project.backend, project.checker)
    drafter.ground(grounding.inventory if grounding else None, project.known_facts)
    for mode in MODES:
        budget_jobs = jobs[mode] if time.monotonic() < deadline else []
        results[mode].drafts = list(drafter.generate(budget_jobs).values())
    report = {mode: results[mode].summary() for mode in MODES}
    grounded, ungrounded = report["grounded"], report["ungrounded"]
    return {
        **grounded,
        "perplexity": {"grounded": grounded["perplexity"], "ungrounded": ungrounded["perplexity"],
                       "ratio": round(grounded["perplexity"] / ungrounded["perplexity"], 4)},
        "ungrounded": ungrounded,
        "grounding": grounding is not None,
        "model": str(project.settings.model_dir()),
        "pages": scored_pages,
        "minutes": round((time.monotonic() - started) / 60, 2),
    }


def _scoring_model(project: Project):
    """``(model, tokenizer)`` to score with: those the local backend drafts with (loaded once for
    both), else the model dir loaded here (a served backend exposes no log-likelihoods to score)."""
    generator = project.backend.generator
    if hasattr(generator, "model"):
        return generator.model, generator.tokenizer
    from mkdocs_aigen.ml.checkpoint import load_causal_lm

    return load_causal_lm(project.settings.model_dir(), device=project.settings.device or "cpu")


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique word n-grams over all word n-grams of ``texts`` (1.0 when there are none)."""
    grams = [tuple(words[i : i + n]) for text in texts for words in [text.split()] for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 1.0


def format_table(report: dict) -> str:
    """The report as a plain-text table: one row per measure, grounded beside ungrounded."""
    ungrounded = report["ungrounded"]

    def share(part: int, whole: int) -> str:
        return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"

    rows = [
        ("held-out perplexity", f"{report['perplexity']['grounded']:.2f}", f"{report['perplexity']['ungrounded']:.2f}"),
        ("package references resolved", share(report["references"]["resolved"], report["references"]["total"]),
         share(ungrounded["references"]["resolved"], ungrounded["references"]["total"])),
        ("python samples valid 1st try", share(report["code"]["valid_first_try"], report["code"]["total"]),
         share(ungrounded["code"]["valid_first_try"], ungrounded["code"]["total"])),
        ("links dropped", str(report["links_dropped"]), str(ungrounded["links_dropped"])),
        ("sections citing a source", share(report["cited"], report["sections"]),
         share(ungrounded["cited"], ungrounded["sections"])),
        ("distinct-4", f"{report['distinct4']:.3f}", f"{ungrounded['distinct4']:.3f}"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure':<{width}}  {'grounded':>18}  {'ungrounded':>18}"]
    lines += [f"{name:<{width}}  {a:>18}  {b:>18}" for name, a, b in rows]
    lines.append(f"perplexity ratio (grounded / ungrounded): {report['perplexity']['ratio']:.3f}")
    lines.append(f"{len(report['pages'])} held-out page(s), model {Path(report['model']).name}, "
                 f"{report['minutes']:.1f} min")
    return "\n".join(lines)
