"""Where a draft's sources lead in the built site: a page's section, an API object's reference page,
or (where the site has no page for it) a file and line as plain text.

Source ids are those of :class:`mkdocs_aigen.grounding.Passage`: ``guides/caching.md#steps`` (a site
section), ``api:tidyconf.load`` (an API object), ``file:src/tidyconf/loader.py:42`` (a package file).
A link is made only to a page that this build publishes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable, Mapping

from markdown.extensions.toc import slugify as toc_slugify
from mkdocs.structure.files import File, Files
from mkdocs.utils.meta import get_data

from mkdocs_aigen.markdown import iter_headings, slugify
from mkdocs_aigen.safeio import atomic_write_text

API, FILE = "api:", "file:"
Locator = Callable[[str], "tuple[str, int] | None"]
"""``where(source)``: the file (relative to the mkdocs.yml folder) and line of an ``api:`` source."""
_AUTODOC = re.compile(r"^:::[ \t]+([A-Za-z_][\w.]*)[ \t]*$", re.M)
_OBJECT_TITLE = re.compile(r"`?([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+)(?:\(\))?`?")


@dataclass(frozen=True)
class Citation:
    """One source as a draft lists it: a link into the site, or plain text saying where it is."""

    title: str
    href: str | None = None  # relative to the page that lists it
    location: str | None = None  # plain text: a file and line, a page, or the source id


@dataclass(frozen=True)
class _Page:
    file: File
    title: str | None  # front-matter title or first heading
    headings: tuple[str, ...]
    autodoc: tuple[str, ...]  # objects of its ``::: name`` lines


def no_location(source: str) -> None:
    """A :data:`Locator` that knows no object."""


def unlinked(source: Mapping[str, str], where: Locator = no_location) -> Citation:
    """``source`` as plain text: a package file and line, else its id."""
    ident = source["source"]
    if ident.startswith(FILE):
        location = ident[len(FILE):]
    elif ident.startswith(API) and (found := where(ident)) is not None:
        location = f"{found[0]}:{found[1]}"
    else:
        location = ident
    return Citation(source["title"] or ident, location=location)


class SiteSources:
    """Resolves sources against the files of one build."""

    def __init__(self, files: Files, heading_id: Callable[[str], str] = lambda h: toc_slugify(h, "-"),
                 where: Locator = no_location, outlines: Path | None = None) -> None:
        """``outlines``: a JSON file keeping each page's title, headings and ``:::`` objects by the digest
        of its text, so a warm build reads the pages without parsing them again."""
        self.files, self.heading_id, self.where, self.outlines = files, heading_id, where, outlines

    def cite(self, source: Mapping[str, str], page: File | None) -> Citation:
        """How ``source`` is listed on ``page`` (``None``: where relative links cannot be made)."""
        target = self._target(source["source"]) if page is not None else None
        if target is None:
            return unlinked(source, self.where)
        file, anchor = target
        href = file.url_relative_to(page) + (f"#{anchor}" if anchor else "")
        return Citation(source["title"] or source["source"], href=href)

    def _target(self, ident: str) -> tuple[File, str | None] | None:
        if ident.startswith(API):
            return self._references.get(ident[len(API):])
        if ident.startswith(FILE):
            return None
        path, _, slug = ident.partition("#")
        page = self._pages.get(path)
        if page is None:
            return None
        heading = next((h for h in page.headings if slug in (slugify(h), self.heading_id(h))), None)
        return page.file, self.heading_id(heading) if heading else None

    @cached_property
    def _pages(self) -> dict[str, _Page]:
        """The pages this build publishes, read once, by source path."""
        known = _read_outlines(self.outlines)
        pages, outlines = {}, {}
        for file in self.files.documentation_pages():
            if not file.inclusion.is_included():
                continue
            text = _text(file)
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            outline = known.get(digest) or _outline(text)
            outlines[digest] = outline
            pages[file.src_uri] = _Page(file, outline[0], tuple(outline[1]), tuple(outline[2]))
        if self.outlines is not None and outlines != known:
            try:
                atomic_write_text(self.outlines, json.dumps(outlines, ensure_ascii=False))
            except OSError:
                pass  # only a slower next build
        return pages

    @cached_property
    def _references(self) -> dict[str, tuple[File, str | None]]:
        """API objects the site documents: a ``::: name`` line (mkdocstrings: the anchor is the name),
        else a page whose title names it, else a heading naming it; the first page (by path) wins."""
        autodoc, titled, headed = {}, {}, {}
        for path in sorted(self._pages):
            page = self._pages[path]
            for name in page.autodoc:
                autodoc.setdefault(name, (page.file, name))
            if page.title and (name := _object_name(page.title)):
                titled.setdefault(name, (page.file, None))
            for heading in page.headings:
                if name := _object_name(heading):
                    headed.setdefault(name, (page.file, self.heading_id(heading)))
        return headed | titled | autodoc


def toc_heading_id(mdx_configs: Mapping) -> Callable[[str], str]:
    """The anchor a site's ``toc`` extension gives a heading (its ``slugify`` and ``separator``)."""
    toc = mdx_configs.get("toc") or {}
    make_slug, separator = toc.get("slugify", toc_slugify), toc.get("separator", "-")
    return lambda heading: make_slug(heading, separator)


def inventory_locator(inventory: Callable[[], object], config_dir: Path) -> Locator:
    """A :data:`Locator` over the package inventory that ``inventory()`` gives (or ``None``), asked for
    only when a source needs it; a file under ``config_dir`` is named relative to it."""
    def where(source: str) -> tuple[str, int] | None:
        found = None
        if source.startswith(API) and (known := inventory()) is not None:
            found = known.resolve(source[len(API):])
        if found is None or not found.filepath:
            return None
        path = Path(found.filepath)
        if path.is_absolute() and path.is_relative_to(config_dir):
            path = path.relative_to(config_dir)
        return path.as_posix(), found.lineno
    return where


def _object_name(title: str) -> str | None:
    """The dotted name a page title or heading names (``tidyconf.dump()``, `` `tidyconf.load` ``), if any."""
    match = _OBJECT_TITLE.fullmatch(title.strip())
    return match.group(1) if match else None


def _outline(text: str) -> list:
    """``[title, section headings, ::: objects]`` of a page's text."""
    markdown, meta = get_data(text)
    headings = list(iter_headings(markdown))
    title = meta.get("title") if isinstance(meta.get("title"), str) else None
    title = title or next((h.title for h in headings if h.level == 1), None)
    return [title, [h.title for h in headings if h.level > 1], _AUTODOC.findall(markdown)]


def _read_outlines(path: Path | None) -> dict[str, list]:
    """Stored outlines by text digest; anything unreadable or malformed counts as none."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {digest: outline for digest, outline in stored.items()
            if isinstance(outline, list) and len(outline) == 3 and (outline[0] is None or isinstance(outline[0], str))
            and all(isinstance(items, list) and all(isinstance(i, str) for i in items) for items in outline[1:])}


def _text(file: File) -> str:
    try:
        return file.content_string
    except (OSError, UnicodeDecodeError):
        return ""
