"""The one Markdown reader: headings, sections and fenced code of a page, on a CommonMark parser.

Offsets always index the text as given (CRLF, lone CR and a leading BOM included), so slicing the
text by them gives back its exact bytes. A leading YAML front-matter block is skipped.

The line predicates at the end (:func:`fence_opener`, :func:`closes_fence`, :func:`atx_level`,
:class:`LineTracker`) serve code that must decide per generated token without a full parse; the
tests hold them to agreeing with the parser.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

_FRONT_MATTER = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(?P<yaml>.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M
)
_LINE_BREAK = re.compile(r"\r\n?|\n")
_BOM = "\ufeff"
MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    start: int  # offset of the heading's first line (a setext heading's first text line)
    end: int  # offset just past the heading's last line (after its newline)


@dataclass(frozen=True)
class Section:
    heading: str
    start: int  # offset of the heading line
    end: int  # offset where the next section (or the text) ends
    content_start: int  # offset just past the heading's line(s) (a setext heading has two)

    @property
    def key(self) -> str:
        return heading_key(self.heading)


@dataclass(frozen=True)
class FencedBlock:
    """A fenced code block; ``markdown[start:end]`` is the fence from opener to closer."""

    language: str
    code: str
    start: int
    end: int
    closed: bool = True


def heading_key(title: str) -> str:
    """Case- and whitespace-insensitive identity of a heading."""
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def slugify(title: str) -> str:
    """Stable ASCII-or-unicode slug for a heading (used in markers and cache keys)."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = re.sub(r"[^\w\s-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-") or "section"


# ---------------------------------------------------------------- front-matter


def front_matter(text: str) -> tuple[str, int] | None:
    """The raw YAML of a leading front-matter block and the offset where the body after it starts;
    None when ``text`` has no front-matter."""
    match = _FRONT_MATTER.match(text)
    return (match.group("yaml"), match.end()) if match else None


def body_start(text: str) -> int:
    """Offset where the Markdown of a page starts: after its front-matter, or after a BOM."""
    block = front_matter(text)
    if block is not None:
        return block[1]
    return 1 if text.startswith(_BOM) else 0


# ---------------------------------------------------------------- the reader


@dataclass(frozen=True)
class _Document:
    headings: tuple[Heading, ...]  # top-level only: not in lists, quotes, code or HTML blocks
    fences: tuple[FencedBlock, ...]  # at any depth


def iter_headings(text: str) -> Iterator[Heading]:
    """Top-level ATX and setext headings of ``text`` (not those inside code, HTML, lists or quotes)."""
    return iter(_read(text, body_start(text)).headings)


def first_heading(text: str) -> str | None:
    """Title of the first heading of ``text``, or None."""
    return next((heading.title for heading in iter_headings(text)), None)


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
        sections.append(Section(heading.title, heading.start, end, heading.end))
    preamble_end = sections[0].start if sections else len(body)
    return preamble_end, sections


def iter_fenced_blocks(markdown: str, *, page: bool = True) -> list[FencedBlock]:
    """All ``` and ~~~ fenced blocks (CommonMark rules, in lists and quotes too).

    An unclosed fence runs to the end of its container (``closed=False``). ``code`` has ``\\n``
    line ends. ``page=False`` reads text that is no page (generated prose) from its very start.
    """
    start = body_start(markdown) if page else int(markdown.startswith(_BOM))
    return list(_read(markdown, start).fences)


@lru_cache(maxsize=64)
def _read(text: str, start: int) -> _Document:
    """Parse ``text[start:]``; a page is read several times per build, hence the cache."""
    body = text[start:]
    line_starts = [start] + [start + match.end() for match in _LINE_BREAK.finditer(body)]
    if line_starts[-1] != len(text):
        line_starts.append(len(text))
    tokens = _parser().parse(_LINE_BREAK.sub("\n", body))
    headings, fences = [], []
    for index, token in enumerate(tokens):
        first, last = token.map or (0, 0)
        if token.type == "heading_open" and token.level == 0:
            title = " ".join(line.strip() for line in tokens[index + 1].content.split("\n"))
            headings.append(Heading(int(token.tag[1]), title, line_starts[first], line_starts[last]))
        elif token.type == "fence":
            code = token.content if token.content.endswith("\n") or not token.content else token.content + "\n"
            closed = code.count("\n") == last - first - 2  # else the block's last line is code
            end = line_starts[last - 1] + len(_line(text, line_starts, last - 1)) if closed else line_starts[last]
            fences.append(FencedBlock(_info_language(token.info), code, line_starts[first], end, closed))
    return _Document(tuple(headings), tuple(fences))


@lru_cache(maxsize=1)
def _parser():
    """Block-level CommonMark parser (markdown-it-py, imported on first use).

    Its ``normalize`` rule is off: line breaks are normalised here, and NUL bytes stay as written.
    """
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").disable(["normalize", "inline", "text_join"])


def _line(text: str, line_starts: list[int], index: int) -> str:
    """Line ``index`` of ``text`` without its line break."""
    return text[line_starts[index] : line_starts[index + 1]].rstrip("\r\n")


def _info_language(info: str) -> str:
    """First word of an info string: ``python title="x.py"`` and ``{.python}`` give python."""
    info = info.strip()
    if info.startswith("{"):
        classes = [word[1:] for word in info.strip("{}").split() if word.startswith(".")]
        return classes[0] if classes else ""
    word = info.split(maxsplit=1)[0] if info else ""
    return "" if "=" in word else word.split("{", 1)[0]


# ---------------------------------------------------------------- line predicates

_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_ATX_LINE = re.compile(r" {0,3}(#{1,6})(?:[ \t\r]|\Z)")
_SETEXT_LINE = re.compile(r" {0,3}(=+|-+)[ \t\r]*")
_BREAK_LINE = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})\r?")
_CONTAINER_LINE = re.compile(r" {0,3}(?:>|(?P<marker>[-+*]|(?P<number>\d{1,9})[.)])(?:[ \t\r]|\Z))")
_INDENTED_LINE = re.compile(r" {0,3}\t| {4}")
_MARKUP_START = " \t\r#`~=-*_+>0123456789"  # a line starting otherwise is paragraph text
_CONTAINER_MARKS = "-+*>0123456789"
_LAZY_ENDING_MARKS = "#`~-*_"


