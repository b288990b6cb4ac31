"""Review state of a build: the review-queue page and the JSON report (``.aigen/report.json``)."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from markdown.extensions.toc import slugify as toc_slugify

from mkdocs_aigen.authoring.status import (
    DRAFTED,
    EDITED,
    FACT_COUNTS,
    STUB,
    PageReview,
    status_report,
)
from mkdocs_aigen.labels import Labels
from mkdocs_aigen.plugin.render import markdown_text
from mkdocs_aigen.safeio import atomic_write_text

REVIEW_PAGE = "aigen/review.md"


def queue_markdown(pages: list[PageReview], labels: Labels = Labels(), page_path: str = REVIEW_PAGE) -> str:
    """The Review queue page (to be published at ``page_path``, relative to docs_dir): every page and
    section awaiting review (or shown with no draft), linked; left out of the search index."""
    title = labels["queue_title"]
    lines = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", "search:", "  exclude: true", "---",
             f"# {title}", ""]
    waiting = [p for p in pages if p.marked]
    if not waiting:
        return "\n".join(lines + [labels["queue_empty"], ""])
    total = sum(len(p.awaiting) for p in waiting)
    lines += [labels.text("queue_summary", sections=total, pages=len(waiting)), ""]
    if any(s.state == STUB for p in waiting for s in p.marked):
        lines += [labels["queue_stubs"], ""]
    head = " | ".join(labels[key] for key in ("queue_section", "queue_state", "queue_code", "queue_sources"))
    for page in waiting:
        link = posixpath.relpath(page.src_path, posixpath.dirname(page_path))
        topic = f"{labels['queue_topic']}: {markdown_text(page.topic)}"
        lines += [f"## [{markdown_text(page.title)}]({link})", "", topic, "", f"| {head} |", "| --- | --- | --- | --- |"]
        for section in page.marked:
            state = section.state + (f" ({section.fill})" if section.fill else "")
            code = section.code_status or "—"
            errors = "; ".join(c.get("error") or "" for c in section.code if c["status"] == "invalid")
            if errors:
                code += f" ({markdown_text(errors)})"
            sources = ", ".join(markdown_text(s["source"]) for s in section.sources) or "—"
            lines.append(f"| [{markdown_text(section.heading)}]({link}#{toc_slugify(section.heading, '-')}) "
                         f"| {state} | {code} | {sources} |")
        lines.append("")
    return "\n".join(lines)


def write_report(path: Path, pages: list[PageReview], timings: dict[str, float]) -> dict:
    """Write the JSON build report and return it: the ``status --json`` document (same pages, sections,
    states, totals and ``awaiting_review``, each section's ``sources`` and ``facts``) with what the
    build drafted (``fill``, counts), its code checks, fact counts, how many sections awaiting review
    cite a source (``cited``, of ``awaiting_review``), and how long it took."""
    report = status_report(pages)
    for entry, page in zip(report["pages"], pages):
        entry |= {"topic": page.topic, **_fill_counts([page]), "code": page.code_counts(),
                  "facts": page.fact_counts(), "cited": page.cited, "awaiting_review": len(page.awaiting)}
    code = {key: sum(p.code_counts()[key] for p in pages) for key in pages[0].code_counts()} if pages else {}
    facts = {key: sum(p.fact_counts()[key] for p in pages) for key in FACT_COUNTS}
    report["totals"] |= {**_fill_counts(pages), "code": code, "facts": facts, "cited": sum(p.cited for p in pages)}
    report["timings"] = {k: round(v, 3) for k, v in timings.items()}
    atomic_write_text(path, json.dumps(report, indent=2, ensure_ascii=False))
    return report


def _fill_counts(pages: list[PageReview]) -> dict[str, int]:
    """Sections this build drafted, took from the cache, stated from the inventory, and found drafted in
    the sources."""
    return {"generated": sum(p.count(fill="generated") for p in pages),
            "cached": sum(p.count(fill="cache") for p in pages),
            "stated": sum(p.count(fill="facts") for p in pages),
            "embedded": sum(p.count(state=s) for p in pages for s in (DRAFTED, EDITED))}
