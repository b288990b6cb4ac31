"""Fact checks on a drafted section: package references, imported modules and links, against what is known.

What the reviewer sees:

* **package references** -- ``pkg.x.y`` chains, ``from pkg.x import y`` (``pkg.x.y``) and ``import
  pkg.x`` in code fences and inline code spans -- are counted, and the ones that resolve to no known
  name are listed (``unresolved_names``). A known alias or module counts; an attribute of a known
  class or function (``pkg.Config.some_field``) is no package reference, nor is one on a variable
  (``cfg.database.url``).
* **imports of modules that exist nowhere** (not the standard library, not the package, not an
  installed distribution) are listed (``invented_modules``). In a code sample the code check already
  makes them an ``invalid`` verdict (``verify_code: syntax``, the default, and the other modes), so the
  sample is re-sampled and, still invalid after ``code_retries``, left out of the draft with a note;
  what is listed here comes from prose code spans or unchecked samples.
* **links** in prose to site pages that do not exist (relative links resolved against the page; an
  anchor is not checked) and absolute URLs that appear in no source become plain text (the link text
  is kept) and are counted (``links_dropped``).
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from mkdocs_aigen.checks.imports import invented_imports, package_references
from mkdocs_aigen.markdown import iter_fenced_blocks

PYTHON_LANGUAGES = ("python", "py", "python3", "py3", "pycon")
_INLINE_CODE = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)
_LINK = re.compile(r"(?<![!\\])\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(\s*<?([^\s()<>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s<>\"'`)\]]+", re.I)
_PYCON_PROMPT = re.compile(r"^(?:>>>|\.\.\.) ?", re.M)


@dataclass(frozen=True)
class KnownFacts:
    """What a draft may refer to: the package's names and modules, the site's files, the sources' URLs."""

    package: str | None
    names: frozenset[str]  # every public dotted name, aliases included
    modules: frozenset[str]
    pages: frozenset[str]  # site src_paths (documents and other files)
    urls: frozenset[str]  # URLs that appear in any source

    def resolves(self, path: str) -> bool:
        """Whether a dotted package path names something that exists (or an attribute of a known
        class or function, which is no package reference)."""
        if path in self.names or path in self.modules:
            return True
        parts = path.split(".")
        for depth in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:depth])
            if prefix in self.modules or prefix == self.package:
                return False  # a module without that member
            if prefix in self.names:
                return True
        return False


def urls_in(text: str) -> set[str]:
    """The absolute URLs written in ``text`` (to build :attr:`KnownFacts.urls` from the sources)."""
    return {match.group().rstrip(".,;:!?") for match in _URL.finditer(text)}


def check_facts(markdown: str, page: str, known: KnownFacts) -> tuple[str, dict]:
    """``(markdown with dead links made plain, facts)`` for a drafted section of ``page`` (a src_path).

    ``facts``: ``references``, ``resolved``, ``unresolved``, ``links_dropped``, ``unresolved_names``,
    ``invented_modules``.
    """
    references: list[str] = []
    invented: set[str] = set()
    fences = iter_fenced_blocks(markdown, page=False)
    for fence in fences:
        if fence.language.lower() in PYTHON_LANGUAGES:
            code = _PYCON_PROMPT.sub("", fence.code) if fence.language.lower() == "pycon" else fence.code
            _read_code(code, known.package, references, invented)
    pieces, dropped, position = [], 0, 0
    for fence in [*fences, None]:
        prose = markdown[position : fence.start if fence else len(markdown)]
        for span in _INLINE_CODE.finditer(prose):
            _read_code(span.group(2).strip(), known.package, references, invented)
        prose, count = _plain_dead_links(prose, page, known)
        pieces.append(prose)
        dropped += count
        if fence:
            pieces.append(markdown[fence.start : fence.end])
            position = fence.end
    unresolved = [path for path in references if not known.resolves(path)]
    facts = {"references": len(references), "resolved": len(references) - len(unresolved),
             "unresolved": len(unresolved), "links_dropped": dropped,
             "unresolved_names": sorted(set(unresolved)), "invented_modules": sorted(invented)}
    return "".join(pieces), facts


def _read_code(code: str, package: str | None, references: list[str], invented: set[str]) -> None:
    """Add what ``code`` takes from ``package`` to ``references`` (outermost chains; the package's name
    counts as imported) and the modules it invents to ``invented``."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is not None:
        invented.update(module for _, module in invented_imports(tree, package))
        if package:
            found = {(line, path) for line, path, _ in package_references(tree, package, bare=True)
                     if path != package}
            references += [path for line, path in sorted(found)
                           if not any(other.startswith(path + ".") for at, other in found if at == line)]
    elif package:  # not Python as a whole (a fragment): its dotted chains
        references += [m.group() for m in re.finditer(rf"(?<![\w.]){re.escape(package)}(?:\.\w+)+", code)]


def _plain_dead_links(prose: str, page: str, known: KnownFacts) -> tuple[str, int]:
    """``prose`` with links to nothing made plain text (code spans untouched), and how many."""
    spans = [match.span() for match in _INLINE_CODE.finditer(prose)]
    dropped = 0

    def plain(match: re.Match) -> str:
        nonlocal dropped
        if any(start <= match.start() < end for start, end in spans) or _link_exists(match[2], page, known):
            return match.group()
        dropped += 1
        return match[1]

    return _LINK.sub(plain, prose), dropped


def _link_exists(target: str, page: str, known: KnownFacts) -> bool:
    parts = urlsplit(target)
    if parts.scheme or target.startswith("//"):
        return _without_fragment(target) in {_without_fragment(url) for url in known.urls}
    path = unquote(parts.path)
    if not path:
        return True  # an anchor on this page
    if path.startswith("/"):
        path = path.lstrip("/")
    else:
        path = posixpath.normpath(posixpath.join(posixpath.dirname(page), path))
    if path == ".." or path.startswith("../"):
        return False
    path = path.rstrip("/")
    if posixpath.splitext(path)[1]:
        return path in known.pages
    return any(candidate in known.pages for candidate in (f"{path}.md", f"{path}/index.md", f"{path}/README.md"))


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0].rstrip("/")