def fence_opener(line: str) -> str | None:
    """The fence marker (3+ backticks or tildes) if ``line`` opens a fenced code block."""
    match = _FENCE_LINE.match(line)
    if match is None:
        return None
    marker, info = match.groups()
    if marker[0] == "`" and "`" in info:  # a backtick fence's info string may not hold backticks
        return None
    return marker


def closes_fence(line: str, opener: str) -> bool:
    """Whether ``line`` closes a block opened by ``opener`` (same char, as long or longer)."""
    match = _FENCE_LINE.match(line)
    if match is None:
        return False
    marker, rest = match.groups()
    return marker[0] == opener[0] and len(marker) >= len(opener) and not rest.strip()


def next_fence(line: str, opener: str | None) -> str | None:
    """The open fence after ``line``, given the open fence before it."""
    if opener is None:
        return fence_opener(line)
    return None if closes_fence(line, opener) else opener


def atx_level(line: str) -> int | None:
    """The level of the ATX heading ``line`` is, or None."""
    match = _ATX_LINE.match(line)
    return len(match.group(1)) if match else None


def setext_level(line: str) -> int | None:
    """The level a setext underline ``line`` gives the paragraph above it (``===`` 1, ``---`` 2)."""
    match = _SETEXT_LINE.fullmatch(line)
    return (1 if match.group(1)[0] == "=" else 2) if match else None


