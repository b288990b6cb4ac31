"""Names that exist: decoding after ``<package>.`` and in ``from <package>… import …`` is limited to
known dotted names (monitor-guided decoding, on text rather than token sequences).

BPE tokens do not align with name boundaries, so the constraint works on text. The current line (the
prompt's last line plus what was generated) decides the *state*: a node of a character trie over the
names when the line ends in a dotted chain that starts a name (``tidyconf.Con``), an import-list state
in ``from tidyconf import load, Con``, or free. A token is allowed when its text, walked through the
trie from that state, continues a name (a prefix of one, or a complete name followed by a character
that is not part of an identifier); a chain that leaves the trie before its package's first dot is
some other identifier and is free. Each state's mask over the vocabulary is computed once per
(names, tokenizer) and kept, so a decoding step costs a regex on one line and a dictionary look-up.

Only code is constrained: all of a code-sample request (``stop_at_fence``), and inside an open inline
code span in prose. In an import list only a token's first name is checked (tokens holding ``, name``
are rare in the vocabularies this runs with); ``import *`` is not offered.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

_FROM_IMPORT = re.compile(r"\s*from\s+([\w.]+)\s+import\b(.*)\Z")
_IMPORT_ITEMS = re.compile(r"\s*\(?\s*(?:\w+(?:\s+as\s+\w+)?\s*,\s*)*(\w*)\Z")
_BACKTICKS = re.compile(r"`+")
_FENCE_LINE = re.compile(r"\s{0,3}(```|~~~)")
_ITEM_START = " \t("


class _Node:
    __slots__ = ("children", "terminal", "constrained")

    def __init__(self, constrained: bool) -> None:
        self.children: dict[str, _Node] = {}
        self.terminal = False  # the path so far is a whole name
        self.constrained = constrained  # past the package's first dot: only names may follow


_FREE = None  # inside an identifier that is no package reference
_FREE_STATE = ("free",)


def _is_name_char(char: str) -> bool:
    return char == "." or char.isalnum() or char == "_"


class NameTrie:
    """A character trie over dotted names; positions after a name's first dot are constrained."""

    def __init__(self, names: frozenset[str]) -> None:
        self.root = _Node(False)
        for name in names:
            node = self.root
            for char in name:
                child = node.children.get(char)
                if child is None:
                    child = node.children[char] = _Node(node.constrained or char == ".")
                node = child
            node.terminal = True

    def find(self, text: str) -> _Node | None:
        node: _Node | None = self.root
        for char in text:
            node = node.children.get(char)
            if node is None:
                return None
        return node

    def walk(self, node: _Node | None, text: str) -> bool:
        """Whether ``text``, read from ``node`` (or free), never writes a name that does not exist."""
        for char in text:
            if _is_name_char(char):
                if node is _FREE:
                    continue
                child = node.children.get(char)
                if child is None and node.constrained:
                    return False
                node = child
            else:
                if node is not _FREE and node.constrained and not node.terminal:
                    return False
                node = self.root
        return True

    @staticmethod
    def walk_import(node: _Node, text: str, at_item_start: bool) -> bool:
        """Whether ``text`` continues one imported name from ``node`` (``from module import <here>``)."""
        if not text:  # a special token (end of text): the name must be whole
            return node.terminal
        position = 0
        if at_item_start:
            while position < len(text) and text[position] in _ITEM_START:
                position += 1
        while position < len(text) and (text[position].isalnum() or text[position] == "_"):
            node = node.children.get(text[position])
            if node is None:
                return False
            position += 1
        if position == len(text):
            return True
        return text[position] != "." and node.terminal


