"""Parsing TOML, YAML and JSON text into nested dictionaries."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomllib

from tidyconf.errors import ParseError

FORMATS = ("toml", "yaml", "json")
EXTENSIONS = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def format_for(path: str | Path, format: str | None = None) -> str:
    """Choose the format of a file: `format` when given, else from the extension.

    Args:
        path: The file's path.
        format: ``"toml"``, ``"yaml"`` or ``"json"``, or `None` to use the extension.

    Returns:
        One of ``"toml"``, ``"yaml"``, ``"json"``.

    Raises:
        ValueError: If `format` is unknown, or is omitted and the extension is not one
            of ``.toml``, ``.yaml``, ``.yml``, ``.json``.

    Examples:
        >>> from tidyconf.formats import format_for
        >>> format_for("deploy/app.yml"), format_for("shop.conf", "toml")
        ('yaml', 'toml')
    """
    if format is not None:
        if format not in FORMATS:
            raise ValueError(f"{path}: unknown format {format!r}; use one of {', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(f"{path}: cannot tell the format from the extension; pass format='toml', 'yaml' or 'json'")
    return EXTENSIONS[suffix]


def parse(text: str, format: str, name: str) -> dict[str, Any]:
    """Parse configuration text whose top level must be a table.

    Args:
        text: The file's contents.
        format: ``"toml"``, ``"yaml"`` or ``"json"``.
        name: The file's name for error messages.

    Returns:
        The parsed nested mapping; an empty YAML file gives an empty dict.

    Raises:
        ParseError: If the text is not valid in that format, or its top level is not a
            mapping.
        ModuleNotFoundError: If `format` is ``"yaml"`` and PyYAML is not installed.

    Examples:
        >>> from tidyconf.formats import parse
        >>> parse('[server]\\nport = 8080\\n', "toml", "config.toml")
        {'server': {'port': 8080}}
    """
    data = _PARSERS[format](text, name)
    if not isinstance(data, dict):
        raise ParseError(name, None, f"the top level must be a mapping, not {type(data).__name__}")
    return data


def _parse_toml(text: str, name: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_POSITION.search(message)
        line = int(found.group(1)) if found else None
        message = _TOML_POSITION.sub("", message).replace(" in a key/value pair", "")
        raise ParseError(name, line, message[:1].lower() + message[1:]) from None


def _parse_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(name, exc.lineno, exc.msg[:1].lower() + exc.msg[1:]) from None


def _parse_yaml(text: str, name: str) -> Any:
    yaml = yaml_module()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ParseError(name, mark.line + 1 if mark else None, problem) from None
    return {} if data is None else data


def yaml_module() -> Any:
    """Import PyYAML, which the ``yaml`` extra installs.

    Returns:
        The `yaml` module.

    Raises:
        ModuleNotFoundError: If PyYAML is not installed, with the command that installs it.

    Examples:
        >>> from tidyconf.formats import yaml_module
        >>> yaml_module().__name__
        'yaml'
    """
    try:
        import yaml
    except ModuleNotFoundError:
        raise ModuleNotFoundError('YAML needs PyYAML: pip install "tidyconf[yaml]"', name="yaml") from None
    return yaml


_PARSERS: dict[str, Callable[[str, str], Any]] = {"toml": _parse_toml, "yaml": _parse_yaml, "json": _parse_json}
