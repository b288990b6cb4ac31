"""Review state of the sections of stub pages: one vocabulary for the HTML, the review queue,
``report.json`` and ``mkdocs-aigen status``.

Each section of a stub page is in one state, read from its source and the review store:

- ``stub``: no text in the source yet;
- ``drafted``: a draft region whose text is as generated;
- ``edited``: a draft region the author edited: theirs, never regenerated, moved or overwritten
  unless they pass ``--discard-edits``;
- ``approved``: ordinary text that was a draft (``approve``, or its markers deleted by hand);
- ``authored``: ordinary text that was never drafted.

A build may fill a stub for its readers (the source keeps no text, so the state stays ``stub``):
with a draft from the model or the cache (``fill`` ``generated`` | ``cache``), facts stated from the
inventory (``facts``) or, when it has none,
a placeholder (``fill`` ``placeholder``). Sections *awaiting review* are those whose page shows an
AI draft nobody approved: ``drafted``, ``edited`` and stubs the build filled with a draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Protocol

from mkdocs_aigen.authoring.store import ReviewStore
from mkdocs_aigen.drafting.stubs import StubPage
from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.markdown import first_heading, heading_key, slugify, split_sections
from mkdocs_aigen.markers import DraftRegion

STUB, DRAFTED, EDITED, APPROVED, AUTHORED = "stub", "drafted", "edited", "approved", "authored"
STATES = (STUB, DRAFTED, EDITED, APPROVED, AUTHORED)
DRAFT_FILLS = ("generated", "cache", "facts")  # "facts": stated from the inventory, still reviewed
PLACEHOLDER = "placeholder"
FACT_COUNTS = ("references", "resolved", "unresolved", "links_dropped")
"""What a draft's facts count: references to the package, those that resolve, those that do not,
links dropped because they led nowhere."""


class BlockChecker(Protocol):
    def check_blocks(self, markdown: str) -> list[dict]: ...


@dataclass(frozen=True)
class SectionReview:
    """One section's review state, its code checks and how a build filled it (if it is a stub)."""

    heading: str
    section: str  # slug
    state: str  # one of STATES
    code: list[dict] = field(default_factory=list)
    fill: str | None = None  # a stub the build filled: "generated" | "cache" | "facts" | "placeholder"
    sources: list[dict] = field(default_factory=list)  # the passages the draft was given: {"source", "title"}
    facts: dict = field(default_factory=dict)  # what the draft's names and links came to (:data:`FACT_COUNTS`)

    @property
    def awaiting(self) -> bool:
        """The page shows an AI draft of this section that nobody approved."""
        return self.state in (DRAFTED, EDITED) or self.fill in DRAFT_FILLS

    @property
    def marked(self) -> bool:
        """The built page shows this section as a marked region (a draft or a placeholder)."""
        return self.awaiting or self.fill == PLACEHOLDER

    @property
    def code_status(self) -> str | None:
        statuses = [c["status"] for c in self.code]
        return next((s for s in ("invalid", "unchecked", "ok") if s in statuses), None)

    def fact_counts(self) -> dict[str, int]:
        """The draft's fact counts (zeros for what was not counted)."""
        return {key: _count(self.facts.get(key)) for key in FACT_COUNTS}

    def as_json(self) -> dict:
        """The section as ``report.json`` and ``status --json`` list it."""
        record = {"heading": self.heading, "section": self.section, "state": self.state, "code": self.code,
                  "sources": self.sources, "facts": {**self.facts, **self.fact_counts()}}
        return record | ({"fill": self.fill} if self.fill else {})


@dataclass(frozen=True)
class Fill:
    """What a build put in a stub section: a draft (``how`` is ``generated`` | ``cache``) or a placeholder."""

    how: str
    code: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    facts: dict = field(default_factory=dict)


def cited(passages: Iterable[Passage]) -> list[dict]:
    """A draft's passages as its sections list them: ``{"source", "title"}`` each."""
    return [{"source": p.source, "title": p.title} for p in passages]


@dataclass
class PageReview:
    """A stub page's sections in outline order (then drafts of sections not in the outline)."""

    src_path: str
    title: str
    topic: str
    sections: list[SectionReview] = field(default_factory=list)

    @property
    def awaiting(self) -> list[SectionReview]:
        return [s for s in self.sections if s.awaiting]

    @property
    def marked(self) -> list[SectionReview]:
        return [s for s in self.sections if s.marked]

    def count(self, *, state: str | None = None, fill: str | None = None) -> int:
        return sum((state is None or s.state == state) and (fill is None or s.fill == fill) for s in self.sections)

    @property
    def cited(self) -> int:
        """Sections awaiting review whose draft cites at least one source."""
        return sum(bool(s.sources) for s in self.awaiting)

    def fact_counts(self) -> dict[str, int]:
        """The fact counts of the drafts this page shows, summed."""
        return {key: sum(s.fact_counts()[key] for s in self.awaiting) for key in FACT_COUNTS}

    def code_counts(self) -> dict[str, int]:
        samples = [c for s in self.marked for c in s.code]
        return {
            "drafted": len(samples),
            "valid_first_try": sum(c["status"] == "ok" and c.get("attempts", 1) == 1 for c in samples),
            "valid_after_retries": sum(c["status"] == "ok" and c.get("attempts", 1) > 1 for c in samples),
            "invalid": sum(c["status"] == "invalid" for c in samples),
            "unchecked": sum(c["status"] == "unchecked" for c in samples),
        }


