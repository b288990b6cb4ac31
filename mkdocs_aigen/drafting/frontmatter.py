"""The ``aigen:`` front-matter schema of stub pages, validated into a :class:`StubSpec`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import yaml

from mkdocs_aigen.errors import FrontMatterError
from mkdocs_aigen.markdown import front_matter, heading_key, slugify, split_sections
from mkdocs_aigen.markers import defuse

NO_CODE = "none"
DEFAULT_KIND = "how-to"
DEFAULT_CODE = "python"
ALLOWED_KEYS = ("topic", "kind", "sections", "code", "notes", "object")
MAX_FRONT_MATTER = 256 * 1024
"""Characters of YAML a stub's front-matter may hold."""
MAX_VALUES = 10_000
"""Values (scalars, lists, mappings) a front-matter may expand to, counting each alias use."""
MAX_CHARS = {"topic": 500, "kind": 100, "code": 100, "notes": 10_000, "sections": 200, "object": 200}
MAX_SECTIONS = 50
MAX_DEPTH = 50
"""Nesting levels of lists and mappings (deeper nesting makes the YAML scanner slow, then recurse too deep)."""
QUOTED = 80
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 (but tab and newline), DEL, C1
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", re.ASCII)


@dataclass(frozen=True)
class StubSpec:
    """What an author asked for: a topic, a page kind and optional outline, code language, notes."""

    topic: str
    kind: str = DEFAULT_KIND
    sections: tuple[str, ...] | None = None
    code: str = DEFAULT_CODE
    notes: str = ""
    language: str = "en"  # the page's language (``lang``/``locale``, else ``theme.language``)
    object: str | None = None  # the API object a reference page documents, e.g. "tidyconf.dump"

    @property
    def wants_code(self) -> bool:
        return self.code != NO_CODE


def front_matter_text(text: str) -> str:
    """The raw YAML of the front-matter ("" when there is none), without parsing it."""
    block = front_matter(text)
    return block[0] if block else ""


def split_front_matter(text: str, source: str = "page") -> tuple[dict[str, Any], int]:
    """Return the YAML front-matter of a Markdown file and the offset where its body starts.

    A file without front-matter yields ``({}, 0)``. YAML that is invalid, not a mapping, over
    :data:`MAX_FRONT_MATTER` characters, nested deeper than :data:`MAX_DEPTH`, expanding (through
    aliases) past :data:`MAX_VALUES` values, or holding a lone surrogate raises
    :class:`FrontMatterError`. (The safe loader shares an aliased value rather than copying it
    and merges each key once, so loading stays linear.)
    """
    block = front_matter(text)
    if block is None:
        return {}, 0
    yaml_text, body_start = block
    if len(yaml_text) > MAX_FRONT_MATTER:
        raise _error(source, "front-matter", f"{len(yaml_text)} characters, over the limit of {MAX_FRONT_MATTER}",
                     "move long text into the page body")
    try:
        data = yaml.load(yaml_text, Loader=_ShallowLoader) or {}
    except (yaml.YAMLError, ValueError, OverflowError) as error:  # the constructors raise all
        problem = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise _error(source, "front-matter", f"invalid YAML ({_clip(problem)})", "fix the YAML") from None
    if not isinstance(data, dict):
        raise _error(source, "front-matter", "is not a YAML mapping", "write 'key: value' lines")
    _check_values(data, source)
    return data, body_start


def parse_stub_spec(meta: dict[str, Any], source: str, kinds: Iterable[str]) -> StubSpec | None:
    """Validate ``meta["aigen"]``; ``None`` when the page is no stub.

    ``source`` names the file in error messages, which read ``<file>: aigen.<key>: <problem>; <fix>``
    and quote at most :data:`QUOTED` characters of a value. Every value is checked (type, length,
    characters) before anything formats it.
    """
    if "aigen" not in meta:
        return None
    block = meta["aigen"]
    if not isinstance(block, dict):
        raise _error(source, "aigen", "must be a mapping", "write it as 'aigen: {topic: \"...\"}'")
    unknown = sorted(_clip(str(key)) for key in block if key not in ALLOWED_KEYS)
    if unknown:
        raise _error(source, f"aigen.{unknown[0]}", "unknown key", f"use only {', '.join(ALLOWED_KEYS)}")
    topic = _string(block, "topic", source, required=True)
    kind = _string(block, "kind", source, one_line=True) or DEFAULT_KIND
    known = sorted(kinds)
    if kind not in known:
        raise _error(
            source, "aigen.kind", f"unknown kind {_quote(kind)}",
            f"use one of {', '.join(known)} or add '{_clip(kind)}.md.j2' to templates_dir",
        )
    code = (_string(block, "code", source, one_line=True) or DEFAULT_CODE).lower()
    if not re.fullmatch(r"[a-z0-9_+#.-]+", code):
        raise _error(source, "aigen.code", f"{_quote(code)} is not a language name", "write e.g. python, yaml or none")
    return StubSpec(
        topic=topic,
        kind=kind,
        sections=_sections(block, source),
        code=code,
        notes=_string(block, "notes", source) or "",
        object=_object(block, source),
    )


