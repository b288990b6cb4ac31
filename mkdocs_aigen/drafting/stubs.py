"""Stub pages: find them, tell authored sections from drafts, and compose drafts into their text."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from mkdocs_aigen.drafting.frontmatter import (
    StubSpec,
    front_matter_text,
    parse_stub_spec,
    split_front_matter,
)
from mkdocs_aigen.drafting.kinds import KindLibrary, PageKind
from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.markdown import Section, heading_key, slugify, split_sections
from mkdocs_aigen.markers import DEFAULT_NOTE, DraftRegion, find_regions, wrap

MKDOCSTRINGS_DIRECTIVE = re.compile(r"(?m)^:::[ \t]+[\w.:-]+")
"""An mkdocstrings autodoc line (``::: package.object``)."""
RENDERED_BY_MKDOCSTRINGS = frozenset(heading_key(h) for h in (
    "Parameters", "Other parameters", "Arguments", "Args", "Type parameters", "Returns", "Return value",
    "Yields", "Receives", "Raises", "Exceptions", "Warns", "Attributes", "Example", "Examples", "Signature"))
"""Outline sections that mkdocstrings renders from the documented object itself."""


@dataclass
class StubPage:
    """A stub's source text and what it already holds: authored sections and embedded drafts."""

    src_path: str  # relative to docs_dir, with forward slashes
    abs_path: Path
    text: str
    meta: dict
    body_start: int
    spec: StubSpec
    kind: PageKind

    @property
    def newline(self) -> str:
        return "\r\n" if "\r\n" in self.text else "\n"

    @property
    def body(self) -> str:
        return self.text[self.body_start:]

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.spec.topic)

    @property
    def outline(self) -> tuple[str, ...]:
        """The kind's (or front-matter's) sections, less those mkdocstrings renders when the page
        holds a ``::: package.object`` directive: only prose is drafted around an API reference."""
        outline = self.kind.outline_for(self.spec)
        if not MKDOCSTRINGS_DIRECTIVE.search(self.body):
            return outline
        return tuple(h for h in outline if heading_key(h) not in RENDERED_BY_MKDOCSTRINGS)

    def regions(self) -> list[DraftRegion]:
        """Draft regions (offsets into :attr:`text`)."""
        return find_regions(self.text)

    def present_sections(self) -> dict[str, Section]:
        """Sections of the body by heading key, whether authored or embedded drafts."""
        _, sections = split_sections(self.body)
        return {s.key: s for s in reversed(sections)}

    def drafted_keys(self) -> set[str]:
        """Heading keys of sections that sit inside draft markers."""
        keys = set()
        for region in self.regions():
            _, sections = split_sections(region.inner)
            keys.update(s.key for s in sections)
        return keys

    def missing(self) -> list[str]:
        """Outline headings with neither authored text nor an embedded draft, in outline order."""
        present = self.present_sections()
        return [h for h in self.outline if heading_key(h) not in present]


def page_language(meta: Mapping, default: str) -> str:
    """A page's language: its front-matter ``lang`` or ``locale``, else ``default`` (the theme's)."""
    for key in ("lang", "locale"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return default


def load_stub(abs_path: Path, src_path: str, kinds: KindLibrary, text: str | None = None,
              language: str = "en") -> StubPage | None:
    """Parse one Markdown file; ``None`` when it is no stub. Raises :class:`FrontMatterError`.
    The spec's language is the page's own (:func:`page_language`), else ``language``."""
    if text is None:
        try:
            text = Path(abs_path).read_bytes().decode("utf-8-sig") if Path(abs_path).exists() else ""
        except UnicodeDecodeError as error:
            raise FrontMatterError(f"{src_path}: not UTF-8 (byte {error.start}); save it as UTF-8") from None
    if "aigen" not in front_matter_text(text):
        return None  # fast path: most pages are no stubs, and a warm build should not parse their YAML
    meta, body_start = split_front_matter(text, src_path)
    spec = parse_stub_spec(meta, src_path, kinds.names)
    if spec is None:
        return None
    spec = replace(spec, language=page_language(meta, language))
    return StubPage(src_path, Path(abs_path), text, meta, body_start, spec, kinds.get(spec.kind))


def discover(docs_dir: Path, kinds: KindLibrary, paths: Iterable[str] | None = None, language: str = "en"
             ) -> tuple[list[StubPage], list[FrontMatterError]]:
    """Stub pages under ``docs_dir`` (or just ``paths``, relative to it) and the errors of bad ones."""
    docs_dir = Path(docs_dir)
    candidates = [docs_dir / p for p in paths] if paths else sorted(docs_dir.rglob("*.md"))
    pages, errors = [], []
    for path in candidates:
        src = path.relative_to(docs_dir).as_posix()
        try:
            page = load_stub(path, src, kinds, language=language)
        except FrontMatterError as error:
            errors.append(error)
            continue
        if page is not None:
            pages.append(page)
    return pages, errors


def compose(page: StubPage, drafts: Mapping[str, str], notes: Mapping[str, Sequence[str]] | None = None) -> str:
    """The page's text with each missing section's draft (``heading -> Markdown``) inserted, marked
    (with its note from ``notes``, by heading, else the default one).

    Existing bytes are never changed: drafts are only inserted between sections, in outline order
    relative to the sections already present.
    """
    nl = page.newline
    present = page.present_sections()
    outline = page.outline
    body = page.body
    spans = [(r.start - page.body_start, r.end - page.body_start) for r in page.regions()]
    inserts: dict[int, list[str]] = {}
    for index, heading in enumerate(outline):
        if heading not in drafts or heading_key(heading) in present:
            continue
        before = [present[heading_key(h)] for h in outline[:index] if heading_key(h) in present]
        after = [present[heading_key(h)] for h in outline[index + 1:] if heading_key(h) in present]
        if before:
            last = max(before, key=lambda s: s.end)
            offset = _outside(last.end, spans, inside_from=last.start)
        elif after:
            offset = _outside(min(s.start for s in after), spans)
        else:
            offset = len(body)
        note = (notes or {}).get(heading, DEFAULT_NOTE)
        inserts.setdefault(offset, []).append(wrap(drafts[heading], slugify(heading), nl, note))
    pieces, position = [], 0
    for offset in sorted(inserts):
        pieces.append(body[position:offset])
        pieces.append(_lead(body[:offset], nl) + (nl * 2).join(inserts[offset]) + nl
                      + (nl if offset < len(body) else ""))
        position = offset
    pieces.append(body[position:])
    return page.text[: page.body_start] + "".join(pieces)


def _outside(offset: int, spans: list[tuple[int, int]], inside_from: int = -1) -> int:
    """Move an insertion point that falls inside a draft region to its edge: past the region when
    the section ending there (starting at ``inside_from``) lies in it, else before its begin marker."""
    for start, end in spans:
        if start < offset < end:
            return end if inside_from > start else start
    return offset


def _lead(preceding: str, nl: str) -> str:
    """Newlines that put an inserted block after a blank line."""
    if not preceding or preceding.endswith(nl * 2):
        return ""
    return nl if preceding.endswith(nl) else nl * 2
