"""Secrets never reach a model: corpus text is scanned with detect-secrets' detectors and every
secret found is replaced by :data:`REDACTED`.

Used: detect-secrets' pattern detectors (cloud keys, tokens, private keys, credentials in URLs) and
its keyword detector (``password = "..."``), with its heuristic filters for placeholders such as
``"${PASSWORD}"``. Not used: the high-entropy detectors and the public-IP one, which flag hashes,
checksums and addresses that documentation is full of. A PEM private key is redacted whole, from its
``BEGIN`` line to its ``END`` line.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

REDACTED = "[REDACTED SECRET]"
_UNUSED_DETECTORS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"})
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.S)


# Every case-insensitive detector regex (the keyword detector's, and those for credentials next to a
# keyword or host) needs one of these words on the line, in any case: such regexes, slow on long
# texts, only run on the lines that hold one.
_HINT = re.compile("key|pw|pass|token|secret|contrase|cloudant|softlayer|xox|slack")

Detector = tuple[re.Pattern, Optional[int]]  # a regex and the group that is the secret (None: all of it)


@lru_cache(maxsize=1)
def _detectors() -> tuple[tuple[Detector, ...], tuple[Detector, ...]]:
    """(detectors run on the whole text, detectors run on hinted lines), compiled by detect-secrets."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.keyword import QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP

    found: list[Detector] = [(regex, None) for plugin in get_mapping_from_secret_type_to_class().values()
                             if plugin.__name__ not in _UNUSED_DETECTORS and issubclass(plugin, RegexBasedDetector)
                             for regex in plugin().denylist]
    found += QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP.items()  # what it runs on Markdown and unknown files
    return tuple(d for d in found if not d[0].flags & re.I), tuple(d for d in found if d[0].flags & re.I)


def _placeholder(secret: str, line: str) -> bool:
    """detect-secrets' filters for keyword hits that are no secret (``"${TOKEN}"``, ``"<password>"``)."""
    from detect_secrets.filters import heuristic

    return (heuristic.is_templated_secret(secret) or heuristic.is_prefixed_with_dollar_sign(secret)
            or heuristic.is_not_alphanumeric_string(secret) or heuristic.is_sequential_string(secret)
            or heuristic.is_indirect_reference(line))


def redact_secrets(text: str) -> tuple[str, int]:
    """``text`` with each secret replaced by :data:`REDACTED`, and how many were replaced."""
    text, count = _PEM_PRIVATE_KEY.subn(REDACTED, text)
    exact, hinted = _detectors()
    live = [detector for detector in exact if detector[0].search(text)]
    if not live and not _HINT.search(text.lower()):  # one pass of each regex over the whole text
        return text, count
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        detectors = live + list(hinted) if _HINT.search(line.lower()) else live
        spans = [span for regex, group in detectors for span in _secret_spans(regex, group, line)]
        if spans:
            lines[index], found = _replace(line, spans)
            count += found
    return "".join(lines), count


def _secret_spans(regex: re.Pattern, group: Optional[int], line: str) -> list[tuple[int, int]]:
    if group is None:
        return [match.span() for match in regex.finditer(line)]
    return [match.span(group) for match in regex.finditer(line) if not _placeholder(match.group(group), line)]


def _replace(line: str, spans: list[tuple[int, int]]) -> tuple[str, int]:
    """The line with the (possibly overlapping) spans replaced, one :data:`REDACTED` per merged span."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        line = line[:start] + REDACTED + line[end:]
    return line, len(merged)
