"""Grounded-shape pretraining documents: a section written from passages put before it.

Each document is a prompt in the exact shape the templates render (:func:`.prompt.section_prompt`:
topic, ``*label · language*``, ``Context:`` with numbered passages, ``## heading``) followed by the
section's text, so the base model learns to copy facts from its context before any site is seen:

* **sections**: a documentation section; its context is the passages BM25 ranks highest
  (:class:`mkdocs_aigen.ranking.Ranker`, query = page title + heading) among the other pages'
  sections and the API of the same group (package or manual), the page's own sections excluded,
  plus one or two distractors from other groups, shuffled;
* **api**: a function's docstring section (``Summary``, ``Parameters``, ``Returns``, ``Examples``),
  its context the function's signature and code (docstring removed) as an ``api:`` passage, other
  documented definitions of its module, and a distractor.

Everything is deterministic: orders and picks come from hashes of document ids.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from mkdocs_aigen.markdown import slugify
from mkdocs_aigen.ml.corpus import code_without_docstring, python_docs, stable_hash
from mkdocs_aigen.ml.pages import Page
from mkdocs_aigen.ml.prompt import Snippet, section_prompt
from mkdocs_aigen.ranking import Ranker

RETRIEVED = 3  # passages ranked from the same group
PASSAGE_BYTES = 600
TARGET_BYTES = 2000
MIN_TARGET_BYTES = 200  # about 60 CJK characters or 200 ASCII ones
MAX_SECTIONS_PER_PAGE = 6
MAX_CODE_LINES = 40
DISTRACTOR_POOL = 512
REFERENCE = "reference"
_DOCSTRING_SECTIONS = {
    "args": "Parameters", "arguments": "Parameters", "parameters": "Parameters", "params": "Parameters",
    "keyword arguments": "Parameters", "returns": "Returns", "return": "Returns", "yields": "Returns",
    "example": "Examples", "examples": "Examples",
}
_SECTION_LINE = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]*?)(?::\s*$|\n[-=]{3,}\s*$)", re.M)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a line (else word) boundary when one is near."""
    text = text.strip()
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[:limit].decode("utf-8", errors="ignore")
    for boundary in ("\n\n", "\n", " "):
        at = cut.rfind(boundary)
        if at > limit // 2:
            return cut[:at].rstrip()
    return cut.rstrip()


def docstring_sections(docstring: str) -> list[tuple[str, str]]:
    """``(heading, text)`` parts of a docstring: ``Summary`` (text before any section), then the
    Google / NumPy sections that the reference outline has, renamed to its headings."""
    parts: list[tuple[str, str]] = []
    cuts = [(m.start(), m.end(), m.group("name").strip().lower()) for m in _SECTION_LINE.finditer(docstring)]
    cuts = [c for c in cuts if c[2] in _DOCSTRING_SECTIONS or c[2] in ("raises", "notes", "see also", "attributes")]
    summary_end = cuts[0][0] if cuts else len(docstring)
    parts.append(("Summary", docstring[:summary_end].strip()))
    for index, (_, end, name) in enumerate(cuts):
        stop = cuts[index + 1][0] if index + 1 < len(cuts) else len(docstring)
        if name in _DOCSTRING_SECTIONS:
            parts.append((_DOCSTRING_SECTIONS[name], docstring[end:stop].strip("\n")))
    return [(heading, text) for heading, text in parts if len(text.strip()) >= 20]