# --- Reading a page's sections ----------------------------------------------------------------


@dataclass(frozen=True)
class PlainSection:
    """A ``##`` section outside draft markers, cut before any draft region that follows it."""

    heading: str
    text: str


def plain_sections(page: StubPage) -> dict[str, PlainSection]:
    """Sections of ordinary text (not inside draft markers) by heading key."""
    spans = [(r.start, r.end) for r in page.regions()]
    _, sections = split_sections(page.body)
    found: dict[str, PlainSection] = {}
    for section in sections:
        start, end = page.body_start + section.start, page.body_start + section.end
        if any(a <= start < b for a, b in spans):
            continue
        end = min([a for a, _ in spans if start < a < end], default=end)
        found.setdefault(section.key, PlainSection(section.heading, page.text[start:end]))
    return found


def outline_heading(page: StubPage, slug: str) -> str | None:
    return next((h for h in page.outline if slugify(h) == slug), None)


# --- Status ------------------------------------------------------------------------------------


def page_status(checker: BlockChecker, store: ReviewStore, page: StubPage) -> list[SectionReview]:
    """Each outline section's state and code checks, then any draft of a section not in the outline.

    Ordinary text with a review record was a draft: ``approved`` (the record may still say drafted
    when the markers were deleted by hand and no command has recorded that approval yet).
    """
    regions: dict[str, DraftRegion] = {}
    for region in page.regions():
        regions.setdefault(region.section, region)
    plain = plain_sections(page)
    entries = store.entries(page.src_path)
    rows = []
    for heading in page.outline:
        slug = slugify(heading)
        region = regions.pop(slug, None)
        if region is not None:
            rows.append(_region_status(checker, store, region, heading))
        elif heading_key(heading) in plain:
            rows.append(SectionReview(heading, slug, APPROVED if slug in entries else AUTHORED))
        else:
            rows.append(SectionReview(heading, slug, STUB))
    rows += [_region_status(checker, store, r, first_heading(r.inner) or r.section) for r in regions.values()]
    return rows


def _region_status(checker: BlockChecker, store: ReviewStore, region: DraftRegion, heading: str) -> SectionReview:
    """A draft region's state; its sources (and, unedited, its code checks and facts) as kept when drafted."""
    original = store.original(region.attrs.get("digest")) or {}
    sources = _recorded_sources(original)
    if region.edited:
        return SectionReview(heading, region.section, EDITED, checker.check_blocks(region.inner), sources=sources)
    code = original.get("code") or checker.check_blocks(region.inner)
    facts = original.get("facts") if isinstance(original.get("facts"), dict) else {}
    return SectionReview(heading, region.section, DRAFTED, code, sources=sources, facts=facts)


def _recorded_sources(record: Mapping) -> list[dict]:
    """The sources a kept draft record lists (entries of another shape are left out)."""
    entries = record.get("sources") if isinstance(record.get("sources"), list) else []
    return [{"source": e["source"], "title": e["title"]} for e in entries
            if isinstance(e, dict) and isinstance(e.get("source"), str) and isinstance(e.get("title"), str)]


def _count(value: object) -> int:
    """A fact count as recorded (anything but a count is none)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def page_review(checker: BlockChecker, store: ReviewStore, page: StubPage,
                fills: Mapping[str, Fill] | None = None) -> PageReview:
    """The page's review; ``fills`` (by slug) are the stubs a build filled."""
    fills = fills or {}
    sections = [_filled(row, fills[row.section]) if row.state == STUB and row.section in fills else row
                for row in page_status(checker, store, page)]
    return PageReview(page.src_path, page.title, page.spec.topic, sections)


def _filled(row: SectionReview, fill: Fill) -> SectionReview:
    return replace(row, fill=fill.how, code=fill.code, sources=fill.sources, facts=fill.facts)


def state_totals(pages: list[PageReview]) -> dict[str, int]:
    """How many sections are in each state (states with none left out)."""
    counts = {state: sum(page.count(state=state) for page in pages) for state in STATES}
    return {state: n for state, n in counts.items() if n}


def status_report(pages: list[PageReview]) -> dict:
    """The ``status --json`` document; ``report.json`` lists the same pages, sections and states."""
    return {"pages": [{"page": p.src_path, "title": p.title, "sections": [s.as_json() for s in p.sections]}
                      for p in pages],
            "totals": state_totals(pages), "awaiting_review": sum(len(p.awaiting) for p in pages)}
