"""Provenance markers around drafted sections, in sources and in rendered pages.

A draft region in a source reads (the form ``mkdocs-aigen draft`` writes)::

    [//]: # (aigen:draft section="configure-the-cache" digest="sha256:…")
    > **AI draft · awaiting review** (mkdocs-aigen): check facts and code before relying on it.

    ## Configure the cache
    …

    [//]: # (/aigen:draft)

The marker lines are link reference definitions, which every Markdown renderer (MkDocs, ProperDocs,
Zensical, markdown-it, GitHub) renders to nothing: no digest reaches any HTML. The note, a blockquote
whose first line names mkdocs-aigen, belongs to the begin marker (it is not the draft's text) and
tells readers of any renderer that the section is an unreviewed draft.

Sources written before this form hold HTML comments; they are still read, and ``mkdocs-aigen draft``
rewrites them (:func:`source_form`)::

    <!-- aigen:draft section="configure-the-cache" digest="sha256:…" -->
    ## Configure the cache
    …
    <!-- /aigen:draft -->

The plugin builds pages from the comment form without digests (:func:`render_form`), finds the
regions in the HTML and replaces them with marked elements.

``digest`` is that of the text as generated; when the text between the markers no longer matches
it, the author has edited the draft and it is theirs.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import Sequence

_ATTRS = r'((?:\s+[a-z-]+="[^"]*")*)'
_EOL = r"[ \t]*(?=\r?\n|\Z)"
BEGIN = re.compile(rf"<!-- aigen:draft{_ATTRS}\s*-->|^\[//\]: # \(aigen:draft{_ATTRS}\s*\){_EOL}", re.M)
END = re.compile(rf"<!-- /aigen:draft -->|^\[//\]: # \(/aigen:draft\){_EOL}", re.M)
COMMENT_END = "<!-- /aigen:draft -->"
SOURCE_END = "[//]: # (/aigen:draft)"
NOTE_TAG = "mkdocs-aigen"
"""The first line of a draft's note names the tool: that is how the note is told from a draft's text."""
_NOTE = re.compile(rf">[^\r\n]*{NOTE_TAG}[^\r\n]*(?:\r?\n|\Z)(?:>[^\r\n]*(?:\r?\n|\Z))*")
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')
_TRAILING = {False: re.compile(r"\r?\n\Z"), True: re.compile(r"(?:\r?\n){1,2}\Z")}
_FORGED_SOURCE_MARKER = re.compile(r"(?m)^[ \t]*\[//\]:[^\n]*aigen:draft[^\n]*$")


def digest_text(text: str) -> str:
    """Digest of a draft's text, independent of line endings and trailing whitespace."""
    normal = text.replace("\r\n", "\n").strip()
    return "sha256:" + hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DraftRegion:
    """One marked draft in a text; offsets are into that text."""

    attrs: dict[str, str]
    start: int  # begin marker (and its note)
    end: int  # just past the end marker
    inner_start: int
    inner_end: int
    inner: str
    legacy: bool = False  # HTML-comment markers (written before the source form)

    @property
    def section(self) -> str:
        return self.attrs.get("section", "")

    @property
    def edited(self) -> bool:
        return digest_text(self.inner) != self.attrs.get("digest")


def _attr_text(attrs: dict[str, str]) -> str:
    escaped = {key: html.escape(value, quote=True).replace("(", "&#40;").replace(")", "&#41;")
               for key, value in attrs.items()}
    return " ".join(f'{key.replace("_", "-")}="{value}"' for key, value in escaped.items())


def begin_marker(**attrs: str) -> str:
    """The begin marker line of the source form (a link reference definition)."""
    return f"[//]: # (aigen:draft {_attr_text(attrs)})"


def comment_marker(**attrs: str) -> str:
    """The begin marker of the comment form (what the plugin renders pages from)."""
    return f"<!-- aigen:draft {_attr_text(attrs)} -->"


def defuse(text: str) -> str:
    """Untrusted text that can open no HTML comment and holds no marker line, so it can never forge,
    open or close a draft region (a marker line becomes visible text)."""
    return _FORGED_SOURCE_MARKER.sub(lambda m: m.group().replace("[//]:", "\\[//]:", 1), text.replace("<!--", "<! --"))


def note_block(lines: Sequence[str], newline: str = "\n") -> str:
    """A draft's note as a blockquote: its first line must name mkdocs-aigen (:data:`NOTE_TAG`)."""
    return (newline + ">" + newline).join("> " + line for line in lines)


DEFAULT_NOTE = (f"**AI draft · awaiting review** ({NOTE_TAG}): check facts and code before relying on it.",)