class NameConstraint:
    """Allowed next tokens for one set of names and one tokenizer (masks kept per state)."""

    def __init__(self, names: frozenset[str], token_texts: list[str]) -> None:
        self.trie = NameTrie(names)
        self.texts = token_texts
        self.free_ok = [self.trie.walk(_FREE, text) for text in token_texts]
        self.by_first: dict[str, list[int]] = defaultdict(list)
        self.name_first: list[int] = []  # tokens starting with a name character
        self.other_first: list[int] = []  # tokens starting with anything else, or empty (special tokens)
        for token, text in enumerate(token_texts):
            self.by_first[text[:1]].append(token)
            (self.name_first if text and _is_name_char(text[0]) else self.other_first).append(token)
        self._masks: dict[Any, Any] = {}

    def state(self, line: str, code: bool) -> Any:
        """The constraint state at the end of ``line``; None where nothing is constrained."""
        if not code:
            return None
        imported = _FROM_IMPORT.match(line)
        items = _IMPORT_ITEMS.match(imported[2]) if imported else None
        if items:  # in an import list (an alias, or text past the list, is read as chains)
            node = self.trie.find(f"{imported[1]}.{items[1]}")
            return None if node is None else ("import", node, not items[1])
        start = len(line)
        while start and _is_name_char(line[start - 1]):
            start -= 1
        node = self.trie.find(line[start:])
        return _FREE_STATE if node is None else ("chain", node)

    def mask(self, state: Any) -> Any:
        """The allowed tokens in ``state`` (a torch bool tensor), or None when all are allowed."""
        if state is None:
            return None
        if state not in self._masks:
            allowed = self._allowed(state)
            self._masks[state] = None if all(allowed) or not any(allowed) else _bool_tensor(allowed)
        return self._masks[state]

    def _allowed(self, state: Any) -> list[bool]:
        if state is _FREE_STATE:
            return list(self.free_ok)
        if state[0] == "import":
            _, node, at_item_start = state
            return [self.trie.walk_import(node, text, at_item_start) for text in self.texts]
        node = state[1]
        allowed = list(self.free_ok)
        if node.constrained:
            for token in self.name_first:
                allowed[token] = False
            if not node.terminal:
                for token in self.other_first:
                    allowed[token] = False
        for char in node.children:
            for token in self.by_first.get(char, ()):
                allowed[token] = self.trie.walk(node, self.texts[token])
        return allowed


def _bool_tensor(values: list[bool]) -> Any:
    import torch

    return torch.tensor(values, dtype=torch.bool)


def inside_code_span(line: str) -> bool:
    """Whether ``line`` ends inside an open inline code span (a fence line is not one)."""
    if _FENCE_LINE.match(line):
        return False
    opened: int | None = None
    for run in _BACKTICKS.finditer(line):
        width = len(run.group())
        if opened is None:
            opened = width
        elif width == opened:
            opened = None
    return opened is not None


class NameGuard:
    """One request's constraint: follows its line as tokens are generated and masks their scores."""

    def __init__(self, constraint: NameConstraint, prompt: str, all_code: bool) -> None:
        self.constraint = constraint
        self.all_code = all_code
        self.line = prompt[prompt.rfind("\n") + 1 :]
        self.seen = 0
        self._device_masks: dict[Any, Any] = {}

    def advance(self, new_ids: list[int]) -> None:
        """Append the text of the tokens generated since the last call to the current line."""
        texts = self.constraint.texts
        self.line += "".join(texts[token] if token < len(texts) else "" for token in new_ids[self.seen :])
        self.line = self.line[self.line.rfind("\n") + 1 :]
        self.seen = len(new_ids)

    def restrict(self, scores: Any, new_ids: list[int]) -> None:
        """Set the scores (one row, in place) of tokens that would write an unknown name to -inf."""
        self.advance(new_ids)
        state = self.constraint.state(self.line, self.all_code or inside_code_span(self.line))
        mask = self.constraint.mask(state)
        if mask is None:
            return
        key = (state, scores.device)
        if key not in self._device_masks:
            self._device_masks[key] = ~mask.to(scores.device)
        width = min(scores.shape[-1], mask.shape[0])
        scores[..., :width].masked_fill_(self._device_masks[key][:width], float("-inf"))
        if width < scores.shape[-1]:  # ids past the tokenizer's vocabulary (padded embeddings)
            scores[..., width:] = float("-inf")


_CONSTRAINTS: dict[tuple[frozenset[str], int], tuple[Any, NameConstraint]] = {}
_KEPT_CONSTRAINTS = 4


def name_guard(prompt: str, names: frozenset[str] | None, all_code: bool, tokenizer: Any) -> NameGuard | None:
    """A guard for one request (None when it has no ``names``); the constraint is shared per
    (names, tokenizer)."""
    if not names:
        return None
    key = (names, id(tokenizer))
    kept = _CONSTRAINTS.get(key)
    if kept is None or kept[0] is not tokenizer:
        while len(_CONSTRAINTS) >= _KEPT_CONSTRAINTS:
            _CONSTRAINTS.pop(next(iter(_CONSTRAINTS)))
        texts = [tokenizer.decode([token], skip_special_tokens=True) for token in range(len(tokenizer))]
        kept = _CONSTRAINTS[key] = (tokenizer, NameConstraint(names, texts))
    return NameGuard(kept[1], prompt, all_code)
