"""Pages of documentation for the pretraining corpus: titles and ``##`` sections, in any language.

Readers, all pure Python and offline:

* Markdown and reST files and package descriptions (reST headings become Markdown headings);
* HTML manuals (e.g. ``debian-reference-zh-cn``'s ``/usr/share/debian-reference/*.zh-cn.html``):
  text through :mod:`html.parser`, each ``<h2>`` a page whose ``<h3>`` are its sections;
* man pages (e.g. ``manpages-zh``'s ``/usr/share/man/zh_CN/**/*.gz``): groff requests and escapes
  stripped, ``.TH`` the title, ``.SH`` the sections.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from mkdocs_aigen.markdown import iter_headings, split_sections

MIN_SECTION_CHARS = 20
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+.:_])\1{2,}\s*$")


@dataclass(frozen=True)
class Page:
    """One page: where it is from, what it is about, and its sections."""

    doc: str  # corpus id, e.g. "docs:site-packages/attrs/README.md"
    group: str  # pages of one group (a package, a manual) ground each other
    title: str
    kind: str
    language: str
    sections: tuple[tuple[str, str], ...]  # (heading, text)

    @property
    def markdown(self) -> str:
        """The page as Markdown: its title, then each section under a ``##`` heading."""
        return f"# {self.title}\n\n" + "".join(f"## {h}\n\n{t.strip()}\n\n" for h, t in self.sections)


def rst_to_markdown_headings(text: str) -> str:
    """reST headings (title lines with an underline, optionally an overline) as ATX headings,
    levels in order of first appearance of each underline character."""
    lines = text.split("\n")
    levels: list[str] = []
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        below = lines[index + 1] if index + 1 < len(lines) else ""
        match = _RST_UNDERLINE.match(below)
        if line.strip() and not _RST_UNDERLINE.match(line) and match and len(below.rstrip()) >= len(line.strip()):
            if out and _RST_UNDERLINE.match(out[-1]):
                out.pop()  # an overline
            char = match.group(1)
            if char not in levels:
                levels.append(char)
            out.append("#" * min(levels.index(char) + 1, 6) + " " + line.strip())
            index += 2
            continue
        out.append(line)
        index += 1
    return "\n".join(out)


def markdown_page(doc: str, group: str, text: str, kind: str, language: str = "en") -> Page | None:
    """A Markdown page with its ``##`` sections (``#`` ones when it has none); None without any."""
    title = next((h.title for h in iter_headings(text) if h.level == 1 and h.title), "")
    for level in (2, 1):
        _, found = split_sections(text, level)
        sections = tuple((s.heading, text[s.content_start:s.end].strip()) for s in found)
        sections = tuple((h, t) for h, t in sections if h and len(t) >= MIN_SECTION_CHARS)
        if sections:
            return Page(doc, group, title or sections[0][0], kind, language, sections)
    return None


class _HtmlText(HTMLParser):
    """Headings and paragraphs of an HTML manual as Markdown-ish lines (tables of contents and
    navigation left out; ``<pre>`` kept verbatim)."""

    SKIPPED = ("toc", "navheader", "navfooter", "list-of-tables", "list-of-figures")
    BLOCKS = frozenset({"p", "div", "li", "dt", "dd", "tr", "br", "table", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})
    VOID = frozenset({"br", "img", "meta", "link", "hr", "col", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.skip_depth = 0
        self.stack: list[bool] = []
        self.pre = 0
        self.heading = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.VOID:
            if tag == "br":
                self._flush()
            return
        classes = dict(attrs).get("class") or ""
        skipped = tag in ("script", "style", "head") or any(c in self.SKIPPED for c in classes.split())
        self.stack.append(skipped)
        self.skip_depth += skipped
        if tag in self.BLOCKS:
            self._flush()
        if tag == "pre":
            self.pre += 1
        if tag in ("h1", "h2", "h3", "h4"):
            self.heading = int(tag[1])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID or not self.stack:
            return
        if tag in self.BLOCKS:
            self._flush()
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        self.skip_depth -= self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.buffer.append(data)

    def _flush(self) -> None:
        text = "".join(self.buffer)
        self.buffer.clear()
        if self.pre:
            if text.strip():
                self.lines.append("```\n" + text.strip("\n") + "\n```")
            return
        text = " ".join(text.split())
        if text:
            self.lines.append("#" * self.heading + " " + text if self.heading else text)
        self.heading = 0


def html_pages(doc: str, group: str, html: str, kind: str, language: str) -> list[Page]:
    """One page per ``<h2>`` of an HTML manual, its ``<h3>`` as sections (``#`` + ``##`` after the
    demotion); text before the first ``<h3>`` becomes an ``Overview`` section."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    pages: list[Page] = []
    for block in re.split(r"^## ", "\n\n".join(parser.lines), flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        body = re.sub(r"^#(#+) ", r"\1 ", body, flags=re.M)
        if not body.lstrip().startswith("## "):
            body = "## Overview\n\n" + body
        page = markdown_page(f"{doc}#{len(pages) + 1}", group, f"# {title.strip()}\n\n{body}", kind, language)
        if page:
            pages.append(page)
    return pages


_ESCAPES = (
    (re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)"), ""),  # font changes
    (re.compile(r"\\s[+-]?\d"), ""),  # size changes
    (re.compile(r"\\\*(?:\[[^\]]*\]|\(..|.)"), ""),  # strings
    (re.compile(r"\\\((?:em|en|hy)"), "-"),
    (re.compile(r"\\\((?:lq|rq|dq)"), '"'),
    (re.compile(r"\\\(bu"), "•"),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), ""),
    (re.compile(r"\\[-]"), "-"),
    (re.compile(r"\\[e\\]"), "\\\\"),
    (re.compile(r"\\[&,/|^%:]|\\c$"), ""),
    (re.compile(r"\\ "), " "),
)
_TEXT_MACROS = frozenset("B I R BI BR IB IR RB RI SM SB".split())


def _unescape(text: str) -> str:
    for pattern, replacement in _ESCAPES:
        text = pattern.sub(replacement, text)
    return text


def _request_words(rest: str) -> list[str]:
    return [w.strip('"') for w in re.findall(r'"[^"]*"|\S+', rest)]


def man_markdown(source: str) -> str:
    """A man page's groff source as Markdown: ``.TH`` the ``#`` title, ``.SH`` / ``.SS`` headings,
    paragraphs at ``.PP`` / ``.TP``, font macros as their text, other requests and comments dropped."""
    lines: list[str] = []
    for raw in source.replace("\r\n", "\n").split("\n"):
        if raw.startswith(('.\\"', "'\\\"", '\\"')):
            continue
        if not raw.startswith((".", "'")):
            lines.append(_unescape(raw))
            continue
        request, _, rest = raw[1:].strip().partition(" ")
        words = _request_words(_unescape(rest))
        if request == "TH" and words:
            lines.append(f"# {words[0]}" + (f"({words[1]})" if len(words) > 1 else ""))
        elif request in ("SH", "SS") and words:
            lines += ["", ("## " if request == "SH" else "### ") + " ".join(words), ""]
        elif request in _TEXT_MACROS and words:
            lines.append((" " if len(request) == 1 or request.startswith("S") else "").join(words))
        elif request in ("PP", "LP", "P", "TP", "IP", "sp", "br"):
            lines.append("")
            if request == "IP" and words:
                lines.append(words[0])
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def read_man_page(path: Path) -> str:
    """The source of a (gzipped) man page, decoded as UTF-8 (undecodable bytes replaced)."""
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")
