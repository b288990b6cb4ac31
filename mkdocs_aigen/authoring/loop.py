"""The authoring loop: drafts written into the author's Markdown, review state, approval, feedback.

Pure logic over files (no MkDocs); ``mkdocs-aigen draft | status | approve`` drive it.

Each outline section of a stub page is in one state:

- ``stub``: no text yet;
- ``drafted-unreviewed``: a draft region whose text is as generated;
- ``edited-unreviewed``: a draft region the author edited: theirs, never regenerated, moved or
  overwritten unless they pass ``--discard-edits``;
- ``approved``: ordinary text that was a draft (``approve``, or its markers deleted by hand);
- ``authored``: ordinary text that was never drafted.

Files under ``<config dir>/.aigen/`` (small JSON; commit them so the team shares the review state):

- ``review-state.json``: ``{"version": 1, "pages": {page: {section: entry}}}``, ``entry`` being
  ``{"heading", "state": "drafted" | "approved", "digest"}`` (+ ``"approved_digest"``, ``"feedback"``);
- ``drafts/<sha256 hex>.json``: a draft as generated, by its digest:
  ``{"digest", "page", "section", "heading", "text", "code"}``;
- ``feedback/<id>.json``: one approved section, which ``mkdocs-aigen train`` learns from.

Feedback record (read them with :func:`iter_feedback`)::

    {"version": 1,
     "page": "guides/caching.md",         # source path relative to docs_dir
     "topic": "...", "kind": "how-to",    # the stub's aigen: topic and kind
     "section": "configure-the-cache",    # section slug (from the draft marker)
     "heading": "Configure the cache",    # heading of the approved text
     "draft": "## Configure ...\\n...",   # the text as generated (LF newlines), null when unknown
     "approved": "## Configure ...",      # the text as approved (LF newlines, stripped)
     "draft_digest": "sha256:...", "approved_digest": "sha256:...",
     "edited": true,                      # the author changed the draft before approving it
     "how": "approve",                    # or "markers-removed" (approved by deleting the markers)
     "approved_at": "2026-01-31T12:00:00+00:00"}

Re-recording the same approval is a no-op (the file name is a digest of page, section and both
texts), so the approval of hand-deleted markers can be picked up by whichever command runs next.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from mkdocs_aigen.drafting.engine import SectionDraft, SectionJob
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.markers import DraftRegion, digest_text, remove_markers, wrap
from mkdocs_aigen.project import Project
from mkdocs_aigen.safeio import atomic_write_bytes, atomic_write_text
from mkdocs_aigen.markdown import heading_key, slugify, split_sections
from mkdocs_aigen.drafting.stubs import StubPage, compose, discover, load_stub

log = logging.getLogger("mkdocs.plugins.aigen")

STATE_FILE = "review-state.json"
DRAFTS_DIR = "drafts"
FEEDBACK_DIR = "feedback"
FEEDBACK_VERSION = 1
AWAITING = ("drafted-unreviewed", "edited-unreviewed")


class SourceChangedError(AigenError):
    """A page changed on disk while a command was working on it; it was not written."""


@dataclass(frozen=True)
class Source:
    """A page's bytes as read, so a write can keep its encoding and refuse to clobber newer edits."""

    path: Path
    raw: bytes
    text: str
    bom: bool

    @classmethod
    def read(cls, path: Path) -> Source:
        raw = Path(path).read_bytes()
        bom = raw.startswith(codecs.BOM_UTF8)
        try:
            text = raw[len(codecs.BOM_UTF8) if bom else 0:].decode("utf-8")
        except UnicodeDecodeError as error:
            raise AigenError(f"{path}: not UTF-8 (byte {error.start}); save it as UTF-8") from None
        return cls(Path(path), raw, text, bom)

    def write(self, text: str) -> Source:
        """Atomically replace the file with ``text`` (same BOM), unless it changed since it was read."""
        data = (codecs.BOM_UTF8 if self.bom else b"") + text.encode("utf-8")
        if data == self.raw:
            return self
        try:
            current = self.path.read_bytes()
        except FileNotFoundError:
            current = None
        if current != self.raw:
            raise SourceChangedError(f"{self.path}: changed on disk while mkdocs-aigen was working; "
                                     f"not written: run the command again")
        atomic_write_bytes(self.path, data)
        return Source(self.path, data, text, self.bom)


@dataclass
class PageFile:
    """A stub page together with the bytes it was parsed from."""

    page: StubPage
    source: Source

    @classmethod
    def of(cls, page: StubPage) -> PageFile:
        source = Source.read(page.abs_path)
        if source.text != page.text:
            raise SourceChangedError(f"{page.abs_path}: changed on disk while mkdocs-aigen was reading it; "
                                     f"run the command again")
        return cls(page, source)

    def write(self, text: str, kinds: KindLibrary) -> None:
        """Write ``text`` (when it differs) and re-parse the page from it."""
        if text != self.page.text:
            self.source = self.source.write(text)
            self.page = load_stub(self.page.abs_path, self.page.src_path, kinds, text=text)


