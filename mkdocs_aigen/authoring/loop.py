"""The authoring loop: drafts written into the author's Markdown, regenerated, approved.

Pure logic over files (no MkDocs); ``mkdocs-aigen draft | status | approve`` drive it. The states of
sections are in :mod:`.status`, the files the loop keeps in :mod:`.store`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from mkdocs_aigen.authoring.status import cited, outline_heading, plain_sections
from mkdocs_aigen.authoring.store import PageFile, ReviewStore
from mkdocs_aigen.drafting.engine import SectionDraft, SectionJob
from mkdocs_aigen.drafting.stubs import StubPage, compose, discover, load_stub
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.labels import Labels
from mkdocs_aigen.markdown import first_heading, heading_key, slugify
from mkdocs_aigen.markers import DraftRegion, digest_text, source_form, wrap
from mkdocs_aigen.project import Project


def load_pages(project: Project, paths: Iterable[str] = ()) -> tuple[list[PageFile], list[AigenError]]:
    """Stub pages of the site (or just ``paths``, relative to docs_dir) and the errors of bad ones.

    A path that is missing or is no stub page is an error: the author named it.
    """
    paths = list(paths)
    docs_dir = project.settings.docs_dir
    for path in paths:
        if not (docs_dir / path).is_file():
            raise AigenError(f"{path}: no such page under {docs_dir}; name pages relative to docs_dir")
    pages, errors = discover(docs_dir, project.kinds, paths or None, language=project.settings.language)
    known = {page.src_path for page in pages} | {str(e).split(":", 1)[0] for e in errors}
    for path in paths:
        if Path(path).as_posix() not in known:
            raise AigenError(f"{path}: not a stub page (its front-matter has no 'aigen:' block)")
    return [PageFile.of(page) for page in pages], list(errors)


def resolve_page(docs_dir: Path, name: str, cwd: Path | None = None) -> str:
    """A page named on the command line (relative to docs_dir, or a path to the file) → its src path."""
    docs_dir = Path(docs_dir).resolve()
    candidate = (Path(cwd or Path.cwd()) / name).resolve()
    if candidate.is_file() and docs_dir in candidate.parents:
        return candidate.relative_to(docs_dir).as_posix()
    return Path(name).as_posix()


def sync(store: ReviewStore, page: StubPage) -> list[str]:
    """Bring the review state up to date with a page's markers; headings found approved by hand.

    Every draft region is recorded as drafted (its text kept when unedited); a recorded draft whose
    markers are gone but whose section is there was approved by hand (feedback is recorded); one whose
    section is gone was deleted, and so is its record.
    """
    entries = store.pages.setdefault(page.src_path, {})
    regions = page.regions()
    for region in regions:
        entry = entries.get(region.section, {})
        if entry.get("state") != "drafted" or entry.get("digest") != region.attrs.get("digest"):
            heading = outline_heading(page, region.section) or first_heading(region.inner) or region.section
            if region.edited:
                entries[region.section] = {"heading": heading, "state": "drafted",
                                           "digest": region.attrs.get("digest")}
            else:
                store.remember_draft(page, region.section, heading, region.inner, [])
    marked = {region.section for region in regions}
    plain = plain_sections(page)
    approved = []
    for section, entry in list(entries.items()):
        if section in marked:
            continue
        found = plain.get(heading_key(entry.get("heading", "")))
        if found is None:
            del entries[section]
        elif entry.get("state") == "drafted":
            store.approve(page, section, found.heading, entry.get("digest"), found.text, "markers-removed")
            approved.append(found.heading)
    if not entries:
        del store.pages[page.src_path]
    return approved


# --- Drafting into sources ---------------------------------------------------------------------


@dataclass
class DraftResult:
    """What ``draft`` did to one page."""

    page: str
    drafted: list[tuple[str, str]] = field(default_factory=list)  # (heading, origin)
    redrafted: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # regenerated to the same text
    kept: list[str] = field(default_factory=list)  # edited drafts left alone
    approved_by_hand: list[str] = field(default_factory=list)


def draft_pages(project: Project, store: ReviewStore, files: list[PageFile], *, regenerate: bool = False,
                discard_edits: bool = False) -> Iterator[DraftResult]:
    """Draft every missing section of ``files`` (and, with ``regenerate``, re-draft unedited drafts;
    edited ones too with ``discard_edits``) into the sources, one page at a time after generating all.

    Each draft is written in the source form of :mod:`mkdocs_aigen.markers` with a note in the site's
    language naming any code sample that failed its check; drafts marked in the older comment form
    are rewritten in it (their text kept byte for byte). Uses the cache and generates misses whatever
    the site's ``generate`` mode. Raises
    :class:`SourceChangedError` (nothing more written) when a page changed on disk meanwhile.
    """
    plans, sections = [], []
    for file in files:
        result = DraftResult(file.page.src_path, approved_by_hand=sync(store, file.page))
        missing, redraft = _plan(file.page, result, regenerate, discard_edits)
        plans.append((file, result, missing, redraft))
        sections += [(file.page, h) for h in [*missing, *(h for h, _ in redraft)]]
    store.save()
    jobs = project.section_jobs(sections)
    drafts: dict[SectionJob, SectionDraft] = {}
    if jobs:
        drafts, misses = project.drafter.lookup(jobs)
        drafts.update(project.drafter.generate(misses))
    by_page: dict[str, dict[str, SectionDraft]] = {}
    for job, draft in drafts.items():
        by_page.setdefault(job.page, {})[job.heading] = draft
    labels = project.settings.labels
    for file, result, missing, redraft in plans:
        mine = by_page.get(file.page.src_path, {})
        text = _redraft(file.page, redraft, mine, result, labels)
        fresh = load_stub(file.page.abs_path, file.page.src_path, project.kinds, text=text)
        text = compose(fresh, {h: mine[h].text for h in missing}, {h: labels.note(mine[h].code) for h in missing})
        text = source_form(text, labels.note(), file.page.newline)
        result.drafted = [(h, mine[h].origin) for h in missing]
        file.write(text, project.kinds)
        for heading, _ in result.drafted + result.redrafted:
            draft = mine[heading]
            store.remember_draft(file.page, slugify(heading), heading, draft.text, draft.code,
                                 cited(draft.job.context), draft.facts)
        sync(store, file.page)
        store.save()
        yield result


def _plan(page: StubPage, result: DraftResult, regenerate: bool, discard_edits: bool
          ) -> tuple[list[str], list[tuple[str, DraftRegion]]]:
    """Outline headings with no text at all, and the draft regions to draft again."""
    regions = {r.section: r for r in page.regions()}
    present = page.present_sections()
    missing = [h for h in page.outline if heading_key(h) not in present and slugify(h) not in regions]
    redraft = []
    for heading in page.outline if regenerate or discard_edits else ():
        region = regions.get(slugify(heading))
        if region is None:
            continue
        if region.edited and not discard_edits:
            result.kept.append(heading)
        else:
            redraft.append((heading, region))
    return missing, redraft


def _redraft(page: StubPage, redraft: list[tuple[str, DraftRegion]], drafts: dict[str, SectionDraft],
             result: DraftResult, labels: Labels) -> str:
    """The page's text with each region of ``redraft`` replaced, in place, by its new draft."""
    text = page.text
    for heading, region in sorted(redraft, key=lambda item: item[1].start, reverse=True):
        draft = drafts[heading]
        if digest_text(draft.text) == digest_text(region.inner) and not region.edited:
            result.unchanged.insert(0, heading)
            continue
        note = labels.note(draft.code)
        text = text[:region.start] + wrap(draft.text, region.section, page.newline, note) + text[region.end:]
        result.redrafted.insert(0, (heading, draft.origin))
    return text


