"""Code samples start from real usage: the first code in a section's passages, in the sample's language.

A drafted sample opens with lines that exist — a docstring example, a test, one of the site's own
snippets — and the model continues from there (adapting it to the section). A python continuation that
breaks the code is cut back to its longest prefix of whole lines that still compiles, so the real start
is never lost to a bad tail; what is left is still checked like any sample.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence

from mkdocs_aigen.grounding import Passage
from mkdocs_aigen.grounding.facts import PYTHON_LANGUAGES
from mkdocs_aigen.markdown import iter_fenced_blocks

MAX_START_LINES = 12


def usage_start(language: str, passages: Sequence[Passage]) -> str:
    """The real code a sample in ``language`` starts from: the first fenced block in that language
    among the passages, in their ranked order (tests and docstring examples are passages of fenced
    code, the site's own snippets sit inside its sections); "" when there is none."""
    python = language.lower() in PYTHON_LANGUAGES
    for passage in passages:
        for block in iter_fenced_blocks(passage.text, page=False):
            head = _head(block.code.strip("\n"), python) if block.language.lower() == language.lower() else ""
            if head.strip() and (not python or _compiles(head)):
                return head
    return ""


def valid_prefix(language: str, start: str, code: str) -> str:
    """``code`` (which begins with ``start``) cut back, for python, to its longest prefix of whole
    lines that compiles and still holds ``start``; other languages are returned unchanged."""
    if language.lower() not in PYTHON_LANGUAGES or not start or _compiles(code):
        return code
    lines = code.split("\n")
    floor = start.count("\n") + 1
    for end in range(len(lines) - 1, floor - 1, -1):
        candidate = "\n".join(lines[:end]).rstrip()
        if _compiles(candidate):
            return candidate
    return code


def _head(code: str, python: bool) -> str:
    """At most :data:`MAX_START_LINES` lines of ``code``; python cut where it still compiles."""
    lines = code.split("\n")
    if len(lines) <= MAX_START_LINES:
        return code
    for end in range(MAX_START_LINES, 0, -1):
        head = "\n".join(lines[:end]).rstrip()
        if not python or _compiles(head):
            return head
    return ""


def _compiles(code: str) -> bool:
    if not code.strip():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences in a snippet are not our concern
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
