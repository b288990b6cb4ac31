"""The review store of a site: page sources read and written safely, review state, drafts kept, feedback.

Files under ``<config dir>/.aigen/`` (small JSON; commit them so the team shares the review state):

- ``review-state.json``: ``{"version": 1, "pages": {page: {section: entry}}}``, ``entry`` being
  ``{"heading", "state": "drafted" | "approved", "digest"}`` (+ ``"approved_digest"``, ``"feedback"``);
- ``drafts/<sha256 hex>.json``: a draft as generated, by its digest:
  ``{"digest", "page", "section", "heading", "text", "code", "sources", "facts"}`` (``sources``: the
  passages it was given, ``{"source", "title"}`` each);
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
import copy
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from filelock import FileLock, Timeout

from mkdocs_aigen.drafting.cache import code_checks, fits
from mkdocs_aigen.drafting.kinds import KindLibrary
from mkdocs_aigen.drafting.stubs import StubPage, load_stub
from mkdocs_aigen.errors import AigenError
from mkdocs_aigen.log import log
from mkdocs_aigen.markers import digest_text, remove_markers
from mkdocs_aigen.safeio import StorageError, atomic_write_bytes, atomic_write_text

STATE_FILE = "review-state.json"
LOCK_FILE = "review-state.lock"
LOCK_TIMEOUT_S = 60
ENTRY_SHAPE = {"heading": str, "state": str}
DRAFTS_DIR = "drafts"
FEEDBACK_DIR = "feedback"
FEEDBACK_VERSION = 1


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


# --- Review state, original drafts, feedback -------------------------------------------------


class ReviewStore:
    """``.aigen/review-state.json``, ``.aigen/drafts/`` and ``.aigen/feedback/`` of one site.

    :meth:`save` holds ``.aigen/review-state.lock`` while it re-reads the file and writes it back
    with this store's changes merged in, section by section, so concurrent commands lose nothing.
    """

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.state_path = self.work_dir / STATE_FILE
        self._lock = FileLock(str(self.work_dir / LOCK_FILE), timeout=LOCK_TIMEOUT_S)
        self.pages: dict[str, dict[str, dict]] = self._load()
        self._base = copy.deepcopy(self.pages)

    def _load(self) -> dict[str, dict[str, dict]]:
        """The recorded state; a malformed file is set aside and the state rebuilt (one warning)."""
        pages, problem = self._read()
        if problem is None:
            return pages
        with self._locked():
            pages, problem = self._read()  # another command may have repaired it meanwhile
            if problem is None:
                return pages
            backup = self.state_path.with_name(f"{STATE_FILE}.bad-{datetime.now():%Y%m%d-%H%M%S}")
            try:
                os.replace(self.state_path, backup)
            except OSError as error:
                raise StorageError.of(self.state_path, error) from None
            log.warning("%s: malformed review state (%s); kept as %s and rebuilt from the page markers and %s/",
                        self.state_path, problem, backup.name, FEEDBACK_DIR)
            pages = self._rebuilt()
            self._write(pages)
        return pages

    def _read(self) -> tuple[dict[str, dict[str, dict]], str | None]:
        """The file's pages and ``None``, or ``{}`` and what is wrong with it."""
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}, None
        except OSError as error:
            raise AigenError(f"{self.state_path}: cannot read ({error.strerror or error})") from None
        except (ValueError, RecursionError) as error:
            return {}, " ".join(str(error).split())[:120]
        pages = data.get("pages") if isinstance(data, dict) else None
        if not isinstance(pages, dict) or not all(
                isinstance(entries, dict) and all(fits(entry, ENTRY_SHAPE) for entry in entries.values())
                for entries in pages.values()):
            return {}, "not {\"pages\": {page: {section: {\"heading\", \"state\", ...}}}}"
        return pages, None

    def _rebuilt(self) -> dict[str, dict[str, dict]]:
        """Approved sections from the feedback records (latest approval wins); drafts are recorded
        again from their markers by the next command that syncs the page."""
        pages: dict[str, dict[str, dict]] = {}
        for record in sorted(iter_feedback(self.work_dir), key=lambda r: str(r.get("approved_at"))):
            try:
                page, section = record["page"], record["section"]
                name = _feedback_name(page, section, record["draft_digest"], record["approved_digest"])
                pages.setdefault(page, {})[section] = {
                    "heading": record["heading"], "state": "approved", "digest": record["draft_digest"],
                    "approved_digest": record["approved_digest"], "feedback": f"{FEEDBACK_DIR}/{name}"}
            except (KeyError, TypeError):
                continue
        return pages

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.work_dir / LOCK_FILE
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            with self._lock:
                yield
        except Timeout:
            raise AigenError(f"{lock_path}: still locked by another mkdocs-aigen after {LOCK_TIMEOUT_S} s; "
                             f"run the command again when it is done") from None
        except OSError as error:
            raise StorageError.of(lock_path, error) from None

    def save(self) -> None:
        """Write this store's changes, merged into the file as it is now (under the lock)."""
        if self.pages == self._base:
            return
        with self._locked():
            current = self._load()
            merged = _merged(current, self._base, self.pages)
            if merged != current or not self.state_path.is_file():
                self._write(merged)
        self.pages, self._base = merged, copy.deepcopy(merged)

    def _write(self, pages: dict[str, dict[str, dict]]) -> None:
        atomic_write_text(self.state_path, json.dumps({"version": 1, "pages": pages}, indent=1, sort_keys=True,
                                                      ensure_ascii=False) + "\n")

    def entries(self, src_path: str) -> dict[str, dict]:
        return self.pages.get(src_path, {})

    def original(self, digest: str | None) -> dict | None:
        """The draft with this digest as it was generated, if it was kept."""
        path = self._draft_path(digest) if digest else None
        if path is None or not path.is_file():
            return None
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            record = None
        if not fits(record, {"text": str, "code": code_checks}):
            log.warning("%s: corrupt draft record ignored", path)
            return None
        return record

    def remember_draft(self, page: StubPage, section: str, heading: str, text: str, code: list[dict],
                       sources: Sequence[dict] = (), facts: Mapping | None = None) -> str:
        """Keep a draft as generated (by digest) with the sources it was given and its facts, and mark
        the section drafted; returns the digest."""
        digest = digest_text(text)
        path = self._draft_path(digest)
        if not path.is_file():
            record = {"digest": digest, "page": page.src_path, "section": section, "heading": heading,
                      "text": _normal(text), "code": code, "sources": list(sources), "facts": dict(facts or {})}
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
        path = self.work_dir / FEEDBACK_DIR / _feedback_name(page.src_path, section, draft_digest, approved_digest)
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
            log.warning("%s: unreadable feedback record skipped (%s)", path, error)
            continue
        if isinstance(record, dict) and record.get("version") == FEEDBACK_VERSION and record.get("approved"):
            yield record


def _feedback_name(page: str, section: str, draft_digest: str | None, approved_digest: str) -> str:
    ident = hashlib.sha256("\0".join((page, section, draft_digest or "", approved_digest)).encode("utf-8"))
    return f"{ident.hexdigest()[:24]}.json"


def _merged(current: dict, base: dict, mine: dict) -> dict:
    """``current`` with the sections that changed from ``base`` to ``mine`` set (or removed) as in ``mine``."""
    merged = copy.deepcopy(current)
    for page in base.keys() | mine.keys():
        before, after = base.get(page, {}), mine.get(page, {})
        for section in before.keys() | after.keys():
            if before.get(section) == after.get(section):
                continue
            if section in after:
                merged.setdefault(page, {})[section] = after[section]
            else:
                merged.get(page, {}).pop(section, None)
        if page in merged and not merged[page]:
            del merged[page]
    return merged


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip()