# --- Approval ----------------------------------------------------------------------------------


@dataclass
class ApproveResult:
    page: str
    approved: list[tuple[str, bool]] = field(default_factory=list)  # (heading, edited)
    approved_by_hand: list[str] = field(default_factory=list)


def approve_page(project: Project, store: ReviewStore, file: PageFile, sections: Iterable[str] = ()
                 ) -> ApproveResult:
    """Remove the markers of the page's drafts (or just ``sections``, by heading or slug), keeping their
    text byte for byte, and record each approval with its feedback."""
    page = file.page
    result = ApproveResult(page.src_path, approved_by_hand=sync(store, page))
    regions = page.regions()
    chosen = _choose(page, regions, list(sections))
    text = page.text
    for region in reversed(chosen):
        text = text[:region.start] + text[region.inner_start:region.inner_end] + text[region.end:]
    file.write(text, project.kinds)
    for region in chosen:
        heading = first_heading(region.inner) or outline_heading(page, region.section) or region.section
        store.approve(page, region.section, heading, region.attrs.get("digest"), region.inner, "approve")
        result.approved.append((heading, region.edited))
    store.save()
    return result


def _choose(page: StubPage, regions: list[DraftRegion], sections: list[str]) -> list[DraftRegion]:
    if not sections:
        return regions
    chosen = []
    for name in sections:
        matches = [r for r in regions if r.section == slugify(name)
                   or heading_key(first_heading(r.inner) or "") == heading_key(name)]
        if not matches:
            drafts = ", ".join(first_heading(r.inner) or r.section for r in regions) or "none"
            raise AigenError(f"{page.src_path}: --section {name!r}: no draft of that section awaits approval "
                             f"(drafts on this page: {drafts})")
        chosen += [r for r in matches if r not in chosen]
    return sorted(chosen, key=lambda r: r.start)
