"""The ``aigen:`` front-matter schema of stub pages, validated into a :class:`StubSpec`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import yaml

from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.markdown import front_matter

NO_CODE = "none"
DEFAULT_KIND = "how-to"
DEFAULT_CODE = "python"
ALLOWED_KEYS = ("topic", "kind", "sections", "code", "notes")


@dataclass(frozen=True)
class StubSpec:
    """What an author asked for: a topic, a page kind and optional outline, code language, notes."""

    topic: str
    kind: str = DEFAULT_KIND
    sections: tuple[str, ...] | None = None
    code: str = DEFAULT_CODE
    notes: str = ""

    @property
    def wants_code(self) -> bool:
        return self.code != NO_CODE


def front_matter_text(text: str) -> str:
    """The raw YAML of the front-matter ("" when there is none), without parsing it."""
    block = front_matter(text)
    return block[0] if block else ""


def split_front_matter(text: str) -> tuple[dict[str, Any], int]:
    """Return the YAML front-matter of a Markdown file and the offset where its body starts.

    A file without front-matter yields ``({}, 0)``; YAML that is not a mapping raises ``ValueError``.
    """
    block = front_matter(text)
    if block is None:
        return {}, 0
    yaml_text, body_start = block
    data = yaml.safe_load(yaml_text) or {}
    if not isinstance(data, dict):
        raise ValueError("front-matter is not a YAML mapping")
    return data, body_start


def parse_stub_spec(meta: dict[str, Any], source: str, kinds: Iterable[str]) -> StubSpec | None:
    """Validate ``meta["aigen"]``; ``None`` when the page is no stub.

    ``source`` names the file in error messages, which read ``<file>: aigen.<key>: <problem>; <fix>``.
    """
    if "aigen" not in meta:
        return None
    block = meta["aigen"]
    if not isinstance(block, dict):
        raise _error(source, "aigen", "must be a mapping", "write it as 'aigen: {topic: \"...\"}'")
    unknown = sorted(set(map(str, block)) - set(ALLOWED_KEYS))
    if unknown:
        raise _error(source, f"aigen.{unknown[0]}", "unknown key", f"use only {', '.join(ALLOWED_KEYS)}")
    topic = _string(block, "topic", source, required=True)
    kind = _string(block, "kind", source) or DEFAULT_KIND
    known = sorted(kinds)
    if kind not in known:
        raise _error(
            source, "aigen.kind", f"unknown kind '{kind}'",
            f"use one of {', '.join(known)} or add '{kind}.md.j2' to templates_dir",
        )
    code = (_string(block, "code", source) or DEFAULT_CODE).lower()
    if not re.fullmatch(r"[a-z0-9_+#.-]+", code):
        raise _error(source, "aigen.code", f"'{code}' is not a language name", "write e.g. python, yaml or none")
    return StubSpec(
        topic=topic,
        kind=kind,
        sections=_sections(block, source),
        code=code,
        notes=_string(block, "notes", source) or "",
    )


def _string(block: dict, key: str, source: str, required: bool = False) -> str | None:
    value = block.get(key)
    if value is None:
        if required:
            raise _error(source, f"aigen.{key}", "is required", f"add '{key}: \"...\"' under 'aigen:'")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _error(source, f"aigen.{key}", f"must be a non-empty string, got {value!r}", "quote the value")
    return value.strip()


def _sections(block: dict, source: str) -> tuple[str, ...] | None:
    value = block.get("sections")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise _error(
            source, "aigen.sections", "must be a non-empty list of headings", "write e.g. '[Overview, Example]'"
        )
    return tuple(v.strip() for v in value)


def _error(source: str, key: str, problem: str, fix: str) -> FrontMatterError:
    return FrontMatterError(f"{source}: {key}: {problem}; {fix}")
