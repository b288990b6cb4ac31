"""Review state of a build: per-page draft regions, the review-queue page and the JSON report."""

from __future__ import annotations

import json
import posixpath
from dataclasses import asdict
from pathlib import Path

from markdown.extensions.toc import slugify as toc_slugify

from mkdocs_aigen.authoring.status import PageReview
from mkdocs_aigen.safeio import atomic_write_text

REVIEW_PAGE = "aigen/review.md"


def queue_markdown(pages: list[PageReview]) -> str:
    """The Review queue page: every page and section awaiting review, linked."""
    lines = ["# Review queue", ""]
    waiting = [p for p in pages if p.awaiting or any(r.status == "missing" for _, r in p.regions)]
    if not waiting:
        return "\n".join(lines + ["Nothing awaits review.", ""])
    total = sum(len(p.awaiting) for p in waiting)
    lines += [f"{total} drafted section{'s' if total != 1 else ''} on {len(waiting)} page"
              f"{'s' if len(waiting) != 1 else ''} await review. Approve with `mkdocs-aigen approve`.", ""]
    for page in waiting:
        link = posixpath.relpath(page.src_path, posixpath.dirname(REVIEW_PAGE))
        lines += [f"## [{page.title}]({link})", "", f"Topic: {page.topic}", "",
                  "| Section | State | Code |", "| --- | --- | --- |"]
        for heading, info in page.regions:
            code = info.code_status or "—"
            errors = "; ".join(c.get("error") or "" for c in info.code if c["status"] == "invalid")
            if errors:
                code += f" ({_cell(errors)})"
            lines.append(f"| [{_cell(heading)}]({link}#{toc_slugify(heading, '-')}) | {info.status} | {code} |")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(path: Path, pages: list[PageReview], timings: dict[str, float]) -> dict:
    """Write the JSON build report and return it."""
    totals = {key: sum(getattr(p, key) for p in pages) for key in ("authored", "generated", "cached", "embedded")}
    code = {key: sum(p.code_counts()[key] for p in pages) for key in pages[0].code_counts()} if pages else {}
    report = {
        "pages": [
            {"page": p.src_path, "title": p.title, "topic": p.topic, "authored": p.authored, "generated": p.generated,
             "cached": p.cached, "embedded": p.embedded, "code": p.code_counts(),
             "sections": [{"heading": h, **asdict(r)} for h, r in p.regions]}
            for p in pages
        ],
        "totals": {**totals, "awaiting_review": sum(len(p.awaiting) for p in pages), "code": code},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    atomic_write_text(path, json.dumps(report, indent=2, ensure_ascii=False))
    return report
