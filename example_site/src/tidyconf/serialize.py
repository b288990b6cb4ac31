"""`dump`: configuration written back as TOML, JSON or YAML text."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import date, time, timedelta
from pathlib import PurePath
from typing import Any, Literal

from tidyconf.formats import FORMATS, yaml_module
from tidyconf.secret import Secret

Comment = Callable[[tuple[str, ...]], "str | None"]
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def dump(
    config: Any,
    *,
    format: Literal["toml", "json", "yaml"] = "toml",
    reveal_secrets: bool = False,
) -> str:
    """Serialise configuration back to text.

    `Secret` values are written as ``"***"`` unless `reveal_secrets` is true, so the
    output is safe to log by default. Paths become strings, durations strings such as
    ``"5m"`` and enums their values, so loading the text again with the same schema gives
    an equal configuration. TOML has no null: keys whose value is `None` are left out.

    Args:
        config: A schema instance (as returned by `load()`), a `Merged` object or any
            plain mapping.
        format: ``"toml"``, ``"json"`` or ``"yaml"`` (YAML needs the ``yaml`` extra).
        reveal_secrets: Write `Secret` values in clear text.

    Returns:
        The text, ending with a newline.

    Raises:
        TypeError: If `config` is neither a dataclass instance nor a mapping, or holds a
            value the format cannot write.
        ValueError: If `format` is unknown.
        ModuleNotFoundError: If `format` is ``"yaml"`` and PyYAML is not installed.

    Examples:
        >>> import tidyconf
        >>> print(tidyconf.dump({"server": {"port": 8080}, "token": tidyconf.Secret("abc")}), end="")
        token = "***"
        <BLANKLINE>
        [server]
        port = 8080
        >>> print(tidyconf.dump({"debug": True}, format="json"), end="")
        {
          "debug": true
        }
    """
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)) and not isinstance(config, Mapping):
        raise TypeError(f"dump() takes a schema instance or a mapping, not {type(config).__name__}")
    return render(to_plain(config, reveal_secrets), format)


def to_plain(value: Any, reveal_secrets: bool = False) -> Any:
    """Turn configuration into dictionaries, lists and scalars every format can write.

    Args:
        value: A dataclass instance, mapping, sequence or scalar.
        reveal_secrets: Keep `Secret` values in clear text instead of ``"***"``.

    Returns:
        The plain data.

    Examples:
        >>> from datetime import timedelta
        >>> from tidyconf.serialize import to_plain
        >>> to_plain({"ttl": timedelta(minutes=5), "hosts": ("a",)})
        {'ttl': '5m', 'hosts': ['a']}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_plain(getattr(value, field.name), reveal_secrets) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): to_plain(item, reveal_secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item, reveal_secrets) for item in value]
    if isinstance(value, Secret):
        return value.reveal() if reveal_secrets else "***"
    if isinstance(value, enum.Enum):
        return to_plain(value.value, reveal_secrets)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, timedelta):
        return _duration(value)
    return value


def render(data: dict[str, Any], format: str, comment: Comment | None = None) -> str:
    """Write plain data in a format, optionally annotating every value.

    Args:
        data: Plain data, as `to_plain` returns it.
        format: ``"toml"``, ``"json"`` or ``"yaml"``.
        comment: Called with each value's key path; what it returns is written as a
            comment after the value (TOML, YAML) or as an ``"origin"`` next to it (JSON).

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: If `format` is unknown.

    Examples:
        >>> from tidyconf.serialize import render
        >>> print(render({"port": 8080}, "toml", comment=lambda path: "env"), end="")
        port = 8080  # env
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    if format == "json":
        shown = _with_origins(data, (), comment) if comment else data
        return json.dumps(shown, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    lines: list[str] = []
    (_toml_table if format == "toml" else _yaml_table)(data, (), comment, lines)
    return "\n".join(lines).strip("\n") + "\n"


def _duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit, size in _UNITS:
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds}s"


def _json_default(value: Any) -> str:
    if isinstance(value, (date, time)):
        return value.isoformat()
    raise TypeError(f"JSON cannot hold {type(value).__name__}")


def _with_origins(value: Any, path: tuple[str, ...], comment: Comment) -> Any:
    if isinstance(value, dict):
        return {key: _with_origins(item, (*path, key), comment) for key, item in value.items()}
    return {"value": value, "origin": comment(path)}


def _suffix(comment: Comment | None, path: tuple[str, ...]) -> str:
    note = comment(path) if comment else None
    return f"  # {note}" if note else ""


def _toml_table(table: dict, path: tuple[str, ...], comment: Comment | None, lines: list[str],
                where: tuple[str, ...] | None = None, header: bool = True) -> None:
    """Write a table; `path` names its headers, `where` (default `path`) its values' comments."""
    where = path if where is None else where
    tables = {key: value for key, value in table.items() if isinstance(value, dict)}
    arrays = {key: value for key, value in table.items() if _is_table_array(value)}
    values = {key: value for key, value in table.items() if key not in tables and key not in arrays and value is not None}
    if header and path and (values or not tables and not arrays):
        lines += ["", f"[{'.'.join(map(_toml_key, path))}]"]
    for key, value in values.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}{_suffix(comment, (*where, key))}")
    for key, value in tables.items():
        _toml_table(value, (*path, key), comment, lines, (*where, key))
    for key, items in arrays.items():
        for index, item in enumerate(items):
            lines += ["", f"[[{'.'.join(map(_toml_key, (*path, key)))}]]"]
            _toml_table(item, (*path, key), comment, lines, (*where, key, str(index)), header=False)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(key)} = {_toml_value(item)}" for key, item in value.items() if item is not None)
        return "{ " + inner + " }" if inner else "{}"
    if value is None:
        raise TypeError("TOML has no null, so a list cannot hold None")
    raise TypeError(f"TOML cannot hold {type(value).__name__}")


def _yaml_table(table: dict, path: tuple[str, ...], comment: Comment | None, lines: list[str]) -> None:
    indent = "  " * len(path)
    for key, value in table.items():
        if isinstance(value, dict) and value:
            lines.append(f"{indent}{_yaml_flow(key)}:")
            _yaml_table(value, (*path, key), comment, lines)
        else:
            lines.append(f"{indent}{_yaml_flow(key)}: {_yaml_flow(value)}{_suffix(comment, (*path, key))}")


def _yaml_flow(value: Any) -> str:
    text = yaml_module().safe_dump(value, default_flow_style=True, allow_unicode=True, width=2**31, sort_keys=False)
    return text.removesuffix("\n").removesuffix("\n...").strip()
