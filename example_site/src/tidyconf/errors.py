"""The exceptions tidyconf raises for bad configuration, and the `FieldError` record."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any


class _Missing:
    """The type of `MISSING`: falsy, with the repr ``MISSING``."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
"""Sentinel used as `FieldError.value` when a required key is absent from every layer.

Examples:
    >>> import tidyconf
    >>> bool(tidyconf.MISSING), tidyconf.MISSING
    (False, MISSING)
"""


class TidyconfError(Exception):
    """Base class of every exception tidyconf raises for bad configuration.

    Catch it to handle every configuration problem at once. Programming errors, such as
    passing a non-dataclass as a schema, raise the usual built-in exceptions instead.

    Examples:
        >>> import tidyconf
        >>> issubclass(tidyconf.ParseError, tidyconf.TidyconfError)
        True
    """

    __module__ = "tidyconf"


class SourceNotFoundError(TidyconfError, FileNotFoundError):
    """A required configuration file does not exist.

    Args:
        path: The path as it was given to `file_layer()`.

    Examples:
        >>> import tidyconf
        >>> try:
        ...     tidyconf.file_layer("no-such-file.toml")
        ... except tidyconf.SourceNotFoundError as exc:
        ...     print(exc)
        no-such-file.toml: no such file
    """

    __module__ = "tidyconf"

    def __init__(self, path: str) -> None:
        super().__init__(errno.ENOENT, "no such file", path)
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: no such file"


class ParseError(TidyconfError):
    """A file is not valid TOML, YAML or JSON.

    Args:
        path: The file, as it was given to `file_layer()`.
        line: The 1-based line of the problem, or `None` when the parser reports no position.
        message: What the parser found wrong.

    Examples:
        >>> import tidyconf
        >>> print(tidyconf.ParseError("production.toml", 7, "expected '=' after a key"))
        production.toml:7: expected '=' after a key
    """

    __module__ = "tidyconf"

    def __init__(self, path: str, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class MergeError(TidyconfError):
    """Two layers disagree about whether a key is a table.

    Args:
        path: The dotted key path both layers set.
        lower: Name of the layer that set the key first.
        upper: Name of the later layer that could not be merged into it.
        detail: Which shape replaced which, e.g. ``"a table cannot be replaced by a string"``.

    Examples:
        >>> import tidyconf
        >>> print(tidyconf.MergeError("database", "config.toml", "env",
        ...                           "a table cannot be replaced by a string"))
        cannot merge 'database' from env into config.toml:
          a table cannot be replaced by a string
    """

    __module__ = "tidyconf"

    def __init__(self, path: str, lower: str, upper: str, detail: str) -> None:
        super().__init__(path, lower, upper, detail)
        self.path = path
        self.lower = lower
        self.upper = upper
        self.detail = detail

    def __str__(self) -> str:
        return f"cannot merge '{self.path}' from {self.upper} into {self.lower}:\n  {self.detail}"


@dataclass(frozen=True)
class FieldError:
    """One problem found by validation.

    Args:
        path: Dotted key path such as ``"database.pool_size"``; list items use indexes,
            as in ``"servers.0.port"``.
        message: A human-readable description of the problem.
        value: The offending raw value, `MISSING` for a required key no layer provides,
            or ``Secret('***')`` for a secret field, so it is always safe to log.
        origin: Name of the layer that supplied the value, or `None` when the key is
            missing or the data had no layers.

    Examples:
        >>> import tidyconf
        >>> error = tidyconf.FieldError("server.port", "expected int, got 'x'", "x", "env")
        >>> error.path, error.origin
        ('server.port', 'env')
    """

    path: str
    message: str
    value: Any
    origin: str | None

    def __str__(self) -> str:
        source = f" (from {self.origin})" if self.origin else ""
        return f"{self.path or '(top level)'}: {self.message}{source}"



class ValidationError(TidyconfError, ValueError):
    """Validation found one or more problems; all of them are listed.

    Args:
        errors: Every problem found, in schema order.
        schema: The dataclass that was being built.

    Examples:
        >>> import tidyconf
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Server:
        ...     port: int
        >>> try:
        ...     tidyconf.validate({"port": "ten"}, Server)
        ... except tidyconf.ValidationError as exc:
        ...     print(exc)
        1 error while validating Server
          port: expected int, got 'ten'
    """

    __module__ = "tidyconf"

    def __init__(self, errors: list[FieldError], schema: type) -> None:
        super().__init__(errors, schema)
        self.errors = errors
        self.schema = schema

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"{count} error{'' if count == 1 else 's'} while validating {self.schema.__name__}"
        return "\n".join([head, *(f"  {error}" for error in self.errors)])
