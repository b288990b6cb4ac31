"""A page's authored text, section by section: what fine-tuning learns from and retrieval can index.

Text inside draft markers never counts (an unterminated marker drops its section), HTML comments
are removed, and a page's ``#`` title is not part of its preamble.
"""

from __future__ import annotations

from dataclasses import dataclass

from mkdocs_aigen.markdown import iter_headings, split_sections
from mkdocs_aigen.markers import BEGIN, END, find_regions, strip_comments

PREAMBLE_HEADING = "Introduction"
"""The heading the text before a page's first ``##`` section goes under."""


@dataclass(frozen=True)
class AuthoredSection:
    heading: str
    text: str  # the section's body without its heading line(s), trimmed, ending in one newline


def authored_sections(body: str) -> list[AuthoredSection]:
    """The authored ``##`` sections of a page body (front-matter already cut), preamble first."""
    body = without_drafts(body)
    preamble_end, sections = split_sections(body)
    parts = [(PREAMBLE_HEADING, _without_title(body[:preamble_end]))]
    parts += [(s.heading, body[s.content_start:s.end]) for s in sections]
    found = []
    for heading, content in parts:
        text = clean_section(content)
        if heading and text:
            found.append(AuthoredSection(heading, text))
    return found


def without_drafts(body: str) -> str:
    """``body`` with every draft region cut out (markers included)."""
    pieces, position = [], 0
    for region in find_regions(body):
        pieces.append(body[position:region.start])
        position = region.end
    return "".join(pieces) + body[position:]


def clean_section(content: str) -> str:
    """A section's body as plain authored text: no HTML comments, trimmed; empty when a marker is left."""
    if BEGIN.search(content) or END.search(content):  # an unterminated draft: keep none of it
        return ""
    text = strip_comments(content).strip()
    return text + "\n" if text else ""


def _without_title(preamble: str) -> str:
    """The preamble without its ``#`` title line(s)."""
    pieces, position = [], 0
    for heading in iter_headings(preamble):
        if heading.level == 1:
            pieces.append(preamble[position:heading.start])
            position = heading.end
    return "".join(pieces) + preamble[position:]