@dataclass
class GroundedWriter:
    """Writes grounded documents; remembers passages of groups already seen, for distractors."""

    labels: dict[str, str]
    distractors: list[tuple[str, Snippet]] = field(default_factory=list)

    def _document(self, doc: str, topic: str, kind: str, language: str, heading: str, body: str,
                  related: Sequence[Snippet], group: str) -> tuple[str, str]:
        rng = random.Random(stable_hash("context:" + doc))
        others = [s for g, s in self.distractors if g != group]
        picked = rng.sample(others, min(len(others), rng.choice((1, 2)))) if related else []
        context = [*related, *picked]
        rng.shuffle(context)
        prompt = section_prompt(topic, self.labels[kind], language, heading, context=context)
        return doc, prompt + clip(body, TARGET_BYTES) + "\n"

    def _remember(self, group: str, snippets: Sequence[Snippet]) -> None:
        for snippet in snippets[:8]:
            index = len(self.distractors)
            if index < DISTRACTOR_POOL:
                self.distractors.append((group, snippet))
            else:
                self.distractors[stable_hash(snippet.source) % DISTRACTOR_POOL] = (group, snippet)

    def section_documents(self, pages: Sequence[Page], api: Sequence[Snippet] = ()) -> Iterator[tuple[str, str]]:
        """``(doc, text)`` per section of each page (up to a few a page), grounded in the group's
        other pages and its API; ``pages`` and ``api`` are one group's."""
        if not pages:
            return
        group = pages[0].group
        pool: list[tuple[str | None, Snippet]] = [
            (page.doc, Snippet(f"{_page_path(page)}#{slugify(heading)}", heading, clip(text, PASSAGE_BYTES)))
            for page in pages for heading, text in page.sections
        ] + [(None, snippet) for snippet in api]
        ranker = Ranker([f"{s.title}\n{s.text}" for _, s in pool])
        self._remember(group, [s for _, s in pool])
        for page in pages:
            targets = [(h, t) for h, t in page.sections if len(t.encode("utf-8")) >= MIN_TARGET_BYTES]
            for heading, text in targets[:MAX_SECTIONS_PER_PAGE]:
                hits = ranker.top(f"{page.title} {heading}", RETRIEVED, keep=lambda i, own=page.doc: pool[i][0] != own)
                yield self._document(f"{page.doc}#{slugify(heading)}", page.title, page.kind, page.language,
                                     heading, text, [pool[i][1] for i in hits], group)

    def api_documents(self, doc: str, module: str, source: str, group: str) -> Iterator[tuple[str, str]]:
        """``(doc, text)`` per docstring section of each documented function of a module, with its
        signature and code as context (see the module docstring)."""
        docs = python_docs(source)
        if docs is None:
            return
        definitions = [d for d in docs[1] if d.docstring and not d.is_class and d.node.name != "__init__"]
        snippets = [api_snippet(module, d) for d in definitions]
        ranker = Ranker([f"{s.title}\n{s.text}" for s in snippets])
        self._remember(group, snippets)
        for index, definition in enumerate(definitions):
            code = code_without_docstring(source, definition, MAX_CODE_LINES)
            if not code:
                continue
            own = Snippet(f"api:{module}.{definition.qualname}", f"{module}.{definition.qualname}",
                          f"```python\n{code}\n```")
            hits = ranker.top(definition.qualname.replace(".", " ") + " " + definition.docstring[:200], 2,
                              keep=lambda i, index=index: i != index)
            for heading, text in docstring_sections(definition.docstring)[:2]:
                yield self._document(f"{doc}#{definition.qualname}#{slugify(heading)}",
                                     f"The {module}.{definition.qualname}() function", REFERENCE, "en", heading,
                                     text, [own, *(snippets[i] for i in hits)], group)


def api_snippet(module: str, definition) -> Snippet:
    """An ``api:`` passage of a documented definition: its signature and the docstring's summary."""
    summary = definition.docstring.split("\n\n", 1)[0]
    return Snippet(f"api:{module}.{definition.qualname}", f"{module}.{definition.qualname}",
                   clip(f"`{definition.signature}`\n\n{summary}", PASSAGE_BYTES))


def _page_path(page: Page) -> str:
    """The page's path inside its group: its id without the ``source:root/`` prefix."""
    return page.doc.split(":", 1)[-1].split("/", 1)[-1]
