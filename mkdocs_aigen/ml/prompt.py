"""The prompt shape, as plain Python: what ``templates/_prompt.md.j2`` renders, for the corpora.

The page-kind templates render prompts while drafting; the pretraining corpus
(:mod:`mkdocs_aigen.ml.grounded_corpus`) writes the same shape without Jinja. A test renders both
and pins them equal. Kinds of pages found in a tree are guessed from folder names
(:data:`KIND_BY_SEGMENT`); their labels come from the templates (``label``), passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# Path segments that decide the kind of an authored page, checked in this order.
KIND_BY_SEGMENT = (
    (("blog", "posts"), "blog-post"),
    (("reference",), "reference"),
    (("tutorials", "tutorial"), "tutorial"),
    (("guides", "guide", "how-to", "howto", "how-tos"), "how-to"),
)
FALLBACK_KIND = "explanation"


@dataclass(frozen=True)
class Snippet:
    """A context passage as the corpora write it (the fields of ``grounding.Passage``)."""

    source: str
    title: str
    text: str


def guess_kind(rel_path: str) -> str:
    """``blog-post`` / ``reference`` / ``tutorial`` / ``how-to`` from the path's folders, else ``explanation``."""
    folders = {part.lower() for part in rel_path.split("/")[:-1]}
    return next((kind for names, kind in KIND_BY_SEGMENT if folders & set(names)), FALLBACK_KIND)


def section_prompt(topic: str, label: str, language: str, heading: str, *, notes: str = "",
                   context: Sequence[Snippet] = ()) -> str:
    """The prompt of one section: header, notes, numbered context passages, then ``## heading``."""
    parts = [f"# {topic}\n\n*{label} · {language}*\n\n"]
    if notes:
        parts.append(f"> Notes: {notes}\n\n")
    if context:
        parts.append("Context:\n\n")
        parts += [f"[{n}] {p.title} ({p.source})\n\n{p.text.strip()}\n\n" for n, p in enumerate(context, 1)]
    parts.append(f"## {heading}\n\n")
    return "".join(parts)
