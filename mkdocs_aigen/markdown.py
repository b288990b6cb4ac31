"""Split a Markdown body into ``##`` sections, ignoring headings inside fenced code."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterator

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    start: int  # offset of the heading line
    end: int  # offset just past the heading line (after its newline)


@dataclass(frozen=True)
class Section:
    heading: str
    start: int  # offset of the heading line
    end: int  # offset where the next section (or the text) ends

    @property
    def key(self) -> str:
        return heading_key(self.heading)


def heading_key(title: str) -> str:
    """Case- and whitespace-insensitive identity of a heading."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def slugify(title: str) -> str:
    """Stable ASCII-or-unicode slug for a heading (used in markers and cache keys)."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-") or "section"


def iter_headings(text: str) -> Iterator[Heading]:
    """ATX headings of ``text`` outside fenced code blocks."""
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        stripped = line.rstrip("\r\n")
        opener = _FENCE.match(stripped)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence) \
                    and not stripped.strip()[len(opener.group(1)):].strip():
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            continue
        match = _ATX.match(stripped)
        if match:
            yield Heading(len(match.group(1)), (match.group(2) or "").strip(), start, offset)


def split_sections(body: str, level: int = 2) -> tuple[int, list[Section]]:
    """Return the end of the preamble and the sections opened by headings of ``level``.

    Deeper headings belong to their section; a shallower heading (the page title) ends one.
    """
    bounds = [h for h in iter_headings(body) if h.level <= level]
    sections = []
    for index, heading in enumerate(bounds):
        if heading.level != level:
            continue
        end = bounds[index + 1].start if index + 1 < len(bounds) else len(body)
        sections.append(Section(heading.title, heading.start, end))
    preamble_end = sections[0].start if sections else len(body)
    return preamble_end, sections