def load_pages(project: Project, paths: Iterable[str] = ()) -> tuple[list[PageFile], list[AigenError]]:
    """Stub pages of the site (or just ``paths``, relative to docs_dir) and the errors of bad ones.

    A path that is missing or is no stub page is an error: the author named it.
    """
    paths = list(paths)
    docs_dir = project.settings.docs_dir
    for path in paths:
        if not (docs_dir / path).is_file():
            raise AigenError(f"{path}: no such page under {docs_dir}; name pages relative to docs_dir")
    pages, errors = discover(docs_dir, project.kinds, paths or None)
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


# --- Review state, original drafts, feedback -------------------------------------------------


class ReviewStore:
    """``.aigen/review-state.json``, ``.aigen/drafts/`` and ``.aigen/feedback/`` of one site."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.state_path = self.work_dir / STATE_FILE
        self.pages: dict[str, dict[str, dict]] = self._load()
        self._saved = json.dumps(self.pages, sort_keys=True)

    def _load(self) -> dict[str, dict[str, dict]]:
        if not self.state_path.is_file():
            return {}
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            pages = data["pages"]
            if not isinstance(pages, dict):
                raise TypeError("'pages' is not a mapping")
        except (ValueError, KeyError, TypeError) as error:
            raise AigenError(f"{self.state_path}: unreadable review state ({error}); fix it, or delete it "
                             f"to rebuild it from the markers (approved sections then show as authored)") from None
        return pages

    def save(self) -> None:
        text = json.dumps(self.pages, sort_keys=True)
        if text != self._saved:
            atomic_write_text(self.state_path, json.dumps({"version": 1, "pages": self.pages}, indent=1,
                                                          sort_keys=True, ensure_ascii=False) + "\n")
            self._saved = text

    def entries(self, src_path: str) -> dict[str, dict]:
        return self.pages.get(src_path, {})

    def original(self, digest: str | None) -> dict | None:
        """The draft with this digest as it was generated, if it was kept."""
        path = self._draft_path(digest) if digest else None
        if path is None or not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            log.warning("aigen: %s: corrupt draft record ignored", path)
            return None

    def remember_draft(self, page: StubPage, section: str, heading: str, text: str, code: list[dict]) -> str:
        """Keep a draft as generated (by digest) and mark the section drafted; returns the digest."""
        digest = digest_text(text)
        path = self._draft_path(digest)
        if not path.is_file():
            record = {"digest": digest, "page": page.src_path, "section": section, "heading": heading,
                      "text": _normal(text), "code": code}
            atomic_write_text(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        self.pages.setdefault(page.src_path, {})[section] = {"heading": heading, "state": "drafted",
                                                            "digest": digest}
        return digest

    def approve(self, page: StubPage, section: str, heading: str, draft_digest: str | None, approved_text: str,
                how: str) -> Path:
        """Record a section as approved and write its feedback record (once); returns that file."""
        approved = _normal(remove_markers(approved_text))
        approved_digest = digest_text(approved)
        original = self.original(draft_digest)
        ident = hashlib.sha256("\0".join((page.src_path, section, draft_digest or "", approved_digest))
                               .encode("utf-8")).hexdigest()[:24]
        path = self.work_dir / FEEDBACK_DIR / f"{ident}.json"
        if not path.is_file():
            record = {
                "version": FEEDBACK_VERSION, "page": page.src_path, "topic": page.spec.topic, "kind": page.spec.kind,
                "section": section, "heading": heading, "draft": original["text"] if original else None,
                "approved": approved, "draft_digest": draft_digest, "approved_digest": approved_digest,
                "edited": approved_digest != draft_digest, "how": how,
                "approved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
            atomic_write_text(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        self.pages.setdefault(page.src_path, {})[section] = {
            "heading": heading, "state": "approved", "digest": draft_digest, "approved_digest": approved_digest,
            "feedback": f"{FEEDBACK_DIR}/{path.name}",
        }
        return path

    def _draft_path(self, digest: str) -> Path:
        return self.work_dir / DRAFTS_DIR / f"{digest.removeprefix('sha256:')}.json"


def iter_feedback(work_dir: Path) -> Iterator[dict]:
    """Approved sections of a site (records as documented in this module), oldest file name order."""
    folder = Path(work_dir) / FEEDBACK_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            log.warning("aigen: %s: unreadable feedback record skipped (%s)", path, error)
            continue
        if isinstance(record, dict) and record.get("version") == FEEDBACK_VERSION and record.get("approved"):
            yield record


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


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


def region_heading(region: DraftRegion) -> str | None:
    _, sections = split_sections(region.inner)
    return sections[0].heading if sections else None


def _outline_heading(page: StubPage, slug: str) -> str | None:
    return next((h for h in page.outline if slugify(h) == slug), None)


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
            heading = _outline_heading(page, region.section) or region_heading(region) or region.section
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


# --- Status ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SectionStatus:
    heading: str
    section: str  # slug
    state: str  # stub | drafted-unreviewed | edited-unreviewed | approved | authored
    code: list[dict] = field(default_factory=list)

    @property
    def awaiting(self) -> bool:
        return self.state in AWAITING


def page_status(project: Project, store: ReviewStore, page: StubPage) -> list[SectionStatus]:
    """Each outline section's state and code checks, then any draft of a section not in the outline."""
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
            rows.append(_region_status(project, store, region, heading))
        elif heading_key(heading) in plain:
            state = "approved" if entries.get(slug, {}).get("state") == "approved" else "authored"
            rows.append(SectionStatus(heading, slug, state))
        else:
            rows.append(SectionStatus(heading, slug, "stub"))
    rows += [_region_status(project, store, r, region_heading(r) or r.section) for r in regions.values()]
    return rows


