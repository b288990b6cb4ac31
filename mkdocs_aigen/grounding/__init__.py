"""Grounding: the facts a draft may draw on, as passages with source ids.

A :class:`ContextProvider` gives each section job its passages; the job carries them, the page-kind
templates render them as ``context``, and their digests join the draft's cache key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol, Sequence


@dataclass(frozen=True)
class Passage:
    """A piece of the site or of the documented package that a draft may draw on."""

    source: str  # where it comes from: "guides/caching.md#steps", "api:tidyconf.load", ...
    title: str
    text: str

    @property
    def digest(self) -> str:
        payload = "\0".join((self.source, self.title, self.text))
        return "sha256:" + hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


class ContextProvider(Protocol):
    """Passages for one section of one page (the page's own text excluded)."""

    def passages(self, page: str, topic: str, heading: str, notes: str) -> Sequence[Passage]: ...
