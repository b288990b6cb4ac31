"""Text-level stop rules and clean-up for generated Markdown (pure functions, no torch)."""

from __future__ import annotations

import re
from collections.abc import Iterator

_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_REPEAT_RUN_RE = re.compile(r"(.{1,12}?)\1{4,}", re.DOTALL)
_WORD_RE = re.compile(r"\w+|[^\w\s]+")

_MIN_MEANINGFUL_CHARS = 12
_MIN_LINE_CHARS = 4
_NGRAM = 3


def _fence_opener(line: str) -> str | None:
    """The fence marker (a run of 3+ backticks or tildes) if ``line`` opens a fenced code block."""
    match = _FENCE_RE.match(line)
    if match is None:
        return None
    marker, info = match.groups()
    if marker[0] == "`" and "`" in info:  # a backtick fence's info string may not contain backticks
        return None
    return marker


def _closes(line: str, opener: str) -> bool:
    """Whether ``line`` closes a block opened by ``opener`` (same char, as long or longer)."""
    match = _FENCE_RE.match(line)
    if match is None:
        return False
    marker, rest = match.groups()
    return marker[0] == opener[0] and len(marker) >= len(opener) and not rest.strip()


def _next_fence_state(line: str, opener: str | None) -> str | None:
    """The open fence after ``line``, given the open fence before it."""
    if opener is None:
        return _fence_opener(line)
    return None if _closes(line, opener) else opener


def _walk(text: str, opener: str | None = None) -> Iterator[tuple[int, str, str | None]]:
    """Yield ``(offset, line, open_fence_before_line)`` for each line of ``text``.

    ``opener`` is the fence the text starts inside of (None: outside any fence).
    """
    offset = 0
    for line in text.split("\n"):
        yield offset, line, opener
        opener = _next_fence_state(line, opener)
        offset += len(line) + 1


def open_fence(text: str, opener: str | None = None) -> str | None:
    """The marker of the fenced code block ``text`` ends inside of, or None."""
    for line in text.split("\n"):
        opener = _next_fence_state(line, opener)
    return opener


def truncate_at_heading(text: str, level: int, opener: str | None = None) -> str | None:
    """``text`` cut before its first ATX heading of level <= ``level`` outside code fences.

    ``opener``: the fence ``text`` starts inside of. Returns None when there is no such heading.
    """
    for offset, line, fence in _walk(text, opener):
        if fence is None:
            match = _HEADING_RE.match(line)
            if match and len(match.group(1)) <= level:
                return text[:offset]
    return None


def truncate_at_closing_fence(text: str, opener: str = "```") -> str | None:
    """``text`` (which starts inside a block opened by ``opener``) cut before its closing fence.

    Returns None when the block is not closed in ``text``.
    """
    for offset, line, fence in _walk(text, opener):
        if fence is not None and _closes(line, fence):
            return text[:offset]
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