def wrap(inner: str, section: str, newline: str = "\n", note: Sequence[str] = DEFAULT_NOTE) -> str:
    """Mark ``inner`` (a section's Markdown as generated) as a draft of ``section``, with ``note``;
    marker syntax in ``inner`` is defused first."""
    text = defuse(inner.strip()).replace("\r\n", "\n").replace("\n", newline)
    begin = begin_marker(section=section, digest=digest_text(text))
    return _source_region(begin, text, note, newline)


def _source_region(begin: str, inner: str, note: Sequence[str], newline: str) -> str:
    nl = newline
    return f"{begin}{nl}{note_block(note, nl)}{nl}{nl}{inner}{nl}{nl}{SOURCE_END}"


def find_regions(text: str) -> list[DraftRegion]:
    """Draft regions of ``text`` in order (either form); a begin marker without its end is no region.

    A region ends at the last end marker before the next begin marker, so an end marker forged
    inside a draft's text cannot close it early and leave the rest outside the region.
    """
    regions = []
    position = 0
    while (match := BEGIN.search(text, position)) is not None:
        following = BEGIN.search(text, match.end())
        closes = list(END.finditer(text, match.end(), following.start() if following else len(text)))
        if not closes:  # unterminated marker: the next begin (if any) starts the real region
            if following is None:
                break
            position = following.start()
            continue
        close = closes[-1]  # the last end before the next begin: a forged end cannot close a draft early
        legacy = match.group(2) is None
        inner_start = _inner_start(text, match.end(), legacy)
        inner_end = max(inner_start, close.start())
        inner = _TRAILING[close.group().startswith("[")].sub("", text[inner_start:inner_end])
        attrs = {key: html.unescape(value) for key, value in _ATTR.findall(match.group(1) or match.group(2))}
        regions.append(DraftRegion(attrs, match.start(), close.end(), inner_start, inner_start + len(inner),
                                   inner, legacy))
        position = close.end()
    return regions


def _inner_start(text: str, offset: int, legacy: bool) -> int:
    """Where a draft's text starts: past the begin marker's line end, and its note and blank line."""
    offset += _leading_newline(text, offset)
    if not legacy and (note := _NOTE.match(text, offset)) is not None:
        offset = note.end()
        offset += _leading_newline(text, offset)
    return offset


def remove_markers(text: str) -> str:
    """``text`` without draft markers (and notes); what was between them stays."""
    def unmarked(gap: str) -> str:  # stray markers (a begin without its end) go too
        return END.sub("", BEGIN.sub("", gap))

    pieces, position = [], 0
    for region in find_regions(text):
        pieces += [unmarked(text[position:region.start]), region.inner]
        position = region.end
    return "".join(pieces) + unmarked(text[position:])


def render_form(text: str) -> str:
    """``text`` with every region in the comment form and without digests: what the plugin builds
    pages from (the HTML then holds ``section`` only, until the plugin replaces the region)."""
    pieces, position = [], 0
    for region in find_regions(text):
        pieces += [text[position:region.start], comment_marker(section=region.section), "\n", region.inner,
                   "\n", COMMENT_END]
        position = region.end
    return "".join(pieces) + text[position:]


def source_form(text: str, note: Sequence[str], newline: str = "\n") -> str:
    """``text`` with each comment-form region whose markers stand on their own lines rewritten in the
    source form with ``note``; every draft's text and digest is kept byte for byte."""
    pieces, position = [], 0
    for region in find_regions(text):
        if not region.legacy or not _on_own_lines(text, region):
            continue
        begin = begin_marker(**{key.replace("-", "_"): value for key, value in region.attrs.items()})
        pieces += [text[position:region.start], _source_region(begin, region.inner, note, newline)]
        position = region.end
    return "".join(pieces) + text[position:]


def _on_own_lines(text: str, region: DraftRegion) -> bool:
    starts_line = region.start == 0 or text[region.start - 1] == "\n"
    return starts_line and (region.end == len(text) or text.startswith(("\n", "\r\n"), region.end))


def _leading_newline(text: str, offset: int) -> int:
    if text.startswith("\r\n", offset):
        return 2
    return 1 if text.startswith("\n", offset) else 0


def strip_comments(markdown: str) -> str:
    """Remove HTML comments and marker lines from untrusted text so it cannot forge or break markers."""
    text = re.sub(r"<!--.*?(-->|\Z)", "", markdown, flags=re.S).replace("-->", "—>")
    return _FORGED_SOURCE_MARKER.sub("", text)
