"""BM25 ranking of short texts with bm25s (ground floor: used by grounding and by ml's corpora).

bm25s does the ranking; this module only turns text into terms the way technical docs need:
identifiers split at ``.``/``_``/camelCase as well as kept whole, and CJK text (which has no spaces)
as single characters and bigrams, since bm25s' default tokenizer would read a Chinese sentence as one
word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|[0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have if in into is it its of on or that the this to was "
    "were will with you your can not no do does".split()
)


def terms(text: str) -> list[str]:
    """Index terms of ``text``: words and identifiers (whole and split), CJK unigrams and bigrams."""
    found: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        lowered = word.lower()
        if lowered not in STOPWORDS and len(lowered) > 1:
            found.append(lowered)
        if "." in word or "_" in word or not word.islower():
            parts = [p.lower() for piece in re.split(r"[._]", word) for p in _CAMEL.findall(piece)]
            found.extend(p for p in parts if len(p) > 1 and p != lowered and p not in STOPWORDS)
    for match in _CJK.finditer(text):
        run = match.group(0)
        found.extend(run)
        found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found


class Ranker:
    """A BM25 index over ``texts`` (bm25s); ``top`` returns indices into ``texts``, best first."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s

        self.size = len(texts)
        self._model = bm25s.BM25()
        corpus = [terms(text) or ["\0"] for text in texts]  # bm25s needs a term in every document
        if corpus:
            self._model.index(corpus, show_progress=False)

    def top(self, query: str, k: int, keep: Callable[[int], bool] = lambda index: True) -> list[int]:
        """Up to ``k`` indices with a positive score for ``query``, for which ``keep(index)`` holds."""
        query_terms = terms(query)
        if not self.size or not query_terms or k <= 0:
            return []
        scores = self._model.get_scores(query_terms)
        order = sorted(range(self.size), key=lambda i: (-scores[i], i))
        return [i for i in order if scores[i] > 0 and keep(i)][:k]