@dataclass
class LineTracker:
    """Top-level block structure seen one line at a time, cheap enough to run per generated token.

    Tracks the open code fence, the open top-level paragraph (a setext underline turns it into a
    heading) and whether lines belong to a list item or block quote. Raw HTML lines count as text:
    generated prose has its ``<`` escaped, so they render as text.
    """

    fence: str | None = None
    paragraph: int | None = None  # offset of the open top-level paragraph's first line
    # In a list item or quote: "lazy" (its paragraph goes on in unindented text lines), "strict"
    # (only indented lines go on in it) or "empty" (an empty item, which a blank line ends).
    container: str | None = None
    quote: bool = False  # the container is a quote, which indented lines do not go on in

    def feed(self, line: str, offset: int, complete: bool = True) -> tuple[int, int] | None:
        """Read ``line`` (no ``\\n``) at ``offset``; ``(level, start)`` when it makes a heading.

        An incomplete last line is no setext underline yet: ``-`` may still become a list item.
        """
        if self.fence is not None:
            if closes_fence(line, self.fence):
                self.fence = None
            return None
        first = line[:1]
        if first not in _MARKUP_START:  # plain text, the common case: decided without a regex
            if self.container != "lazy":
                self.container = None
                self.paragraph = offset if self.paragraph is None else self.paragraph
            return None
        if first in " \t\r" and not line.strip(" \t\r"):  # blank ("" is in every string)
            self.paragraph = None
            self.container = None if self.container == "empty" else self.container and "strict"
            return None
        if self.container is not None:
            if first in " \t" and not self.quote:  # indented into the list item
                content = line.lstrip(" \t")
                self.container = "strict" if _ends_lazy_lines(content, content[:1]) else "lazy"
                return None
            if first not in _LAZY_ENDING_MARKS or not _ends_lazy_lines(line, first):
                container = _CONTAINER_LINE.match(line) if first in _CONTAINER_MARKS else None
                if container:  # the next item or quote
                    self._enter(line, container, first)
                    return None
                if self.container == "lazy":
                    return None
            self.container = None
        return self._top_level(line, line.lstrip(" ")[:1], offset, complete)

    def _top_level(self, line: str, mark: str, offset: int, complete: bool) -> tuple[int, int] | None:
        """``mark``: the first non-space character; a regex runs only where it can match."""
        paragraph, self.paragraph = self.paragraph, None
        if mark == "#":
            level = atx_level(line)
            if level is not None:
                return level, offset
        elif mark in "=-" and paragraph is not None and complete:
            level = setext_level(line)
            if level is not None:
                return level, paragraph
        self.fence = fence_opener(line) if mark in "`~" else None
        if self.fence is not None or (mark in "-*_" and _BREAK_LINE.fullmatch(line)):
            return None
        container = _CONTAINER_LINE.match(line) if mark in _CONTAINER_MARKS else None
        if container and (paragraph is None or _interrupts_paragraph(line, container)):
            self._enter(line, container, mark)
            return None
        if paragraph is None and _INDENTED_LINE.match(line):
            return None  # indented code
        self.paragraph = offset if paragraph is None else paragraph
        return None

    def _enter(self, line: str, container: re.Match, mark: str) -> None:
        """Start a list item or quote: "lazy" when its first line holds text, else "empty"."""
        self.container = "lazy" if line[container.end():].strip() else "empty"
        self.quote = mark == ">"


def _ends_lazy_lines(line: str, mark: str) -> bool:
    """Whether ``line`` (a heading, fence or thematic break) ends a list item or quote it is not
    indented into, rather than continuing its paragraph lazily."""
    return bool(
        (mark == "#" and atx_level(line) is not None)
        or (mark in "`~" and fence_opener(line) is not None)
        or (mark in "-*_" and _BREAK_LINE.fullmatch(line))
    )


def _interrupts_paragraph(line: str, container: re.Match) -> bool:
    """A quote, or a list item that is not empty and (if ordered) starts at 1, ends a paragraph."""
    if container.group("marker") is None:
        return True
    number = container.group("number")
    return bool(line[container.end():].strip()) and (number is None or int(number) == 1)
