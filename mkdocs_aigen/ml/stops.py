"""Text-level stop rules and clean-up for generated Markdown (pure functions, no torch)."""

from __future__ import annotations

import re

from mkdocs_aigen.markdown import LineTracker, closes_fence, next_fence

_REPEAT_RUN_RE = re.compile(r"(.{1,12}?)\1{4,}", re.DOTALL)
_WORD_RE = re.compile(r"\w+|[^\w\s]+")

_MIN_MEANINGFUL_CHARS = 12
_MIN_LINE_CHARS = 4
_NGRAM = 3


def open_fence(text: str, opener: str | None = None) -> str | None:
    """The marker of the fenced code block ``text`` ends inside of, or None."""
    for line in text.split("\n"):
        opener = next_fence(line, opener)
    return opener


def truncate_at_heading(text: str, level: int, opener: str | None = None) -> str | None:
    """``text`` cut before its first top-level heading of level <= ``level`` (ATX, or setext once
    its underline line is complete), outside code fences.

    ``opener``: the fence ``text`` starts inside of. Returns None when there is no such heading.
    """
    feed = LineTracker(fence=opener).feed
    lines = text.split("\n")
    last = len(lines) - 1
    offset = 0
    for index, line in enumerate(lines):
        heading = feed(line, offset, index < last)
        if heading is not None and heading[0] <= level:
            return text[: heading[1]]
        offset += len(line) + 1
    return None


def truncate_at_closing_fence(text: str, opener: str = "```") -> str | None:
    """``text`` (which starts inside a block opened by ``opener``) cut before its closing fence.

    Returns None when the block is not closed in ``text``.
    """
    offset = 0
    for line in text.split("\n"):
        if closes_fence(line, opener):
            return text[:offset]
        offset += len(line) + 1
    return None


def close_open_fences(text: str, opener: str | None = None) -> str:
    """``text`` with a closing fence appended if it ends inside a fenced code block.

    ``opener``: the fence ``text`` starts inside of.
    """
    opener = open_fence(text, opener)
    if opener is None:
        return text
    separator = "" if text.endswith("\n") else "\n"
    return f"{text}{separator}{opener}\n"


def is_degenerate(text: str) -> bool:
    """Whether generated ``text`` is near-empty or mostly repetition (lines, word n-grams, runs)."""
    stripped = text.strip()
    if sum(ch.isalnum() for ch in stripped) < _MIN_MEANINGFUL_CHARS:
        return True
    lines = [line.strip() for line in stripped.split("\n")]
    lines = [line for line in lines if len(line) >= _MIN_LINE_CHARS]
    if len(lines) >= 4 and len(set(lines)) / len(lines) < 0.5:
        return True
    words = _WORD_RE.findall(stripped)
    ngrams = [tuple(words[i : i + _NGRAM]) for i in range(len(words) - _NGRAM + 1)]
    if len(ngrams) >= 12 and len(set(ngrams)) / len(ngrams) < 0.5:
        return True
    repeated = sum(
        len(match.group(0))
        for match in _REPEAT_RUN_RE.finditer(stripped)
        if any(ch.isalnum() for ch in match.group(1))
    )
    return repeated > len(stripped) / 2