def _region_status(project: Project, store: ReviewStore, region: DraftRegion, heading: str) -> SectionStatus:
    if region.edited:
        return SectionStatus(heading, region.section, "edited-unreviewed", project.check_blocks(region.inner))
    original = store.original(region.attrs.get("digest"))
    code = original["code"] if original and original.get("code") else project.check_blocks(region.inner)
    return SectionStatus(heading, region.section, "drafted-unreviewed", code)


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

    Uses the cache and generates misses whatever the site's ``generate`` mode. Raises
    :class:`SourceChangedError` (nothing more written) when a page changed on disk meanwhile.
    """
    plans, jobs = [], []
    for file in files:
        result = DraftResult(file.page.src_path, approved_by_hand=sync(store, file.page))
        missing, redraft = _plan(file.page, result, regenerate, discard_edits)
        plans.append((file, result, missing, redraft))
        jobs += [SectionJob(file.page.src_path, file.page.spec, file.page.kind, h) for h in missing]
        jobs += [SectionJob(file.page.src_path, file.page.spec, file.page.kind, h) for h, _ in redraft]
    store.save()
    drafts: dict[SectionJob, SectionDraft] = {}
    if jobs:
        drafts, misses = project.drafter.lookup(jobs)
        drafts.update(project.drafter.generate(misses))
    by_page: dict[str, dict[str, SectionDraft]] = {}
    for job, draft in drafts.items():
        by_page.setdefault(job.page, {})[job.heading] = draft
    for file, result, missing, redraft in plans:
        mine = by_page.get(file.page.src_path, {})
        text = _redraft(file.page, redraft, mine, result)
        fresh = load_stub(file.page.abs_path, file.page.src_path, project.kinds, text=text)
        text = compose(fresh, {h: mine[h].text for h in missing})
        result.drafted = [(h, mine[h].origin) for h in missing]
        file.write(text, project.kinds)
        for heading, _ in result.drafted + result.redrafted:
            store.remember_draft(file.page, slugify(heading), heading, mine[heading].text, mine[heading].code)
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
             result: DraftResult) -> str:
    """The page's text with each region of ``redraft`` replaced, in place, by its new draft."""
    text = page.text
    for heading, region in sorted(redraft, key=lambda item: item[1].start, reverse=True):
        draft = drafts[heading]
        if digest_text(draft.text) == digest_text(region.inner) and not region.edited:
            result.unchanged.insert(0, heading)
            continue
        text = text[:region.start] + wrap(draft.text, region.section, page.newline) + text[region.end:]
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
        heading = region_heading(region) or _outline_heading(page, region.section) or region.section
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
                   or heading_key(region_heading(r) or "") == heading_key(name)]
        if not matches:
            drafts = ", ".join(region_heading(r) or r.section for r in regions) or "none"
            raise AigenError(f"{page.src_path}: --section {name!r}: no draft of that section awaits approval "
                             f"(drafts on this page: {drafts})")
        chosen += [r for r in matches if r not in chosen]
    return sorted(chosen, key=lambda r: r.start)


def status_report(rows_by_page: list[tuple[StubPage, list[SectionStatus]]]) -> dict:
    """The ``status --json`` document."""
    pages = [{"page": page.src_path, "title": page.title,
              "sections": [{"heading": r.heading, "section": r.section, "state": r.state, "code": r.code}
                           for r in rows]}
             for page, rows in rows_by_page]
    counts: dict[str, int] = {}
    for _, rows in rows_by_page:
        for row in rows:
            counts[row.state] = counts.get(row.state, 0) + 1
    return {"pages": pages, "totals": counts, "awaiting_review": sum(counts.get(s, 0) for s in AWAITING)}

