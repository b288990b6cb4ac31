"""`validate`: merged raw data turned into an instance of a schema dataclass."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import json
import re
import types
import typing
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from tidyconf.constraints import Pattern, Range
from tidyconf.errors import MISSING, FieldError, ValidationError
from tidyconf.merging import Merged
from tidyconf.secret import Secret

T = TypeVar("T")
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_FAILED = object()


class _Invalid(Exception):
    """A value that cannot be converted; the message is the `FieldError.message`."""


def validate(data: Merged | Mapping[str, Any], schema: type[T], *, strict: bool = True) -> T:
    """Convert merged data into an instance of `schema`, collecting every problem.

    Values are converted only where nothing is lost: ``"8080"`` becomes ``8080`` for an
    `int` field, but ``1.5`` is never truncated and nothing is turned into a string. A
    `ValueError` raised in a dataclass's ``__post_init__`` becomes an error at that
    dataclass's path.

    Args:
        data: A `Merged` object (then each `FieldError.origin` names the layer that
            supplied the value) or any plain mapping (origins are `None`).
        schema: The dataclass to build.
        strict: Reject keys that do not correspond to a field.

    Returns:
        An instance of `schema`.

    Raises:
        ValidationError: If anything is missing, unknown or of the wrong type; it lists
            every problem.
        TypeError: If `schema` is not a dataclass or uses an unsupported annotation.

    Examples:
        >>> from dataclasses import dataclass
        >>> import tidyconf
        >>> @dataclass(frozen=True)
        ... class AppConfig:
        ...     name: str
        ...     workers: int = 4
        >>> tidyconf.validate({"name": "shop", "workers": "8"}, AppConfig)
        AppConfig(name='shop', workers=8)
    """
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise TypeError(f"schema must be a dataclass, not {schema!r}")
    check_schema(schema)
    run = _Run(data if isinstance(data, Merged) else None, strict)
    result = run.convert(data, schema, "")
    if run.errors:
        raise ValidationError(run.errors, schema)
    return result


def check_schema(annotation: Any, seen: frozenset = frozenset()) -> None:
    """Raise `TypeError` if an annotation (or a dataclass's fields) is not supported.

    Args:
        annotation: A type annotation or a dataclass.
        seen: Dataclasses already being checked (for recursive schemas).

    Raises:
        TypeError: Naming the first unsupported annotation.

    Examples:
        >>> from dataclasses import dataclass
        >>> from tidyconf.validation import check_schema
        >>> @dataclass
        ... class Bad:
        ...     callback: object
        >>> check_schema(Bad)
        Traceback (most recent call last):
        ...
        TypeError: Bad.callback: tidyconf cannot build <class 'object'>
    """
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        if annotation in seen:
            return
        for field, hint in _field_hints(annotation):
            try:
                check_schema(hint, seen | {annotation})
            except TypeError as exc:
                message = str(exc).split(": ", 1)[-1]
                raise TypeError(f"{annotation.__name__}.{field.name}: {message}") from None
        return
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return check_schema(args[0], seen)
    if origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
        return check_schema(next(arg for arg in args if arg is not type(None)), seen)
    if origin is list and len(args) == 1 or origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return check_schema(args[0], seen)
    if origin is dict and len(args) == 2 and args[0] is str:
        return check_schema(args[1], seen)
    if origin is typing.Literal or annotation in _SCALARS or isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return
    raise TypeError(f"tidyconf cannot build {annotation!r}")


def _field_hints(schema: type) -> list[tuple[dataclasses.Field, Any]]:
    try:
        hints = typing.get_type_hints(schema, include_extras=True)
    except NameError as exc:
        raise TypeError(f"{schema.__name__}: cannot resolve an annotation ({exc})") from None
    return [(field, hints[field.name]) for field in dataclasses.fields(schema) if field.init]


class _Run:
    """One validation: the origins to cite and the errors found so far."""

    def __init__(self, merged: Merged | None, strict: bool) -> None:
        self.merged = merged
        self.strict = strict
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str, value: Any) -> object:
        origin = None
        if self.merged is not None and value is not MISSING:
            try:
                origin = self.merged.origin(path)
            except KeyError:
                origin = None
        self.errors.append(FieldError(path, message, value, origin))
        return _FAILED

    def convert(self, value: Any, annotation: Any, path: str) -> Any:
        """Return the converted value, or `_FAILED` after recording why."""
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is typing.Annotated:
            return self._constrained(value, args, path)
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            return self._dataclass(value, annotation, path)
        if origin in (typing.Union, types.UnionType):
            inner = next(arg for arg in args if arg is not type(None))
            return None if value is None else self.convert(value, inner, path)
        if origin in (list, tuple):
            return self._sequence(value, args[0], path, origin)
        if origin is dict:
            return self._mapping(value, args[1], path)
        try:
            return _scalar(value, annotation)
        except _Invalid as exc:
            shown = Secret("***") if annotation is Secret else value
            return self.fail(path, str(exc), shown)

    def _constrained(self, value: Any, args: tuple, path: str) -> Any:
        result = self.convert(value, args[0], path)
        if result is _FAILED:
            return result
        for marker in args[1:]:
            if isinstance(marker, (Range, Pattern)) and (problem := marker.problem(result)):
                return self.fail(path, problem, value)
        return result

    def _sequence(self, value: Any, item_type: Any, path: str, kind: type) -> Any:
        if isinstance(value, str):
            value = _split_list(value)
        if not isinstance(value, (list, tuple)):
            return self.fail(path, f"expected a list, got {value!r}", value)
        items = [self.convert(item, item_type, _join(path, str(index))) for index, item in enumerate(value)]
        return _FAILED if _FAILED in items else kind(items)

    def _mapping(self, value: Any, item_type: Any, path: str) -> Any:
        if isinstance(value, str) and value.lstrip().startswith("{"):
            value = _json(value, dict)
        if not isinstance(value, Mapping):
            return self.fail(path, f"expected a table, got {value!r}", value)
        items = {str(key): self.convert(item, item_type, _join(path, str(key))) for key, item in value.items()}
        return _FAILED if _FAILED in items.values() else items

    def _dataclass(self, value: Any, schema: type, path: str) -> Any:
        if not isinstance(value, Mapping):
            return self.fail(path, f"expected a table, got {value!r}", value)
        fields = {field.name: (field, hint) for field, hint in _field_hints(schema)}
        given = _by_field(value)
        arguments, failed = {}, False
        for name, (field, hint) in fields.items():
            if name in given:
                arguments[name] = self.convert(given[name][1], hint, _join(path, given[name][0]))
                failed |= arguments[name] is _FAILED
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                if isinstance(hint, type) and dataclasses.is_dataclass(hint):
                    arguments[name] = self.convert({}, hint, _join(path, name))
                    failed |= arguments[name] is _FAILED
                else:
                    self.fail(_join(path, name), "missing required key", MISSING)
                    failed = True
        for name, (key, raw) in given.items():
            if name not in fields and self.strict:
                self.fail(_join(path, key), _unknown_key(name, list(fields)), raw)
                failed = True
        if failed:
            return _FAILED
        try:
            return schema(**arguments)
        except ValueError as exc:
            return self.fail(path, str(exc), arguments)


def _by_field(value: Mapping) -> dict[str, tuple[str, Any]]:
    """The raw values by field name (a dash in a key counts as an underscore), with their keys."""
    return {str(key).replace("-", "_"): (str(key), item) for key, item in value.items()}


def _unknown_key(name: str, names: list[str]) -> str:
    """The unknown-key message, suggesting the field the key most likely meant."""
    head = name.rsplit("_", 1)[-1]
    same_head = [field for field in names if head in field.split("_")]
    guesses = same_head if len(same_head) == 1 else difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"unknown key; did you mean {guesses[0]!r}?" if guesses else "unknown key"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _split_list(text: str) -> Any:
    if text.lstrip().startswith("["):
        return _json(text, list)
    return [item.strip() for item in text.split(",")] if text.strip() else []


def _json(text: str, kind: type) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, kind) else text


def _scalar(value: Any, annotation: Any) -> Any:
    if typing.get_origin(annotation) is typing.Literal:
        return _choice(value, typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        member = _choice(value, tuple(member.value for member in annotation))
        return annotation(member)
    return _SCALARS[annotation](value)


def _choice(value: Any, allowed: tuple) -> Any:
    for option in allowed:
        if value == option and type(value) is type(option):
            return option
        if isinstance(value, str) and not isinstance(option, str) and value.strip() == str(option).lower().strip():
            return option
    raise _Invalid(f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid(f"expected str, got {value!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        return int(value)
    raise _Invalid(f"expected int, got {value!r}")


def _to_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _Invalid(f"expected float, got {value!r}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()]
    raise _Invalid(f"expected bool, got {value!r}")


def _to_path(value: Any) -> Path:
    if isinstance(value, (str, Path)):
        return Path(value).expanduser()
    raise _Invalid(f"expected a path, got {value!r}")


def _to_timedelta(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and (found := _DURATION.fullmatch(value)):
        return timedelta(seconds=float(found.group(1)) * _SECONDS[found.group(2)])
    raise _Invalid(f"expected a duration such as '30s', '5m', '2h' or '1d', got {value!r}")


def _to_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise _Invalid("expected str")


_SCALARS = {str: _to_str, int: _to_int, float: _to_float, bool: _to_bool, Path: _to_path,
            timedelta: _to_timedelta, Secret: _to_secret}