def _object(block: dict, source: str) -> str | None:
    name = _string(block, "object", source, one_line=True)
    if name is not None and not _DOTTED_NAME.fullmatch(name):
        raise _error(source, "aigen.object", f"{_quote(name)} is not a dotted name", "write e.g. 'package.function'")
    return name


class _ShallowLoader(yaml.SafeLoader):
    """The safe loader, refusing lists and mappings nested deeper than :data:`MAX_DEPTH`."""

    def fetch_flow_collection_start(self, TokenClass) -> None:
        self._check_depth(self.flow_level)
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column: int) -> bool:
        self._check_depth(len(self.indents))
        return super().add_indent(column)

    def _check_depth(self, depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise yaml.scanner.ScannerError(None, None, f"nested deeper than {MAX_DEPTH} levels", self.get_mark())


def _check_values(data: dict, source: str) -> None:
    """Walk the values as a tree (each use of an alias counts), stopping past :data:`MAX_VALUES`;
    lone surrogates cannot be encoded (in a cache key, a log line, the built page), so they are
    refused too. Errors name the key at most two levels deep."""
    budget = MAX_VALUES
    pending: list[tuple[str, int, Any]] = [(_clip(str(key)), 1, key) for key in data]
    pending += [(_clip(str(key)), 1, value) for key, value in data.items()]
    while pending:
        name, depth, value = pending.pop()
        budget -= 1
        if budget < 0:
            raise _error(source, name, f"expands (through aliases) past {MAX_VALUES} values", "remove the aliases")
        if isinstance(value, str) and _SURROGATE.search(value):
            raise _error(source, name, "holds a lone surrogate (not valid Unicode)", "remove the \\ud8xx escape")
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            child = f"{name}.{_clip(str(key))}" if depth < 2 else name
            pending += [(child, depth + 1, key), (child, depth + 1, item)]


def _string(block: dict, key: str, source: str, required: bool = False, one_line: bool = False) -> str | None:
    value = block.get(key)
    if value is None:
        if required:
            raise _error(source, f"aigen.{key}", "is required", f"add '{key}: \"...\"' under 'aigen:'")
        return None
    return _text(value, f"aigen.{key}", source, MAX_CHARS[key], one_line)


def _text(value: Any, key: str, source: str, limit: int, one_line: bool) -> str:
    """A non-empty string of at most ``limit`` characters without control characters, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise _error(source, key, f"must be a non-empty string, got {_quote(value)}", "write some text, quoted")
    if len(value) > limit:
        raise _error(source, key, f"is {len(value)} characters long, over the limit of {limit}", "shorten it")
    control = _CONTROL.search(value) or (one_line and re.search(r"[\t\n]", value.strip()))
    if control:
        raise _error(source, key, f"holds the control character {control.group()!r}", "remove it")
    return value.strip()


def _sections(block: dict, source: str) -> tuple[str, ...] | None:
    value = block.get("sections")
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise _error(source, "aigen.sections", "must be a non-empty list of headings",
                     "write e.g. '[Overview, Example]'")
    if len(value) > MAX_SECTIONS:
        raise _error(source, "aigen.sections", f"lists {len(value)} headings, over the limit of {MAX_SECTIONS}",
                     "split the page")
    headings: dict[str, str] = {}
    for index, item in enumerate(value):
        key = f"aigen.sections[{index}]"
        heading = _text(item, key, source, MAX_CHARS["sections"], one_line=True)
        if not _reads_back(heading):
            raise _error(source, key, f"{_quote(heading)} does not read back as a heading",
                         "leave out trailing '#', leading '='/'-' rules and '<!--'")
        slug = slugify(heading)
        if slug in headings:
            raise _error(source, key, f"{_quote(heading)} repeats {_quote(headings[slug])} (both are #{_clip(slug)})",
                         "give each section a distinct heading")
        headings[slug] = heading
    return tuple(headings.values())


def _reads_back(heading: str) -> bool:
    """Whether ``## heading`` is read back as the same heading (in drafts and the built page)."""
    _, sections = split_sections(f"## {heading}\n")
    return defuse(heading) == heading and [s.key for s in sections] == [heading_key(heading)]


def _clip(text: str) -> str:
    """At most :data:`QUOTED` characters of ``text``, control characters and surrogates escaped."""
    text = text if len(text) <= QUOTED else text[:QUOTED] + "…"
    return _UNPRINTABLE.sub(lambda match: repr(match.group())[1:-1], text)


def _quote(value: Any) -> str:
    """At most :data:`QUOTED` characters of a value, quoted; a non-string is named by its type."""
    if isinstance(value, str):
        return repr(_clip(value))
    if isinstance(value, (list, dict)):
        return f"a {type(value).__name__}"
    return _clip(repr(value))


def _error(source: str, key: str, problem: str, fix: str) -> FrontMatterError:
    return FrontMatterError(f"{source}: {key}: {problem}; {fix}")
