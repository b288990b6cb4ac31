"""Context for one section: the best passages for its topic, heading and notes, within a token budget.

The page's own sections are never returned (a draft must not be fed the text it replaces, nor learn
to copy it in training). Code-sample sections get the package's signatures and usage snippets first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.grounding.index import IndexSources, PassageIndex, load_index
from mkdocs_aigen.grounding.inventory import Inventory
from mkdocs_aigen.safeio import atomic_write_text

PASSAGES = 4
BUDGET_TOKENS = 600  # all passages together: with the rest of the prompt, ~1024 tokens
PASSAGE_TOKENS = 200  # one passage at most
CODE_SOURCES = ("api:", "file:")
RANKINGS_FILE = "rankings.json"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)", re.MULTILINE)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: one token per CJK character, one per four other characters."""
    cjk = len(_CJK.findall(text))
    return cjk + (len(text) - cjk + 3) // 4


def trim(text: str, tokens: int) -> str:
    """``text`` cut to about ``tokens`` at a line (else word) boundary, with an opened fence closed."""
    if estimate_tokens(text) <= tokens:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix within the budget
        middle = (low + high + 1) // 2
        low, high = (middle, high) if estimate_tokens(text[:middle]) <= tokens else (low, middle - 1)
    cut = text[:low]
    for boundary in ("\n", " "):
        position = cut.rfind(boundary)
        if position > len(cut) // 2:
            cut = cut[:position]
            break
    cut = cut.rstrip() + " …"
    if len(_FENCE.findall(cut)) % 2:
        cut += "\n```"
    return cut + "\n"


class Retriever:
    """A :class:`~mkdocs_aigen.grounding.ContextProvider` over a :class:`.PassageIndex`.

    Rankings are remembered in ``memo`` (query → passage indices), so a warm build with the same index
    answers without building the bm25s index; ``fresh`` says whether new rankings were added.
    """

    def __init__(self, index: PassageIndex, k: int = PASSAGES, budget: int = BUDGET_TOKENS,
                 per_passage: int = PASSAGE_TOKENS, memo: dict[str, list[int]] | None = None) -> None:
        self.index, self.k, self.budget, self.per_passage = index, k, budget, per_passage
        self.memo = {} if memo is None else memo
        self.fresh = False

    def passages(self, page: str, topic: str, heading: str, notes: str, want_code: bool = False
                 ) -> tuple[Passage, ...]:
        """The best passages for a section of ``page`` (none of the page's own); with ``want_code``,
        signatures and snippets take at least half the places when there are any."""
        key = json.dumps([page, topic, heading, notes, want_code, self.k], ensure_ascii=False)
        order = self.memo.get(key)
        if order is None:
            order = self.memo[key] = self._rank(page, "\n".join(p for p in (topic, heading, notes) if p), want_code)
            self.fresh = True
        return self._within_budget([self.index.passages[i] for i in order])

    def _rank(self, page: str, query: str, want_code: bool) -> list[int]:
        passages, own = self.index.passages, f"{page}#"
        ranked = self.index.search(query, self.k * 3, lambda passage: not passage.source.startswith(own))
        if want_code:
            code = [i for i in ranked if passages[i].source.startswith(CODE_SOURCES)][:(self.k + 1) // 2]
            ranked = code + [i for i in ranked if i not in code]
        return ranked[:self.k]

    def _within_budget(self, ranked: list[Passage]) -> tuple[Passage, ...]:
        chosen, left = [], self.budget
        for passage in ranked:
            overhead = estimate_tokens(f"[{len(chosen) + 1}] {passage.title} ({passage.source})\n\n")
            allowance = min(self.per_passage, left - overhead)
            if allowance < 16:  # too little left for a useful passage
                break
            text = trim(passage.text, allowance)
            chosen.append(Passage(passage.source, passage.title, text))
            left -= overhead + estimate_tokens(text)
        return tuple(chosen)


@dataclass
class Grounding:
    """A site's grounding: the package's inventory (None without ``package``) and the retriever."""

    inventory: Inventory | None
    retriever: Retriever
    store_dir: Path
    rebuilt: bool  # whether this load (re)built the stored index

    def save(self) -> None:
        """Store new rankings with the index they rank (a warm build then needs no bm25s)."""
        if self.retriever.fresh:
            payload = {"digest": self.retriever.index.digest, "rankings": self.retriever.memo}
            atomic_write_text(self.store_dir / RANKINGS_FILE, json.dumps(payload, ensure_ascii=False))
            self.retriever.fresh = False


def load_grounding(docs_dir: Path, root: Path, package: str | None, paths: tuple[Path, ...], store_dir: Path
                   ) -> Grounding | None:
    """The grounding of a site, or None when there is nothing to ground in (no package, no authored
    text). Raises :class:`.InventoryError` when the package cannot be read."""
    index, rebuilt = load_index(IndexSources(docs_dir, root, package, paths), store_dir)
    if not index.passages:
        return None
    return Grounding(index.inventory, Retriever(index, memo=_stored_rankings(store_dir, index)), store_dir, rebuilt)


def _stored_rankings(store_dir: Path, index: PassageIndex) -> dict[str, list[int]]:
    try:
        payload = json.loads((store_dir / RANKINGS_FILE).read_text(encoding="utf-8"))
        rankings = payload["rankings"] if payload["digest"] == index.digest else {}
        if all(isinstance(v, list) and all(isinstance(i, int) and 0 <= i < len(index.passages) for i in v)
               for v in rankings.values()):
            return dict(rankings)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # missing or damaged: ranked again
        pass
    return {}
