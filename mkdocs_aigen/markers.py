"""Provenance markers: HTML comments around drafted sections, in sources and in rendered pages.

A draft region reads::

    <!-- aigen:draft section="configure-the-cache" digest="sha256:…" -->
    ## Configure the cache
    …
    <!-- /aigen:draft -->

``digest`` is that of the text as generated; when the text between the markers no longer matches
it, the author has edited the draft and it is theirs.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass

BEGIN = re.compile(r"<!-- aigen:draft((?:\s+[a-z-]+=\"[^\"]*\")*)\s*-->")
END = "<!-- /aigen:draft -->"
_ATTR = re.compile(r'([a-z-]+)="([^"]*)"')
_NEWLINE = re.compile(r"\r?\n\Z")


def digest_text(text: str) -> str:
    """Digest of a draft's text, independent of line endings and trailing whitespace."""
    normal = text.replace("\r\n", "\n").strip()
    return "sha256:" + hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DraftRegion:
    """One marked draft in a text; offsets are into that text."""

    attrs: dict[str, str]
    start: int  # begin marker
    end: int  # just past the end marker
    inner_start: int
    inner_end: int
    inner: str

    @property
    def section(self) -> str:
        return self.attrs.get("section", "")

    @property
    def edited(self) -> bool:
        return digest_text(self.inner) != self.attrs.get("digest")


def begin_marker(**attrs: str) -> str:
    body = " ".join(f'{key.replace("_", "-")}="{html.escape(value, quote=True)}"' for key, value in attrs.items())
    return f"<!-- aigen:draft {body} -->"


def defuse(text: str) -> str:
    """Untrusted text that can open no HTML comment, so it can never forge, open or close a marker."""
    return text.replace("<!--", "<! --")


def wrap(inner: str, section: str, newline: str = "\n") -> str:
    """Mark ``inner`` (a section's Markdown as generated) as a draft of ``section``; marker syntax in
    ``inner`` is defused first."""
    text = defuse(inner.strip()).replace("\r\n", "\n").replace("\n", newline)
    return f"{begin_marker(section=section, digest=digest_text(text))}{newline}{text}{newline}{END}"


def find_regions(text: str) -> list[DraftRegion]:
    """Draft regions of ``text`` in order; a begin marker without its end marker is not a region.

    A region ends at the last end marker before the next begin marker, so an end marker forged
    inside a draft's text cannot close it early and leave the rest outside the region.
    """
    regions = []
    position = 0
    while (match := BEGIN.search(text, position)) is not None:
        following = BEGIN.search(text, match.end())
        close = text.rfind(END, match.end(), following.start() if following else len(text))
        if close < 0:  # unterminated marker: the next begin (if any) starts the real region
            if following is None:
                break
            position = following.start()
            continue
        inner_start = match.end() + _leading_newline(text, match.end())
        inner_end = close
        inner = _NEWLINE.sub("", text[inner_start:inner_end])
        attrs = {key: html.unescape(value) for key, value in _ATTR.findall(match.group(1))}
        regions.append(DraftRegion(attrs, match.start(), close + len(END), inner_start,
                                   inner_start + len(inner), inner))
        position = close + len(END)
    return regions


def remove_markers(text: str) -> str:
    """``text`` without draft markers; what was between them stays."""
    return BEGIN.sub("", text).replace(END, "")


def _leading_newline(text: str, offset: int) -> int:
    if text.startswith("\r\n", offset):
        return 2
    return 1 if text.startswith("\n", offset) else 0


def strip_comments(markdown: str) -> str:
    """Remove HTML comments from untrusted text so it cannot forge or break markers."""
    return re.sub(r"<!--.*?(-->|\Z)", "", markdown, flags=re.S).replace("-->", "—>")
